"""Custom dimensions with the expression operators beyond Istio's shipped configurations
(comparisons, arithmetic, `in`, `size()`, list literals, `xds.*` attributes), in two real Envoys
and in the host for the same configuration and requests: the labels must be the expected
values on both, and the host's must equal Envoy's."""

from __future__ import annotations

import json
from pathlib import Path

import harness
import mesh
import host_mesh
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


def custom_labels(samples: dict) -> dict[str, str]:
    [labels] = [dict(labels) for (name, labels) in samples if name == "istio_requests_total"]
    assert labels["response_code"] == "200" and labels["destination_cluster"] != "upstream"
    return {key: labels[key] for key in DIMENSIONS}


def envoy_labels(tmp_path: Path) -> tuple[dict[str, str], dict[str, str]]:
    stats_config = host_mesh.generated_stats_config(tmp_path, configuration())
    with harness.UpstreamApp() as app:
        client_port, server_envoy, client_envoy = mesh.two_sidecars(app.port, configuration(), configuration(), stats_config)
        with server_envoy as server, client_envoy as client:
            for _ in range(REQUESTS):
                assert harness.http_get(client_port, "/abcd")[0] == 200
            return custom_labels(client.prometheus()), custom_labels(server.prometheus())


def host_labels(tmp_path: Path) -> tuple[dict[str, str], dict[str, str]]:
    texts = host_mesh.run(tmp_path, configuration(), host_mesh.generated_stats_config(tmp_path, configuration()), "/abcd", REQUESTS)
    return (custom_labels(harness.parse_prometheus(texts["client"])),
            custom_labels(harness.parse_prometheus(texts["server"])))


def test_expression_dimensions_give_the_expected_labels_in_envoy_and_the_host(tmp_path):
    envoy_client, envoy_server = envoy_labels(tmp_path)
    host_client, host_server = host_labels(tmp_path)
    assert envoy_client == EXPECTED
    assert envoy_server == EXPECTED
    assert host_client == envoy_client
    assert host_server == envoy_server


def test_an_unknown_attribute_refuses_the_configuration_naming_what_is_supported():
    configuration = json.dumps({"metrics": [{"name": "requests_total", "dimensions": {"c": "xds.cluster"}}]})
    result = harness.validate_outbound_stats(configuration)
    assert not result.ok
    assert "stats: invalid configuration: dimension c of requests_total: at position 4: unknown attribute 'xds.cluster'" in result.log
    assert "(supported: node, cluster_name, cluster_metadata," in result.log
