"""stats.wasm as a network filter beside metadata_exchange in two real Envoys over mTLS: Istio's TCP
series, compared with Istio's own expected files (istio/proxy 1.12.0 testdata/metric/tcp_*) and
counted exactly with the stats_config our generator emits."""

from __future__ import annotations

import json
import socket
import time

import certs
import harness
from mesh import FAMILIES, stats_network_filter, wait_for_closed
import istio_testdata
from mesh import ReverseLineServer, exchange_line, mtls_mesh, mx_network_filter, send_line, tcp_proxy
from mesh import NODE_METADATA, SERVICES

TCP_STATS = '{"debug": "false", "field_separator": ";.;", "tcp_reporting_duration": "1s"}'




def HelloServer() -> harness.TcpApp:  # noqa: N802 (used like a class)
    """Istio's TCP test application: reads `world\\n`, answers `hello world\\n`, closes."""
    return harness.TcpApp(lambda rfile, wfile: wfile.write(b"hello " + rfile.readline()))




def test_tcp_series_match_istios_expected_files(tmp_path):
    """Istio's TCP e2e in real Envoys: Istio's node metadata, cluster metadata and stats_tags,
    workload certificates with Istio's SPIFFE ids, 10 connections each sending `world\\n` and
    receiving `hello world\\n`. Every tcp_client_* and tcp_server_* file must match line for line."""
    paths = certs.make_mesh_certificates(tmp_path, ["client", "server"])
    metadata = {name: json.loads((NODE_METADATA / f"{name}_node_metadata.rendered.json").read_text())
                for name in ("client", "server")}
    stats_config = {"stats_tags": istio_testdata.stats_tags(), "use_all_default_tags": False}
    connections = 10
    with HelloServer() as app:
        client_port, server, client = mtls_mesh(
            paths, app.port, stats_config=stats_config, node_metadata=metadata,
            cluster_metadata={"filter_metadata": SERVICES},
            server_filters=[mx_network_filter(), stats_network_filter("stats_inbound", TCP_STATS),
                            tcp_proxy("app", tmp_path / "server.log", "%RESPONSE_FLAGS%")],
            client_filters=[stats_network_filter("stats_outbound", TCP_STATS), mx_network_filter(),
                            tcp_proxy("server", tmp_path / "client.log", "%RESPONSE_FLAGS%")])
        with harness.Envoy(server, name="server") as server_envoy, harness.Envoy(client, name="client") as client_envoy:
            for _ in range(connections):
                assert exchange_line(client_port, b"world") == b"hello world\n"
            wait_for_closed([client_envoy, server_envoy], connections)
            texts = {"client": client_envoy.prometheus_text(), "server": server_envoy.prometheus_text()}
    variables: dict[str, str] = {}  # the tcp_* files carry literal values (10 connections, 60 and 120 bytes)
    for side, text in texts.items():
        for file, family in FAMILIES.items():
            expected = istio_testdata.expected_series(f"tcp_{side}_{file}.yaml.tmpl", variables)
            actual = [line for line in text.splitlines() if line.startswith(family + "{")]
            assert actual == [expected], (side, file)
    # Istio's native TCP exchange counted as envoy_metadata_exchange_*; ours are Wasm counters, which
    # Envoy exports without the `envoy_` prefix. Same events, same values.
    for file in ("tcp_server_mx_stats_alpn_found.yaml.tmpl", "tcp_server_mx_stats_metadata_added.yaml.tmpl"):
        name, value = istio_testdata.expected_series(file, variables).rsplit(" ", 1)
        ours = name.removeprefix("envoy_")
        assert f"{ours} {value}" in texts["server"].splitlines(), file


