"""metadata_exchange.wasm in real Envoys: a client sidecar (outbound) and a server sidecar (inbound).

- What the client puts on the wire decodes (base64 -> google.protobuf.Struct, parsed with the
  protobuf package) to the client node's metadata, as Istio's filter would send it.
- Through both sidecars: the application never sees the exchange headers, the calling client
  neither, and each side stores the other's id in filter state (read back through the access log).
"""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
from google.protobuf import struct_pb2

import harness

ROOT = Path(__file__).resolve().parents[2]
NODE_METADATA = ROOT / "Tests/Fixtures/istio/computed"


def node_metadata(name: str) -> dict:
    return json.loads((NODE_METADATA / f"{name}_node_metadata.rendered.json").read_text())


def mx_filter() -> dict:
    return harness.http_wasm_filter(harness.wasm_plugin_config("metadata_exchange", harness.wasm_module("metadata_exchange")))


def access_log(path: Path, fmt: str) -> list[dict]:
    return [{
        "name": "envoy.access_loggers.file",
        "typed_config": {
            "@type": "type.googleapis.com/envoy.extensions.access_loggers.file.v3.FileAccessLog",
            "path": str(path),
            "log_format": {"text_format_source": {"inline_string": fmt + "\n"}},
        },
    }]


def sidecar(name: str, direction: str, listener_port: int, upstream_port: int, log: Path, log_format: str) -> dict:
    listener = harness.http_listener(f"{name}_listener", listener_port, "upstream", [mx_filter()], direction=direction)
    hcm = listener["filter_chains"][0]["filters"][0]["typed_config"]
    hcm["access_log"] = access_log(log, log_format)
    return harness.bootstrap(
        admin_port=harness.free_port(),
        node={"id": name, "cluster": name, "metadata": node_metadata(name)},
        listeners=[listener],
        clusters=[harness.static_cluster("upstream", upstream_port)],
    )


def expected_struct(metadata: dict) -> dict:
    """The exchanged Struct for a node, by Istio 1.12's rules (HTTP header variant)."""
    keys = ["NAME", "NAMESPACE", "OWNER", "WORKLOAD_NAME", "ISTIO_VERSION", "MESH_ID", "CLUSTER_ID"]
    result = {key: metadata[key] for key in keys if key in metadata}
    result["LABELS"] = metadata.get("LABELS", {})
    result["PLATFORM_METADATA"] = metadata.get("PLATFORM_METADATA", {})
    result["APP_CONTAINERS"] = metadata.get("APP_CONTAINERS", "")
    return result


def test_the_header_on_the_wire_is_the_client_node(tmp_path):
    with harness.UpstreamApp() as app:
        port = harness.free_port()
        config = sidecar("client", "OUTBOUND", port, app.port, tmp_path / "client.log", "%RESPONSE_CODE%")
        with harness.Envoy(config, name="client"):
            status, _, body = harness.http_get(port, "/reviews")
    assert status == 200
    received = {k.lower(): v for k, v in json.loads(body)["headers"].items()}
    assert received["x-envoy-peer-metadata-id"] == "client"
    value = struct_pb2.Struct()
    value.ParseFromString(base64.b64decode(received["x-envoy-peer-metadata"]))
    from google.protobuf.json_format import MessageToDict
    assert MessageToDict(value) == expected_struct(node_metadata("client"))
    # Deterministic: byte-identical to the computed vector.
    vector = (NODE_METADATA / "mx_client_1.12semantics.txt").read_text()
    assert f"header_b64: {received['x-envoy-peer-metadata']}" in vector


def test_a_mesh_hop_exchanges_identities_and_leaks_nothing(tmp_path):
    client_log, server_log = tmp_path / "client.log", tmp_path / "server.log"
    with harness.UpstreamApp() as app:
        server_port, client_port = harness.free_port(), harness.free_port()
        server = sidecar("server", "INBOUND", server_port, app.port, server_log,
                         "%FILTER_STATE(wasm.downstream_peer_id:PLAIN)%")
        client = sidecar("client", "OUTBOUND", client_port, server_port, client_log,
                         "%FILTER_STATE(wasm.upstream_peer_id:PLAIN)%")
        with harness.Envoy(server, name="server"), harness.Envoy(client, name="client") as client_envoy:
            status, headers, body = harness.http_get(client_port, "/ratings/1")
            assert status == 200, client_envoy.log()
            # Access logs are flushed on shutdown.
    app_headers = {k.lower() for k in json.loads(body)["headers"]}
    assert "x-envoy-peer-metadata" not in app_headers
    assert "x-envoy-peer-metadata-id" not in app_headers
    assert "x-envoy-peer-metadata" not in headers and "x-envoy-peer-metadata-id" not in headers
    print("server access log:", server_log.read_text(), "client access log:", client_log.read_text())
    assert server_log.read_text().split() == ["client"]
    assert client_log.read_text().split() == ["server"]


def test_metadata_is_not_sent_to_external_destinations_when_asked(tmp_path):
    with harness.UpstreamApp() as app:
        results = {}
        for skip in (False, True):
            port = harness.free_port()
            plugin = harness.wasm_plugin_config("metadata_exchange", harness.wasm_module("metadata_exchange"),
                                                configuration=json.dumps({"skip_external_clusters": skip}))
            passthrough = harness.static_cluster("PassthroughCluster", app.port)
            config = harness.bootstrap(
                admin_port=harness.free_port(),
                node={"id": "client", "cluster": "client", "metadata": node_metadata("client")},
                listeners=[harness.http_listener("outbound", port, "PassthroughCluster",
                                                 [harness.http_wasm_filter(plugin)], direction="OUTBOUND")],
                clusters=[passthrough],
            )
            with harness.Envoy(config, name=f"client_skip_{skip}"):
                status, _, body = harness.http_get(port, "/external")
            assert status == 200
            results[skip] = {k.lower() for k in json.loads(body)["headers"]}
    assert "x-envoy-peer-metadata" in results[False]
    assert "x-envoy-peer-metadata" not in results[True]
    assert "x-envoy-peer-metadata-id" not in results[True]
