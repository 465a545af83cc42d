"""Hostile peers, headers and configurations against real Envoy sidecars running our modules: no
VM failure, no request missing from istio_requests_total, no byte added to or lost from an
application stream, and configurations that could fail at request time refused up front."""

from __future__ import annotations

import json
import socket
import ssl
import threading

import certs
import harness
import mesh
import istio_testdata
from mesh import ALPN, ReverseLineServer, exchange_line, mtls_mesh, mx_network_filter, send_line, tcp_proxy
from mesh import stats_network_filter, wait_for_closed

VM_FAILURE_MARKERS = ("Uncaught RuntimeError", "failed: memory access", "Wasm VM failed", "Function: proxy_on")


def vm_failures(log: str) -> list[str]:
    return [line for line in log.splitlines() if any(marker in line for marker in VM_FAILURE_MARKERS)]


def tls_exchange(port: int, paths: dict, payload: bytes) -> bytes:
    """A TLS client with a mesh certificate and ALPN istio-peer-exchange, straight to the server
    sidecar: sends `payload` + newline, returns what comes back until the line ends or EOF."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.load_verify_locations(str(paths["ca"]))
    context.load_cert_chain(str(paths["cert"]), str(paths["key"]))
    context.check_hostname = False
    context.set_alpn_protocols([ALPN])
    with socket.create_connection((harness.LOOPBACK, port), timeout=10) as raw:
        with context.wrap_socket(raw) as sock:
            return send_line(sock, payload)


def test_a_hostile_prefix_length_neither_fails_the_vm_nor_hides_the_next_connection(tmp_path):
    """A peer announcing a prefix length >= 0x80000000 (negative as a wasm32 Int) used to trap the
    metadata_exchange VM; every later connection through it then failed."""
    paths = certs.make_mesh_certificates(tmp_path, ["client", "server", "attacker"])
    generated = {"stats_tags": istio_testdata.stats_tags(), "use_all_default_tags": False}
    with ReverseLineServer() as app:
        client_port, server, client = mtls_mesh(
            paths, app.port, stats_config=generated, labels=True,
            server_filters=[mx_network_filter(), stats_network_filter("stats_inbound"),
                            tcp_proxy("app", tmp_path / "server.log", "%FILTER_STATE(wasm.downstream_peer_id:PLAIN)%")],
            client_filters=[stats_network_filter("stats_outbound"), mx_network_filter(),
                            tcp_proxy("server", tmp_path / "client.log", "%RESPONSE_FLAGS%")])
        server_port = server["static_resources"]["listeners"][0]["address"]["socket_address"]["port_value"]
        with harness.Envoy(server, name="server") as server_envoy, harness.Envoy(client, name="client") as client_envoy:
            hostile = [bytes([0x3D, 0x23, 0x04, 0x67, top, 0, 0, 0x10]) + b"application bytes" for top in (0x80, 0xFF, 0xC0)]
            for payload in hostile:
                # The application receives exactly the peer's bytes; nothing is written back in front.
                assert tls_exchange(server_port, paths["attacker"], payload) == payload[::-1] + b"\n"
            for _ in range(2):
                assert exchange_line(client_port, b"valid") == b"dilav\n"
            samples = wait_for_closed([server_envoy], len(hostile) + 2)[0]
            server_log, client_log = server_envoy.log(), client_envoy.log()
    assert vm_failures(server_log) == [] and vm_failures(client_log) == []
    assert (tmp_path / "server.log").read_text().split() == ["envoy.wasm.metadata_exchange.peer_unknown"] * 3 + ["client"] * 2
    opened = {dict(labels)["source_workload"]: value for (name, labels), value in samples.items()
              if name == "istio_tcp_connections_opened_total"}
    assert opened == {"unknown": 3, "productpage-v1": 2}


STANDARD_LABELS = {
    "reporter", "source_workload", "source_workload_namespace", "source_principal", "source_app", "source_version",
    "source_canonical_service", "source_canonical_revision", "source_cluster", "destination_workload",
    "destination_workload_namespace", "destination_principal", "destination_app", "destination_version",
    "destination_service", "destination_service_name", "destination_service_namespace", "destination_canonical_service",
    "destination_canonical_revision", "destination_cluster", "request_protocol", "response_flags",
    "connection_security_policy", "response_code", "grpc_response_status"}
HOSTILE_LABELS = {"app": "evil;.", "version": "v1;.;hidden", "service.istio.io/canonical-name": "quote\"d\\",
                  "service.istio.io/canonical-revision": "line\nbreak\rx"}
HOSTILE_HOSTS = ["evil;.", "evil;.;source_version=.=x", "a=.=b", "h;", "plain"]


def test_hostile_label_values_and_hosts_are_counted_in_istio_requests_total():
    """A client whose LABELS end in half a separator, hold a whole one, a quote or line breaks, and
    Host headers of the same kind on a mesh without service metadata (so the Host becomes
    destination_service on both sides): every request is counted in istio_requests_total with the
    25 labels, and Prometheus' own parser reads the whole scrape."""
    stats_config = {"stats_tags": istio_testdata.stats_tags(), "use_all_default_tags": False}
    with harness.UpstreamApp() as app:
        client_port, server_envoy, client_envoy = mesh.two_sidecars(
            app.port, istio_testdata.plugin_config("client_config.yaml"), istio_testdata.plugin_config("server_config.yaml"),
            stats_config, services=False)
        client_envoy.config["node"]["metadata"]["LABELS"] = HOSTILE_LABELS
        with server_envoy as server, client_envoy as client:
            for host in HOSTILE_HOSTS:
                for _ in range(2):
                    assert harness.http_get(client_port, "/", headers={"Host": host})[0] == 200
            texts = {"client": client.prometheus_text(), "server": server.prometheus_text()}
            logs = client.log() + server.log()
    assert vm_failures(logs) == []
    requests = 2 * len(HOSTILE_HOSTS)
    for side, text in texts.items():
        samples = harness.parse_prometheus(text)  # raises if any line is unparseable
        families = {line.split()[2] for line in text.splitlines() if line.startswith("# TYPE ")}
        assert {family for family in families if "requests_total" in family} == {"istio_requests_total"}, side
        counted = {labels: value for (name, labels), value in samples.items() if name == "istio_requests_total"}
        assert sum(counted.values()) == requests, side
        assert all(STANDARD_LABELS <= {name for name, _ in labels} for labels in counted), side
        hosts = {dict(labels)["destination_service"] for labels in counted}
        assert hosts == {"evil__", "evil___source_version___x", "a___b", "h;", "plain"}, (side, hosts)
    server_labels = dict(next(iter(labels for (name, labels) in harness.parse_prometheus(texts["server"])
                                   if name == "istio_requests_total")))
    assert server_labels["source_app"] == "evil__" and server_labels["source_version"] == "v1___hidden"
    assert server_labels["source_canonical_service"] == "quote_d_"
    assert server_labels["source_canonical_revision"] == "line_break_x"