def test_tcp_stats_count_connections_and_bytes_on_both_sides(tmp_path):
    """With the stats_config our generator emits: connections and bytes counted exactly, the
    prefix of the exchange never counted, principals and mutual_tls from the mTLS session."""
    generated = harness.generated_stats_config()
    paths = certs.make_mesh_certificates(tmp_path, ["client", "server"])
    connections, payload = 3, b"hello over the mesh"
    with ReverseLineServer() as app:
        client_port, server, client = mtls_mesh(
            paths, app.port, stats_config=generated, labels=True,
            # Inbound: exchange first, so stats never counts the prefix.
            server_filters=[mx_network_filter(), stats_network_filter("stats_inbound"),
                            tcp_proxy("app", tmp_path / "server.log", "%RESPONSE_FLAGS%")],
            # Outbound: stats first, so it counts the application's bytes, not the prefix.
            client_filters=[stats_network_filter("stats_outbound"), mx_network_filter(),
                            tcp_proxy("server", tmp_path / "client.log", "%RESPONSE_FLAGS%")])
        with harness.Envoy(server, name="server") as server_envoy, harness.Envoy(client, name="client") as client_envoy:
            for _ in range(connections):
                assert exchange_line(client_port, payload) == payload[::-1] + b"\n"
            client_samples, server_samples = wait_for_closed([client_envoy, server_envoy], connections)
    line = len(payload) + 1
    for side, samples in (("client", client_samples), ("server", server_samples)):
        def total(name: str) -> float:
            return sum(v for (n, _), v in samples.items() if n == name)
        assert total("istio_tcp_connections_opened_total") == connections, side
        assert total("istio_tcp_connections_closed_total") == connections, side
        assert total("istio_tcp_received_bytes_total") == connections * line, side
        assert total("istio_tcp_sent_bytes_total") == connections * line, side
        labels = dict(next(labels for (n, labels) in samples if n == "istio_tcp_connections_opened_total"))
        assert labels["source_workload"] == "productpage-v1" and labels["destination_workload"] == "ratings-v1", (side, labels)
        assert labels["request_protocol"] == "tcp"
    server_labels = dict(next(labels for (n, labels) in server_samples if n == "istio_tcp_connections_opened_total"))
    assert server_labels["connection_security_policy"] == "mutual_tls"
    assert server_labels["source_principal"] == "spiffe://cluster.local/ns/default/sa/client"


def EchoServer() -> harness.TcpApp:  # noqa: N802 (used like a class)
    """Echoes each line back until the client closes: a connection that stays open."""
    def echo(rfile, wfile) -> None:
        for line in iter(rfile.readline, b""):
            wfile.write(line)
            wfile.flush()
    return harness.TcpApp(echo)


def test_a_plaintext_connection_without_exchange_is_reported_while_open(tmp_path):
    """No metadata exchange on the chain (plaintext, out of the mesh): the open connection is
    reported on ticks once one `tcp_reporting_duration` ("0.5s", protobuf JSON) has passed, with
    the labels the sidecar knows itself, and the close adds only what is new."""
    generated = harness.generated_stats_config()
    node_metadata = json.loads((NODE_METADATA / "server_node_metadata.rendered.json").read_text())
    port = harness.free_port()
    with EchoServer() as app:
        listener = {"name": "plaintext", "address": harness.socket_address(port), "filter_chains": [{"filters": [
            stats_network_filter("stats_inbound", '{"tcp_reporting_duration": "0.5s"}'),
            tcp_proxy("app", tmp_path / "server.log", "%RESPONSE_FLAGS%")]}]}
        config = harness.bootstrap(admin_port=harness.free_port(), listeners=[listener],
                                   clusters=[harness.static_cluster("app", app.port)],
                                   node={"id": "server", "cluster": "server", "metadata": node_metadata},
                                   stats_config=generated)
        with harness.Envoy(config, name="server") as envoy:
            with socket.create_connection((harness.LOOPBACK, port), timeout=10) as sock:
                assert send_line(sock, b"plaintext") == b"plaintext\n"
                deadline = time.monotonic() + 5
                while True:
                    samples = envoy.prometheus()
                    opened = [(labels, v) for (n, labels), v in samples.items() if n == "istio_tcp_connections_opened_total"]
                    if opened or time.monotonic() > deadline:
                        break
                    time.sleep(0.1)
                assert [v for _, v in opened] == [1], "the open connection was not reported"
                labels = dict(opened[0][0])
                assert labels["reporter"] == "destination" and labels["destination_workload"] == "ratings-v1"
                assert labels["source_workload"] == "unknown" and labels["connection_security_policy"] == "none"
                received = sum(v for (n, _), v in samples.items() if n == "istio_tcp_received_bytes_total")
                assert received == len(b"plaintext\n")
                assert not any(n == "istio_tcp_connections_closed_total" for (n, _) in samples)
            [samples] = wait_for_closed([envoy], 1)

    def total(name: str) -> float:
        return sum(v for (n, _), v in samples.items() if n == name)
    assert total("istio_tcp_connections_opened_total") == 1
    assert total("istio_tcp_connections_closed_total") == 1
    assert total("istio_tcp_received_bytes_total") == len(b"plaintext\n")
    assert total("istio_tcp_sent_bytes_total") == len(b"plaintext\n")


