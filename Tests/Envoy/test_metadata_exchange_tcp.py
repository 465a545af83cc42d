"""The istio-peer-exchange TCP prefix between two real Envoys over mTLS.

client --plaintext--> client Envoy (OUTBOUND, metadata_exchange network filter, tcp_proxy)
       --mTLS, ALPN istio-peer-exchange--> server Envoy (INBOUND, chain selected by that ALPN,
       metadata_exchange network filter, tcp_proxy) --> echo application

The payload must arrive intact in both directions, and each Envoy must learn the other's id.
"""

from __future__ import annotations


import certs
import harness
from mesh import ReverseLineServer, exchange_line, mtls_mesh, mx_network_filter, tcp_proxy

















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