def test_validate_refuses_expressions_beyond_the_limits():
    """Expressions that used to pass `envoy --mode validate` and then kill the stats VM on the first
    request (guest stack overflow) are refused at configure time, naming the dimension and limit."""
    for expression, limit in (("+".join(["'a'"] * 500), "nested deeper than 32 levels"),
                              ("!" * 1000 + "true", "nested deeper than 32 levels"),
                              ("string(" + ",".join(["'a'"] * 300) + ")", "more than 256 terms")):
        configuration = json.dumps({"metrics": [{"name": "requests_total", "dimensions": {"evil": expression}}]})
        result = harness.validate_outbound_stats(configuration)
        assert not result.ok, expression[:40]
        assert "stats: invalid configuration: dimension evil of requests_total: at position" in result.log
        assert limit in result.log


def counter(text: str, name: str) -> float:
    """The value of an unlabelled counter in Prometheus text."""
    return next(float(line.split()[-1]) for line in text.splitlines() if line.startswith(name + "{") or line.startswith(name + " "))


def allocated_bytes(envoy: harness.Envoy) -> int:
    status, _, body = envoy.admin_get("/memory")
    assert status == 200
    return int(json.loads(body)["allocated"])


def test_distinct_hosts_past_the_bound_fold_into_one_overflow_series():
    """2000 distinct Host headers through a mesh without service metadata (each would be a new
    destination_service): at most `max_label_sets` label sets plus one overflow series per metric on
    each side, every request counted, and the folded ones counted too."""
    stats_config = {"stats_tags": istio_testdata.stats_tags(), "use_all_default_tags": False}
    hosts = [f"tenant-{index}.example" for index in range(2000)]
    with harness.UpstreamApp() as app:
        bound = '{"max_label_sets": 200}'
        client_port, server_envoy, client_envoy = mesh.two_sidecars(app.port, bound, bound, stats_config, services=False)
        with server_envoy as server, client_envoy as client:
            assert harness.http_get(client_port, "/", headers={"Host": "warm-up"})[0] == 200
            before = {"client": allocated_bytes(client), "server": allocated_bytes(server)}

            def worker(chunk: list[str]) -> None:
                for host in chunk:
                    assert harness.http_get(client_port, "/", headers={"Host": host})[0] == 200
            threads = [threading.Thread(target=worker, args=(hosts[i::4],)) for i in range(4)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            after = {"client": allocated_bytes(client), "server": allocated_bytes(server)}
            samples = {"client": client.prometheus(), "server": server.prometheus()}
            folded = {"client": counter(client.prometheus_text(), "istio_stats_label_sets_folded"),
                      "server": counter(server.prometheus_text(), "istio_stats_label_sets_folded")}
            logs = client.log() + server.log()
    assert vm_failures(logs) == []
    for side, values in samples.items():
        totals = {labels: value for (name, labels), value in values.items() if name == "istio_requests_total"}
        assert sum(totals.values()) == len(hosts) + 1, side
        assert len(totals) <= 200 + 1, (side, len(totals))
        overflow = [value for labels, value in totals.items() if dict(labels)["destination_service"] == "overflow"]
        assert overflow == [len(hosts) + 1 - 200], side
        assert folded[side] == len(hosts) + 1 - 200, side
        durations = {labels for (name, labels) in values if name == "istio_request_duration_milliseconds_count"}
        assert len(durations) <= 200 + 1, side
        growth = (after[side] - before[side]) / 1e6
        print(f"{side}: Envoy allocated {before[side] / 1e6:.1f} -> {after[side] / 1e6:.1f} MB (+{growth:.1f} MB) for {len(hosts)} distinct hosts")


GREETING = b"220 server speaks first\r\n"


def RecordingApp(received: list[bytes], greet: bool = False) -> harness.TcpApp:  # noqa: N802 (used like a class)
    """Optionally greets first; then reads one line, records exactly what arrived, answers `ok`."""
    def handle(rfile, wfile) -> None:
        if greet:
            wfile.write(GREETING)
            wfile.flush()
        received.append(rfile.readline())
        wfile.write(b"ok\n")
    return harness.TcpApp(handle)


def talk(port: int, payload: bytes, expect_greeting: bool) -> bytes:
    """A plain TCP client: reads the greeting first if there is one, sends a line, reads to EOF."""
    with socket.create_connection((harness.LOOPBACK, port), timeout=10) as sock:
        received = b""
        if expect_greeting:
            while not received.endswith(b"\r\n"):
                chunk = sock.recv(4096)
                if not chunk:
                    break
                received += chunk
        sock.sendall(payload)
        while chunk := sock.recv(4096):
            received += chunk
    return received


def plain_sidecar(direction: str, app_port: int, tmp_path, name: str) -> tuple[int, dict]:
    """A sidecar with one plaintext chain: metadata_exchange (no allow_plaintext_tcp) and tcp_proxy."""
    port = harness.free_port()
    config = harness.bootstrap(
        admin_port=harness.free_port(), node={"id": name, "cluster": name, "metadata": {"NAME": name, "NAMESPACE": "default"}},
        listeners=[{"name": name, "address": harness.socket_address(port), "traffic_direction": direction,
                    "filter_chains": [{"filters": [mx_network_filter(),
                                                   tcp_proxy("app", tmp_path / f"{name}.log", "%RESPONSE_FLAGS%")]}]}],
        clusters=[harness.static_cluster("app", app_port)])
    return port, config


def test_non_mesh_peers_receive_exactly_the_applications_bytes(tmp_path):
    """No metadata towards a peer that did not negotiate the exchange, and no byte added to or lost
    from its stream: an outbound sidecar in front of a plaintext server, an inbound sidecar on a
    plaintext chain in front of a server that speaks first, and an mTLS mesh whose server speaks
    first (neither sidecar may write its prefix into the application's stream)."""
    payload = b"application line \x00\x80\xff\n"
    received: list[bytes] = []
    with RecordingApp(received) as app:
        port, config = plain_sidecar("OUTBOUND", app.port, tmp_path, "outbound")
        with harness.Envoy(config, name="outbound") as envoy:
            assert talk(port, payload, expect_greeting=False) == b"ok\n"
            outbound_log = envoy.log()
    with RecordingApp(received, greet=True) as app:
        port, config = plain_sidecar("INBOUND", app.port, tmp_path, "inbound")
        with harness.Envoy(config, name="inbound") as envoy:
            assert talk(port, payload, expect_greeting=True) == GREETING + b"ok\n"
            inbound_log = envoy.log()
    paths = certs.make_mesh_certificates(tmp_path, ["client", "server"])
    with RecordingApp(received, greet=True) as app:
        client_port, server, client = mtls_mesh(
            paths, app.port,
            server_filters=[mx_network_filter(), tcp_proxy("app", tmp_path / "server.log", "%RESPONSE_FLAGS%")],
            client_filters=[mx_network_filter(), tcp_proxy("server", tmp_path / "client.log", "%RESPONSE_FLAGS%")])
        with harness.Envoy(server, name="server") as server_envoy, harness.Envoy(client, name="client") as client_envoy:
            assert talk(client_port, payload, expect_greeting=True) == GREETING + b"ok\n"
            mesh_text = server_envoy.prometheus_text() + client_envoy.prometheus_text()
            mesh_log = server_envoy.log() + client_envoy.log()
    assert received == [payload, payload, payload]
    assert mesh_text.splitlines().count("metadata_exchange_metadata_added{} 0") == 2  # neither sidecar wrote
    assert vm_failures(outbound_log + inbound_log + mesh_log) == []


def test_forged_metadata_under_a_peers_id_does_not_stick_to_that_peer():
    """A request straight to the server sidecar carrying `x-envoy-peer-metadata-id: client` with
    forged metadata is counted as what it claims, but the real client's later requests keep their
    own labels (a cache where the first metadata seen for an id wins would give them the forgery)."""
    stats_config = {"stats_tags": istio_testdata.stats_tags(), "use_all_default_tags": False}
    forged = (mesh.NODE_METADATA / "mx_minimal_1.12semantics.txt").read_text()
    forged_header = next(line.split(":", 1)[1].strip() for line in forged.splitlines() if line.startswith("header_b64:"))
    with harness.UpstreamApp() as app:
        client_port, server_envoy, client_envoy = mesh.two_sidecars(
            app.port, istio_testdata.plugin_config("client_config.yaml"), istio_testdata.plugin_config("server_config.yaml"),
            stats_config)
        server_port = server_envoy.config["static_resources"]["listeners"][0]["address"]["socket_address"]["port_value"]
        with server_envoy as server, client_envoy:
            headers = {"x-envoy-peer-metadata-id": "client", "x-envoy-peer-metadata": forged_header}
            assert harness.http_get(server_port, "/", headers=headers)[0] == 200
            for _ in range(3):
                assert harness.http_get(client_port, "/")[0] == 200
            samples = server.prometheus()
    workloads = {}
    for (name, labels), value in samples.items():
        if name == "istio_requests_total":
            workload = dict(labels)["source_workload"]
            workloads[workload] = workloads.get(workload, 0) + value
    assert workloads == {"w": 1, "productpage-v1": 3}