def test_two_sidecars_exchange_over_plaintext_tcp_when_both_opt_in(tmp_path):
    """`allow_plaintext_tcp` on both sidecars, no TLS anywhere: the exchange runs both ways over
    plain TCP, each side's stats names the other workload, the application's bytes are intact
    and counted without the prefixes, and the server records the connection as not mTLS."""
    generated = harness.generated_stats_config()
    metadata = {name: json.loads((NODE_METADATA / f"{name}_node_metadata.rendered.json").read_text())
                for name in ("client", "server")}
    plaintext = '{"allow_plaintext_tcp": true}'
    server_port, client_port = harness.free_port(), harness.free_port()
    connections, payload = 2, b"plain bytes"

    def sidecar(name: str, direction: str, port: int, filters: list[dict], cluster: dict) -> dict:
        return harness.bootstrap(
            admin_port=harness.free_port(), stats_config=generated,
            node={"id": name, "cluster": name, "metadata": metadata[name]},
            listeners=[{"name": f"{name}_listener", "address": harness.socket_address(port), "traffic_direction": direction,
                        "filter_chains": [{"filters": filters}]}],
            clusters=[cluster])

    with ReverseLineServer() as app:
        server = sidecar("server", "INBOUND", server_port,
                         [mx_network_filter(plaintext), stats_network_filter("stats_inbound"),
                          tcp_proxy("app", tmp_path / "server.log", "%RESPONSE_FLAGS%")],
                         harness.static_cluster("app", app.port))
        client = sidecar("client", "OUTBOUND", client_port,
                         [stats_network_filter("stats_outbound"), mx_network_filter(plaintext),
                          tcp_proxy("server", tmp_path / "client.log", "%RESPONSE_FLAGS%")],
                         harness.static_cluster("server", server_port))
        with harness.Envoy(server, name="server") as server_envoy, harness.Envoy(client, name="client") as client_envoy:
            for _ in range(connections):
                assert exchange_line(client_port, payload) == payload[::-1] + b"\n"
            client_samples, server_samples = wait_for_closed([client_envoy, server_envoy], connections)
    line = len(payload) + 1
    for side, samples in (("client", client_samples), ("server", server_samples)):
        opened = [dict(labels) for (n, labels) in samples if n == "istio_tcp_connections_opened_total"]
        assert len(opened) == 1, (side, opened)
        assert opened[0]["source_workload"] == "productpage-v1" and opened[0]["destination_workload"] == "ratings-v1", side
        assert sum(v for (n, _), v in samples.items() if n == "istio_tcp_received_bytes_total") == connections * line, side
        assert sum(v for (n, _), v in samples.items() if n == "istio_tcp_sent_bytes_total") == connections * line, side
    server_labels = dict(next(labels for (n, labels) in server_samples if n == "istio_tcp_connections_opened_total"))
    assert server_labels["connection_security_policy"] == "none"
