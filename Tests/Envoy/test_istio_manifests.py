"""deploy/istio/: every manifest validates against Istio's own CRD schemas (copied into
Tests/Fixtures/istio/crds), and the proxy settings of current/istiod-values.yaml, applied to a
real Envoy 1.40 the way Istio's bootstrap template applies them (`extraStatTags` -> one
`(<tag>=\\.=(.*?);\\.;)` rule each; stats_matcher prefix `reporter=` plus the configured
inclusion prefixes), give the plugin's labelled series; Istio's matcher alone drops them."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
import yaml

import harness
import mesh

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy/istio"
CRDS = ROOT / "Tests/Fixtures/istio/crds"
MANIFESTS = {  # manifest file -> the Istio release whose CRDs it targets
    "current/01-disable-native-stats.yaml": "1.30.3",
    "current/02-remove-native-metadata-exchange.yaml": "1.30.3",
    "current/03-wasm-plugins.yaml": "1.30.3",
    "wasm-filters-1.12/envoyfilters.yaml": "1.12.0",
}


def schema(release: str, kind: str, api_version: str) -> dict:
    crd = yaml.safe_load((CRDS / release / f"{kind.lower()}.yaml").read_text())
    version = api_version.split("/")[1]
    [entry] = [v for v in crd["spec"]["versions"] if v["name"] == version]
    assert crd["spec"]["group"] == api_version.split("/")[0]
    return entry["schema"]["openAPIV3Schema"]


def documents() -> list[tuple[str, str, dict]]:
    found = []
    for name, release in MANIFESTS.items():
        for document in yaml.safe_load_all((DEPLOY / name).read_text()):
            found.append((name, release, document))
    return found


@pytest.mark.parametrize("name, release, document", documents(),
                         ids=[f"{n}:{d['metadata']['name']}" for n, _, d in documents()])
def test_each_manifest_validates_against_istios_crd_schema(name, release, document):
    validator = jsonschema.Draft7Validator(schema(release, document["kind"], document["apiVersion"]))
    errors = [f"{'/'.join(map(str, error.path))}: {error.message}" for error in validator.iter_errors(document)]
    assert errors == []


def test_the_schema_check_catches_a_wrong_field():
    _, release, plugin = next(d for d in documents() if d[2]["kind"] == "WasmPlugin")
    broken = json.loads(json.dumps(plugin))
    broken["spec"]["phase"] = "LATE"
    validator = jsonschema.Draft7Validator(schema(release, "WasmPlugin", broken["apiVersion"]))
    assert any(error.path and list(error.path)[-1] == "phase" for error in validator.iter_errors(broken))


def test_the_wasm_plugins_load_the_release_modules_with_their_root_ids():
    plugins = [d for _, _, d in documents() if d["kind"] == "WasmPlugin"]
    gateways = [p["spec"] for p in plugins if "istio" in p["spec"].get("selector", {}).get("matchLabels", {})]
    sidecars = [p["spec"] for p in plugins if p["spec"] not in gateways]
    by_name = {(p["pluginName"], p["type"]): p for p in sidecars}
    assert set(by_name) == {(root, kind) for root in ("metadata_exchange", "stats_outbound", "stats_inbound")
                            for kind in ("HTTP", "NETWORK")}
    for (root, _), spec in by_name.items():
        module = "metadata_exchange" if root == "metadata_exchange" else "stats"
        assert spec["url"] == f"file:///var/local/lib/wasm/{module}.wasm"
        assert spec["phase"] == ("AUTHN" if module == "metadata_exchange" else "STATS")
        if module == "stats":
            assert spec["match"] == [{"mode": "CLIENT" if root == "stats_outbound" else "SERVER"}]
            # Sidecars only: the gateway injection template does not set this label.
            assert spec["selector"] == {"matchLabels": {"security.istio.io/tlsMode": "istio"}}
    assert sorted(g["selector"]["matchLabels"]["istio"] for g in gateways) == ["egressgateway", "ingressgateway"]
    for spec in gateways:
        assert spec["url"] == "file:///var/local/lib/wasm/stats.wasm" and spec["phase"] == "STATS"
        assert spec["pluginConfig"] == {"reporter": "GATEWAY"}


def istio_stats_config(values: dict) -> dict:
    """The stats_config Istio's bootstrap template (tools/packaging/common/envoy_bootstrap.json,
    1.30) makes of meshConfig.defaultConfig: a rule per extraStatTags entry, Istio's own rules for
    istio_build, and the inclusion matcher with `reporter=` and the configured prefixes."""
    proxy = values["meshConfig"]["defaultConfig"]
    rules = [{"tag_name": tag, "regex": f"({tag}=\\.=(.*?);\\.;)"} for tag in proxy.get("extraStatTags", [])]
    rules += [{"tag_name": "component", "regex": r"(component\.(.+?)\.)"}, {"tag_name": "tag", "regex": r"(tag\.(.+?);\.)"}]
    prefixes = ["reporter="] + proxy.get("proxyStatsMatcher", {}).get("inclusionPrefixes", [])
    return {"use_all_default_tags": False, "stats_tags": rules,
            "stats_matcher": {"inclusion_list": {"patterns": [{"prefix": p} for p in prefixes]}}}


def requests_total(values: dict) -> list[dict]:
    with harness.UpstreamApp() as app:
        client_port, server_envoy, client_envoy = mesh.two_sidecars(app.port, "{}", '{"disable_host_header_fallback": true}',
                                                                  istio_stats_config(values))
        with server_envoy as server, client_envoy as client:
            for _ in range(3):
                assert harness.http_get(client_port, "/")[0] == 200
            return [dict(labels) for (name, labels) in client.prometheus() if name == "istio_requests_total"] + \
                   [dict(labels) for (name, labels) in server.prometheus() if name == "istio_requests_total"]


def test_the_istiod_values_give_labelled_series_in_envoy():
    values = yaml.safe_load((DEPLOY / "current/istiod-values.yaml").read_text())
    client, server = requests_total(values)
    assert client["reporter"] == "source" and client["destination_workload"] == "ratings-v1"
    assert server["reporter"] == "destination" and server["source_workload"] == "productpage-v1"
    assert len(client) == 25 and len(server) == 25  # every label extracted, none left in the name


def test_istios_own_matcher_drops_the_plugins_series():
    values = yaml.safe_load((DEPLOY / "current/istiod-values.yaml").read_text())
    del values["meshConfig"]["defaultConfig"]["proxyStatsMatcher"]
    assert requests_total(values) == []
