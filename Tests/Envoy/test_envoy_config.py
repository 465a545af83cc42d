"""`proxy-wasm-host envoy-config` output used the ways the README says, as Envoy 1.40 takes it:
the YAML fragment through `--config-yaml`, a complete bootstrap merged from a base file (YAML
and JSON), and `--plugin-stats-only`. With the default output Envoy's own traffic stats stay,
with their usual labels, beside the plugin's series."""

from __future__ import annotations

import json
import subprocess

import yaml

import harness
import mesh

REQUESTS = 3


def envoy_config(*arguments: str) -> str:
    return subprocess.run([harness.host_binary(), "envoy-config", *arguments], check=True, capture_output=True, text=True).stdout


def mesh_bootstraps(app_port: int) -> tuple[int, dict, dict]:
    """test_stats' two sidecars without any stats_config: the user's base bootstraps."""
    server_port, client_port = harness.free_port(), harness.free_port()
    server = mesh.sidecar("server", "INBOUND", server_port, app_port, "stats_inbound", "{}", {})
    client = mesh.sidecar("client", "OUTBOUND", client_port, server_port, "stats_outbound", "{}", {})
    for config in (server, client):
        config.pop("stats_config", None)
    return client_port, server, client


def test_the_yaml_fragment_through_config_yaml_keeps_envoys_own_stats(tmp_path):
    fragment = envoy_config()
    assert fragment.startswith("stats_config:\n") and "stats_matcher" not in fragment
    with harness.UpstreamApp() as app:
        client_port, server, client = mesh_bootstraps(app.port)
        with harness.Envoy(server, name="server", extra_args=["--config-yaml", fragment]) as server_envoy, \
                harness.Envoy(client, name="client", extra_args=["--config-yaml", fragment]) as client_envoy:
            for _ in range(REQUESTS):
                assert harness.http_get(client_port, "/")[0] == 200
            client_samples, server_samples = client_envoy.prometheus(), server_envoy.prometheus()
    [labels] = [dict(labels) for (name, labels) in client_samples if name == "istio_requests_total"]
    assert labels["reporter"] == "source" and labels["destination_workload"] == "ratings-v1"
    assert labels["response_code"] == "200" and labels["source_workload"] == "productpage-v1"
    [server_labels] = [dict(labels) for (name, labels) in server_samples if name == "istio_requests_total"]
    assert server_labels["reporter"] == "destination" and server_labels["source_workload"] == "productpage-v1"
    # Envoy's own traffic stats, with Envoy's default tags.
    upstream = {dict(labels).get("envoy_cluster_name"): value for (name, labels), value in client_samples.items()
                if name == "envoy_cluster_upstream_rq_total"}
    assert upstream.get("upstream") == REQUESTS, upstream
    downstream = [value for (name, labels), value in client_samples.items()
                  if name == "envoy_http_downstream_rq_total" and dict(labels).get("envoy_http_conn_manager_prefix") == "client_listener"]
    assert downstream == [REQUESTS]


def test_a_bootstrap_merged_from_a_base_file_validates_in_yaml_and_json(tmp_path):
    _, _, client = mesh_bootstraps(harness.free_port())
    client["stats_config"] = {"stats_tags": [{"tag_name": "mine", "regex": r"^mine\.((.*?)\.)"}]}
    base = tmp_path / "base.yaml"
    base.write_text(yaml.safe_dump(client))
    merged_yaml = envoy_config("--bootstrap", str(base))
    merged = yaml.safe_load(merged_yaml)
    assert merged["static_resources"] == client["static_resources"] and merged["node"] == client["node"]
    tags = [tag["tag_name"] for tag in merged["stats_config"]["stats_tags"]]
    assert tags[0] == "mine" and "reporter" in tags  # the base's own rules stay, first
    result = harness.validate(merged_yaml)
    assert result.ok, result.log
    merged_json = envoy_config("--bootstrap", str(base), "--format", "json")
    assert json.loads(merged_json) == merged
    result = harness.validate(merged_json)
    assert result.ok, result.log


def test_plugin_stats_only_keeps_istios_matcher_and_validates(tmp_path):
    fragment = envoy_config("--plugin-stats-only")
    config = yaml.safe_load(fragment)["stats_config"]
    assert config["use_all_default_tags"] is False
    assert {"prefix": "wasmcustom."} in config["stats_matcher"]["inclusion_list"]["patterns"]
    _, _, client = mesh_bootstraps(harness.free_port())
    result = harness.validate(client, extra_args=("--config-yaml", fragment))
    assert result.ok, result.log
