"""The istio-peer-exchange TCP prefix between two real Envoys over mTLS.

client --plaintext--> client Envoy (OUTBOUND, metadata_exchange network filter, tcp_proxy)
       --mTLS, ALPN istio-peer-exchange--> server Envoy (INBOUND, chain selected by that ALPN,
       metadata_exchange network filter, tcp_proxy) --> echo application

The payload must arrive intact in both directions, and each Envoy must learn the other's id.
"""

from __future__ import annotations

import socket

import certs
import harness

ALPN = "istio-peer-exchange"


def ReverseLineServer() -> harness.TcpApp:  # noqa: N802 (used like a class)
    """Reads one line, answers it reversed, closes."""
    def reverse(rfile, wfile) -> None:
        wfile.write(rfile.readline().rstrip(b"\n")[::-1] + b"\n")
    return harness.TcpApp(reverse)


def tls_context(paths: dict) -> dict:
    return {
        "alpn_protocols": [ALPN, "istio"],
        "tls_certificates": [{"certificate_chain": {"filename": str(paths["cert"])},
                              "private_key": {"filename": str(paths["key"])}}],
        "validation_context": {"trusted_ca": {"filename": str(paths["ca"])}},
    }


def mx_network_filter(configuration: str | None = None) -> dict:
    return {
        "name": "envoy.filters.network.wasm",
        "typed_config": {
            "@type": "type.googleapis.com/envoy.extensions.filters.network.wasm.v3.Wasm",
            "config": harness.wasm_plugin_config("metadata_exchange_tcp", harness.wasm_module("metadata_exchange"),
                                                 configuration=configuration),
        },
    }


def tcp_proxy(cluster: str, log_path, log_format: str) -> dict:
    return {
        "name": "envoy.filters.network.tcp_proxy",
        "typed_config": {
            "@type": "type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy",
            "stat_prefix": "tcp",
            "cluster": cluster,
            "access_log": [{
                "name": "envoy.access_loggers.file",
                "typed_config": {
                    "@type": "type.googleapis.com/envoy.extensions.access_loggers.file.v3.FileAccessLog",
                    "path": str(log_path),
                    "log_format": {"text_format_source": {"inline_string": log_format + "\n"}},
                },
            }],
        },
    }


def mtls_mesh(paths: dict, app_port: int, server_filters: list[dict], client_filters: list[dict],
              stats_config: dict | None = None, labels: bool = False, node_metadata: dict | None = None,
              cluster_metadata: dict | None = None) -> tuple[int, dict, dict]:
    """A client sidecar (plain TCP outbound listener, mTLS upstream offering ALPN istio-peer-exchange)
    and a server sidecar (mTLS inbound chain selected by that ALPN) in front of the app. Returns the
    client port and both bootstraps. `node_metadata` ({"client": ..., "server": ...}) replaces the
    small built-in node metadata; `cluster_metadata` goes on both sidecars' upstream clusters."""
    server_port, client_port = harness.free_port(), harness.free_port()

    def node(name: str, workload: str, app: str) -> dict:
        if node_metadata is not None:
            return {"id": name, "cluster": name, "metadata": node_metadata[name]}
        metadata = {"NAME": f"{workload}-pod", "NAMESPACE": "default", "WORKLOAD_NAME": workload}
        if labels:
            metadata["LABELS"] = {"app": app}
        return {"id": name, "cluster": name, "metadata": metadata}

    def cluster(name: str, port: int) -> dict:
        config = harness.static_cluster(name, port)
        if cluster_metadata is not None:
            config["metadata"] = cluster_metadata
        return config

    server = harness.bootstrap(
        admin_port=harness.free_port(), stats_config=stats_config, node=node("server", "ratings-v1", "ratings"),
        listeners=[{
            "name": "server_inbound", "address": harness.socket_address(server_port), "traffic_direction": "INBOUND",
            "listener_filters": [{"name": "envoy.filters.listener.tls_inspector", "typed_config": {
                "@type": "type.googleapis.com/envoy.extensions.filters.listener.tls_inspector.v3.TlsInspector"}}],
            "filter_chains": [{
                "filter_chain_match": {"application_protocols": [ALPN]},
                "transport_socket": {"name": "envoy.transport_sockets.tls", "typed_config": {
                    "@type": "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext",
                    "require_client_certificate": True, "common_tls_context": tls_context(paths["server"])}},
                "filters": server_filters,
            }],
        }],
        clusters=[cluster("app", app_port)],
    )
    upstream = cluster("server", server_port)
    upstream["transport_socket"] = {"name": "envoy.transport_sockets.tls", "typed_config": {
        "@type": "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext",
        "common_tls_context": tls_context(paths["client"])}}
    client = harness.bootstrap(
        admin_port=harness.free_port(), stats_config=stats_config, node=node("client", "productpage-v1", "productpage"),
        listeners=[{
            "name": "client_outbound", "address": harness.socket_address(client_port), "traffic_direction": "OUTBOUND",
            "filter_chains": [{"filters": client_filters}],
        }],
        clusters=[upstream],
    )
    return client_port, server, client


def send_line(sock, payload: bytes) -> bytes:
    """Sends `payload` and a newline on `sock`; returns what comes back up to a newline or EOF."""
    sock.sendall(payload + b"\n")
    received = b""
    while not received.endswith(b"\n"):
        chunk = sock.recv(4096)
        if not chunk:
            break
        received += chunk
    return received


def exchange_line(port: int, payload: bytes) -> bytes:
    """Sends one line through the mesh and returns the app's (reversed) line."""
    with socket.create_connection((harness.LOOPBACK, port), timeout=10) as sock:
        return send_line(sock, payload)


def test_tcp_peers_exchange_metadata_over_mtls_and_the_payload_is_intact(tmp_path):
    paths = certs.make_mesh_certificates(tmp_path, ["client", "server"])
    server_log, client_log = tmp_path / "server.log", tmp_path / "client.log"
    with ReverseLineServer() as app:
        client_port, server, client = mtls_mesh(
            paths, app.port,
            server_filters=[mx_network_filter(), tcp_proxy("app", server_log, "%FILTER_STATE(wasm.downstream_peer_id:PLAIN)%")],
            client_filters=[mx_network_filter(), tcp_proxy("server", client_log, "%FILTER_STATE(wasm.upstream_peer_id:PLAIN)%")])
        with harness.Envoy(server, name="server") as server_envoy, harness.Envoy(client, name="client") as client_envoy:
            payload = b"hello over the mesh " + bytes(range(32, 127))
            received = exchange_line(client_port, payload)
            assert received == payload[::-1] + b"\n", (client_envoy.log()[-3000:], server_envoy.log()[-3000:])
            server_stats = server_envoy.prometheus_text()
            client_stats = client_envoy.prometheus_text()
    assert server_log.read_text().split() == ["client"]
    assert client_log.read_text().split() == ["server"]
    assert "metadata_exchange_alpn_protocol_found{} 1" in server_stats
    assert "metadata_exchange_metadata_added{} 1" in client_stats
    assert "metadata_exchange_metadata_added{} 1" in server_stats
