"""Peers Envoy can read: metadata_exchange declares `upstream_peer` / `downstream_peer` with
Istio's FlatNode schema (`declare_property`), so Envoy's own CEL reads the peer's fields. Shown
with an access log's `%CEL(...)%` on both sidecars of the mesh in mesh.py."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import harness
import mesh

ROOT = Path(__file__).resolve().parents[2]

FIELDS = {
    "upstream_peer": ["workload_name", "namespace", "cluster_id", "labels['app'].value"],
    "downstream_peer": ["workload_name", "namespace", "cluster_id", "labels['app'].value"],
}


def with_cel_access_log(config: dict, peer: str, path: Path) -> dict:
    """Adds a file access log to the sidecar's connection manager: one `%CEL(...)%` per field of `peer`."""
    line = " ".join(f"%CEL(filter_state['wasm.{peer}'].{field})%" for field in FIELDS[peer])
    hcm = config["static_resources"]["listeners"][0]["filter_chains"][0]["filters"][0]["typed_config"]
    hcm["access_log"] = [{
        "name": "envoy.access_loggers.file",
        "typed_config": {
            "@type": "type.googleapis.com/envoy.extensions.access_loggers.file.v3.FileAccessLog",
            "path": str(path),
            "log_format": {
                "text_format_source": {"inline_string": line + "\n"},
                "formatters": [{"name": "envoy.formatter.cel",
                                "typed_config": {"@type": "type.googleapis.com/envoy.extensions.formatter.cel.v3.Cel"}}],
            },
        },
    }]
    return config


def read_lines(path: Path, count: int, timeout: float = 10) -> list[str]:
    deadline = time.monotonic() + timeout
    while True:
        lines = path.read_text().splitlines() if path.exists() else []
        if len(lines) >= count or time.monotonic() > deadline:
            return lines
        time.sleep(0.1)


def test_envoys_cel_reads_the_exchanged_peers_fields(tmp_path):
    requests = 2
    with harness.UpstreamApp() as app:
        server_port, client_port = harness.free_port(), harness.free_port()
        server = with_cel_access_log(mesh.sidecar("server", "INBOUND", server_port, app.port, "stats_inbound", "{}", {}),
                                     "downstream_peer", tmp_path / "server.log")
        client = with_cel_access_log(mesh.sidecar("client", "OUTBOUND", client_port, server_port, "stats_outbound", "{}", {}),
                                     "upstream_peer", tmp_path / "client.log")
        with harness.Envoy(server, name="server"), harness.Envoy(client, name="client"):
            for _ in range(requests):
                assert harness.http_get(client_port, "/")[0] == 200
            client_lines = read_lines(tmp_path / "client.log", requests)
            server_lines = read_lines(tmp_path / "server.log", requests)
    # The client sees the server (Istio's server node metadata), the server sees the client.
    assert client_lines == ["ratings-v1 default server-cluster ratings"] * requests
    assert server_lines == ["productpage-v1 default client-cluster productpage"] * requests


def test_another_module_reads_the_peers_fields_by_property_path(tmp_path):
    """Tests/Fixtures/wat/peer_field_reader.wat before metadata_exchange on the client sidecar
    reads `upstream_peer.workload_name`, `upstream_peer.labels.app.value` and a missing field with
    proxy_get_property; PeerPropertyDeclarationTests expects the same answers from the host."""
    reader = tmp_path / "peer_field_reader.wasm"
    subprocess.run(["wat2wasm", str(ROOT / "Tests/Fixtures/wat/peer_field_reader.wat"), "-o", str(reader)], check=True)
    with harness.UpstreamApp() as app:
        server_port, client_port = harness.free_port(), harness.free_port()
        server = mesh.sidecar("server", "INBOUND", server_port, app.port, "stats_inbound", "{}", {})
        client = mesh.sidecar("client", "OUTBOUND", client_port, server_port, "stats_outbound", "{}", {})
        filters = client["static_resources"]["listeners"][0]["filter_chains"][0]["filters"][0]["typed_config"]["http_filters"]
        filters.insert(0, harness.http_wasm_filter(harness.wasm_plugin_config("reader", reader)))
        with harness.Envoy(server, name="server"), harness.Envoy(client, name="client") as client_envoy:
            assert harness.http_get(client_port, "/")[0] == 200
            deadline = time.monotonic() + 10
            while True:
                logged = [line.split("reader: ", 1)[1] for line in client_envoy.log().splitlines() if "wasm log reader" in line]
                if len(logged) >= 3 or time.monotonic() > deadline:
                    break
                time.sleep(0.1)
    assert logged == ["ratings-v1", "ratings", "missing"], logged
