"""`make run ENVOY=1`: the mesh demo through two real Envoys.

productpage's sidecar (outbound) -> reviews' sidecar (inbound) -> an application, both Envoys
running metadata_exchange.wasm and stats.wasm with the stats_config `proxy-wasm-host envoy-config`
generates. Prints each side's Istio series from /stats/prometheus.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import harness

SERVICES = {"istio": {"services": [{"host": "reviews.bookinfo.svc.cluster.local", "name": "reviews", "namespace": "bookinfo"}]}}


def node(workload: str, app: str, version: str, ip: str) -> dict:
    name = f"{workload}-6b746f74dc-9stvs"
    return {"id": f"sidecar~{ip}~{name}.bookinfo~bookinfo.svc.cluster.local", "cluster": workload, "metadata": {
        "NAME": name, "NAMESPACE": "bookinfo", "WORKLOAD_NAME": workload, "CLUSTER_ID": "Kubernetes",
        "MESH_ID": "cluster.local", "ISTIO_VERSION": "1.12.0", "APP_CONTAINERS": app,
        "LABELS": {"app": app, "version": version, "service.istio.io/canonical-name": app,
                   "service.istio.io/canonical-revision": version}}}


def sidecar(node_info: dict, direction: str, root_id: str, configuration: str, port: int, upstream: int, stats_config: dict) -> dict:
    mx = harness.wasm_plugin_config("metadata_exchange", harness.wasm_module("metadata_exchange"))
    stats = harness.wasm_plugin_config(root_id, harness.wasm_module("stats"), root_id=root_id, vm_id=root_id,
                                       configuration=configuration)
    cluster = harness.static_cluster("upstream", upstream)
    cluster["metadata"] = {"filter_metadata": SERVICES}
    return harness.bootstrap(admin_port=harness.free_port(), node=node_info, stats_config=stats_config,
                             listeners=[harness.http_listener(f"{root_id}_listener", port, "upstream",
                                                              [harness.http_wasm_filter(mx), harness.http_wasm_filter(stats)],
                                                              direction=direction)],
                             clusters=[cluster])


def main() -> None:
    outbound, inbound = '{"stat_prefix": "istio"}', '{"stat_prefix": "istio", "disable_host_header_fallback": true}'
    with tempfile.TemporaryDirectory() as tmp:
        for name, text in (("outbound", outbound), ("inbound", inbound)):
            (Path(tmp) / f"{name}.json").write_text(text)
        generated = harness.generated_stats_config("--stats-config", f"{tmp}/outbound.json", "--stats-config", f"{tmp}/inbound.json")
    with harness.UpstreamApp() as app:
        reviews_port, productpage_port = harness.free_port(), harness.free_port()
        reviews = sidecar(node("reviews-v2", "reviews", "v2", "10.44.0.23"), "INBOUND", "stats_inbound", inbound,
                          reviews_port, app.port, generated)
        productpage = sidecar(node("productpage-v1", "productpage", "v1", "10.44.0.11"), "OUTBOUND", "stats_outbound",
                              outbound, productpage_port, reviews_port, generated)
        with harness.Envoy(reviews, name="reviews-sidecar") as server, harness.Envoy(productpage, name="productpage-sidecar") as client:
            for path in ["/reviews/0", "/reviews/1", "/reviews/2"]:
                status, _, _ = harness.http_get(productpage_port, path, headers={"Host": "reviews:9080"})
                print(f"GET {path} -> {status}")
            for label, envoy in (("productpage-sidecar", client), ("reviews-sidecar", server)):
                print(f"\n# {label}: /stats/prometheus (Istio series)")
                for line in envoy.prometheus_text().splitlines():
                    if line.startswith(("istio_requests_total", "istio_build", "# TYPE istio_requests_total")):
                        print(line)


if __name__ == "__main__":
    main()
