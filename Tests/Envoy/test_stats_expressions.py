"""Custom dimensions with the expression operators beyond Istio's shipped configurations
(comparisons, arithmetic, `in`, `size()`, list literals, `xds.*` attributes), in two real Envoys
and in the host for the same configuration and requests: the labels must be the expected
values on both, and the host's must equal Envoy's."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import harness
import istio_testdata
import test_stats

ROOT = Path(__file__).resolve().parents[2]
DIMENSIONS = {
    "code_class": "response.code >= 200 && response.code < 300 ? '2xx' : 'other'",
    # Named like the ends of Istio's labels (`destination_cluster`, `response_code`): the
    # generated stats_tags must not read them out of those.
    "cluster": "xds.cluster_name",
    "code": "string(response.code + 1)",
    "path_score": "string(size(request.path) * 10 - 1)",
    "path_even": "string(size(request.path) % 2 == 0)",
    "known_protocol": "string(request.protocol in ['HTTP/1.1', 'HTTP/2'])",
    "labelled": "string('app' in xds.node.metadata.LABELS && xds.node.metadata.LABELS.app.size() > 2)",
}
# What each dimension gives for GET /abcd through a cluster named "upstream".
EXPECTED = {"code_class": "2xx", "cluster": "upstream", "code": "201", "path_score": "49", "path_even": "false",
            "known_protocol": "true", "labelled": "true"}
REQUESTS = 4


def configuration() -> str:
    return json.dumps({"metrics": [{"name": "requests_total", "dimensions": DIMENSIONS}]})


def host_binary() -> str:
    return os.environ.get("PROXY_WASM_HOST", str(ROOT / ".build/debug/proxy-wasm-host"))


def custom_labels(samples: dict) -> dict[str, str]:
    [labels] = [dict(labels) for (name, labels) in samples if name == "istio_requests_total"]
    assert labels["response_code"] == "200" and labels["destination_cluster"] != "upstream"
    return {key: labels[key] for key in DIMENSIONS}


def envoy_labels(tmp_path: Path) -> tuple[dict[str, str], dict[str, str]]:
    (tmp_path / "stats.json").write_text(configuration())
    stats_config = json.loads(subprocess.run([host_binary(), "envoy-config", "--stats-config", str(tmp_path / "stats.json")],
                                             check=True, capture_output=True, text=True).stdout)["stats_config"]
    with harness.UpstreamApp() as app:
        client_port, server_envoy, client_envoy = test_stats.mesh(app.port, configuration(), configuration(), stats_config)
        with server_envoy as server, client_envoy as client:
            for _ in range(REQUESTS):
                assert harness.http_get(client_port, "/abcd")[0] == 200
            return custom_labels(client.prometheus()), custom_labels(server.prometheus())


def host_labels(tmp_path: Path) -> tuple[dict[str, str], dict[str, str]]:
    """The same two sidecars in the host: node metadata from the same files, the cluster named
    as in the Envoy bootstrap, the stats_tags the generator emits."""
    (tmp_path / "stats.json").write_text(configuration())
    stats_config = json.loads(subprocess.run([host_binary(), "envoy-config", "--stats-config", str(tmp_path / "stats.json")],
                                             check=True, capture_output=True, text=True).stdout)["stats_config"]

    def proxy(name: str, direction: str, root_id: str) -> dict:
        return {
            "name": name,
            "node": {"id": name, "metadata": test_stats.node(name)["metadata"]},
            "listener_direction": direction,
            "stats_tags": stats_config["stats_tags"],
            "stream_properties": {"xds": {"cluster_name": "upstream",
                                          "cluster_metadata": {"filter_metadata": test_stats.SERVICES}}},
            "plugins": [
                {"name": "metadata_exchange", "module": str(harness.wasm_module("metadata_exchange")),
                 "configuration": {"max_peer_cache_size": 20}},
                {"name": "stats", "module": str(harness.wasm_module("stats")), "root_id": root_id,
                 "configuration": configuration()},
            ],
        }

    scenario = {
        "proxies": [proxy("client", "outbound", "stats_outbound"), proxy("server", "inbound", "stats_inbound")],
        "traffic": [{"http": {"through": ["client", "server"], "request": {"headers": {":path": "/abcd"}},
                              "response": {"status": 200}, "repeat": REQUESTS}}],
    }
    path = tmp_path / "scenario.json"
    path.write_text(json.dumps(scenario))  # JSON is YAML
    result = subprocess.run([host_binary(), "run", str(path), "--prometheus-only"], capture_output=True, text=True, check=True)
    by_proxy = {}
    for block in result.stdout.split("# proxy ")[1:]:  # each block starts "NAME: /stats/prometheus"
        heading, _, text = block.partition("\n")
        by_proxy[heading.partition(":")[0]] = harness.parse_prometheus(text)
    return custom_labels(by_proxy["client"]), custom_labels(by_proxy["server"])


def test_expression_dimensions_give_the_expected_labels_in_envoy_and_the_host(tmp_path):
    envoy_client, envoy_server = envoy_labels(tmp_path)
    host_client, host_server = host_labels(tmp_path)
    assert envoy_client == EXPECTED
    assert envoy_server == EXPECTED
    assert host_client == envoy_client
    assert host_server == envoy_server


def test_an_unknown_attribute_refuses_the_configuration_naming_what_is_supported():
    configuration = json.dumps({"metrics": [{"name": "requests_total", "dimensions": {"c": "xds.cluster"}}]})
    stats = harness.wasm_plugin_config("stats_outbound", harness.wasm_module("stats"), root_id="stats_outbound",
                                       configuration=configuration)
    config = harness.bootstrap(
        admin_port=harness.free_port(),
        listeners=[harness.http_listener("l", harness.free_port(), "c", [harness.http_wasm_filter(stats)])],
        clusters=[harness.static_cluster("c", harness.free_port())])
    result = harness.validate(config)
    assert not result.ok
    assert "stats: invalid configuration: dimension c of requests_total: at position 4: unknown attribute 'xds.cluster'" in result.log
    assert "(supported: node, cluster_name, cluster_metadata," in result.log
