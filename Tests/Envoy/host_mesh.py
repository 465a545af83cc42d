"""The two-sidecar mesh of mesh.py (client outbound, server inbound, both plugins, Istio's
node metadata, a cluster named `upstream` with the server's service metadata) run in
`proxy-wasm-host`, for tests that compare the host's Prometheus text with Envoy's."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import harness
import mesh


def generated_stats_config(tmp_path: Path, configuration: str, *extra: str) -> dict:
    """`envoy-config --stats-config` for one plugin configuration, plus `extra` arguments."""
    (tmp_path / "stats.json").write_text(configuration)
    return harness.generated_stats_config("--stats-config", str(tmp_path / "stats.json"), *extra)


def run(tmp_path: Path, configuration: str, stats_config: dict, path: str, requests: int) -> dict[str, str]:
    """`requests` GETs of `path` through the host's mesh; each proxy's Prometheus text by name."""
    def proxy(name: str, direction: str, root_id: str) -> dict:
        return {
            "name": name,
            "node": {"id": name, "metadata": mesh.node(name)["metadata"]},
            "listener_direction": direction,
            "stats_tags": stats_config["stats_tags"],
            "histogram_buckets": stats_config.get("histogram_bucket_settings", []),
            # The Envoy mesh's hop is plaintext, which Envoy reports as connection.mtls false.
            "stream_properties": {"connection": {"mtls": False},
                                  "xds": {"cluster_name": "upstream",
                                          "cluster_metadata": {"filter_metadata": mesh.SERVICES}}},
            "plugins": [
                {"name": "metadata_exchange", "module": str(harness.wasm_module("metadata_exchange")),
                 "configuration": {"max_peer_cache_size": 20}},
                {"name": "stats", "module": str(harness.wasm_module("stats")), "root_id": root_id,
                 "configuration": configuration},
            ],
        }

    scenario = {
        "proxies": [proxy("client", "outbound", "stats_outbound"), proxy("server", "inbound", "stats_inbound")],
        "traffic": [{"http": {"through": ["client", "server"], "request": {"headers": {":path": path}},
                              "response": {"status": 200}, "repeat": requests}}],
    }
    scenario_path = tmp_path / "scenario.json"
    scenario_path.write_text(json.dumps(scenario))  # JSON is YAML
    result = subprocess.run([harness.host_binary(), "run", str(scenario_path), "--prometheus-only"],
                            capture_output=True, text=True, check=True)
    texts = {}
    for block in result.stdout.split("# proxy ")[1:]:  # each block starts "NAME: /stats/prometheus"
        heading, _, text = block.partition("\n")
        texts[heading.partition(":")[0]] = text
    return texts
