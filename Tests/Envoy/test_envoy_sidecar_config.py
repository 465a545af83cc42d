"""`proxy-wasm-host envoy-config sidecar`: the whole sidecar bootstrap a user would otherwise write
by hand (listeners, filter order, the ALPN chains, clusters, stats_config). Every output form goes
through `envoy --mode validate` as printed; two generated sidecars carry live HTTP/1.1, HTTP/2 and
TCP traffic over mTLS and report Istio's series with both peers known."""

from __future__ import annotations

import json
import socket
import subprocess

import yaml

import certs
import harness
import mesh

TCP_STATS = '{"tcp_reporting_duration": "1s"}'


def sidecar_config(*arguments: str, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run([harness.host_binary(), "envoy-config", "sidecar", "--wasm-dir", str(harness.wasm_module("stats").parent),
                           *arguments], check=check, capture_output=True, text=True)


def write_node_metadata(tmp_path, name: str) -> str:
    path = tmp_path / f"{name}.json"
    path.write_text((mesh.NODE_METADATA / f"{name}_node_metadata.rendered.json").read_text())
    return str(path)


def tls_arguments(paths: dict) -> list[str]:
    return ["--tls-cert", str(paths["cert"]), "--tls-key", str(paths["key"]), "--tls-ca", str(paths["ca"])]


def filter_names(filters: list[dict]) -> list[str]:
    names = []
    for item in filters:
        config = item["typed_config"].get("config")
        names.append(config["root_id"] if config else item["name"].split(".")[-1])
    return names


def test_a_plaintext_http_sidecar_validates_as_printed():
    output = sidecar_config("--inbound", str(harness.free_port()), "--app", "127.0.0.1:8080",
                            "--outbound", f"http:{harness.free_port()}=reviews.default.svc.cluster.local@127.0.0.1:15006",
                            "--admin-port", str(harness.free_port())).stdout
    result = harness.validate(output)
    assert result.ok, result.output[-3000:]
    config = yaml.safe_load(output)
    inbound, outbound = config["static_resources"]["listeners"]
    [chain] = inbound["filter_chains"]
    http_filters = chain["filters"][0]["typed_config"]["http_filters"]
    assert filter_names(http_filters) == ["metadata_exchange", "stats_inbound", "router"]
    assert filter_names(outbound["filter_chains"][0]["filters"][0]["typed_config"]["http_filters"]) == \
        ["metadata_exchange", "stats_outbound", "router"]
    # Envoy's own stats stay by default.
    assert config["stats_config"]["use_all_default_tags"] is True and "stats_matcher" not in config["stats_config"]


def test_an_mtls_sidecar_with_every_protocol_validates_in_yaml_and_json(tmp_path):
    paths = certs.make_mesh_certificates(tmp_path, ["sidecar"])["sidecar"]
    arguments = ["--inbound", str(harness.free_port()), "--app", "127.0.0.1:8080", "--admin-port", str(harness.free_port()),
                 "--outbound", f"http:{harness.free_port()}=reviews.default.svc.cluster.local@127.0.0.1:15006",
                 "--outbound", f"http2:{harness.free_port()}=grpc.default.svc.cluster.local@localhost:15006",
                 "--outbound", f"tcp:{harness.free_port()}=db.default.svc.cluster.local@127.0.0.1:15006",
                 "--node-metadata", write_node_metadata(tmp_path, "client"), *tls_arguments(paths)]
    for format_arguments in ([], ["--format", "json"], ["--plugin-stats-only"]):
        output = sidecar_config(*arguments, *format_arguments).stdout
        result = harness.validate(output)
        assert result.ok, (format_arguments, result.output[-3000:])
    config = json.loads(sidecar_config(*arguments, "--format", "json").stdout)
    inbound = config["static_resources"]["listeners"][0]
    tcp_chain, http_chain = inbound["filter_chains"]
    assert tcp_chain["filter_chain_match"] == {"transport_protocol": "tls", "application_protocols": ["istio-peer-exchange"]}
    assert filter_names(tcp_chain["filters"]) == ["metadata_exchange", "stats_inbound", "tcp_proxy"]
    assert http_chain["filter_chain_match"] == {"transport_protocol": "tls"}
    tcp_listener = config["static_resources"]["listeners"][3]
    assert filter_names(tcp_listener["filter_chains"][0]["filters"]) == ["stats_outbound", "metadata_exchange", "tcp_proxy"]
    tcp_cluster = config["static_resources"]["clusters"][3]
    assert tcp_cluster["transport_socket"]["typed_config"]["common_tls_context"]["alpn_protocols"][0] == "istio-peer-exchange"
    assert tcp_cluster["metadata"]["filter_metadata"]["istio"]["services"] == \
        [{"host": "db.default.svc.cluster.local", "name": "db", "namespace": "default"}]


def test_tcp_without_mtls_and_malformed_outbounds_are_refused_with_a_reason():
    refused = sidecar_config("--outbound", "tcp:9000=db.default@127.0.0.1:15006", check=False)
    assert refused.returncode == 1 and "needs mTLS" in refused.stderr and refused.stdout == ""
    for outbound, reason in (("ftp:9000=db@127.0.0.1:1", "unknown protocol"), ("http:70000=db@127.0.0.1:1", "not a port"),
                             ("http:9000=db@127.0.0.1", "not HOST:PORT"), ("http:9000=d b@127.0.0.1:1", "host name")):
        refused = sidecar_config("--outbound", outbound, check=False)
        assert refused.returncode == 1 and reason in refused.stderr, (outbound, refused.stderr)
    lone_service = sidecar_config("--service", "a.default", "--outbound", "http:9000=a@127.0.0.1:1", check=False)
    assert lone_service.returncode == 1 and "--inbound" in lone_service.stderr
    twice = sidecar_config("--outbound", "http:9000=a@127.0.0.1:1", "--outbound", "tcp:9000=b@127.0.0.1:1", check=False)
    assert twice.returncode == 1


def http_through_raw_tcp(port: int) -> bytes:
    """An HTTP/1.0 request written on a plain TCP connection (the app behind the TCP chain is the
    same HTTP app); returns everything the connection carried back."""
    with socket.create_connection((harness.LOOPBACK, port), timeout=10) as sock:
        sock.sendall(b"GET /tcp HTTP/1.0\r\nHost: db\r\n\r\n")
        received = b""
        while chunk := sock.recv(65536):
            received += chunk
    return received


def test_two_generated_sidecars_report_http_http2_and_tcp_with_both_peers(tmp_path):
    paths = certs.make_mesh_certificates(tmp_path, ["client", "server"])
    server_port = harness.free_port()
    http_port, http2_port, tcp_port = harness.free_port(), harness.free_port(), harness.free_port()
    tcp_stats = tmp_path / "tcp_stats.json"
    tcp_stats.write_text(TCP_STATS)
    with harness.UpstreamApp() as app:
        server = yaml.safe_load(sidecar_config(
            "--name", "server", "--address", harness.LOOPBACK, "--admin-port", str(harness.free_port()),
            "--inbound", str(server_port), "--app", f"{harness.LOOPBACK}:{app.port}",
            "--service", "server.default.svc.cluster.local", "--inbound-stats-config", str(tcp_stats),
            "--node-metadata", write_node_metadata(tmp_path, "server"), *tls_arguments(paths["server"])).stdout)
        client = yaml.safe_load(sidecar_config(
            "--name", "client", "--address", harness.LOOPBACK, "--admin-port", str(harness.free_port()),
            "--outbound", f"http:{http_port}=server.default.svc.cluster.local@{harness.LOOPBACK}:{server_port}",
            "--outbound", f"http2:{http2_port}=server.default.svc.cluster.local@{harness.LOOPBACK}:{server_port}",
            "--outbound", f"tcp:{tcp_port}=server.default.svc.cluster.local@{harness.LOOPBACK}:{server_port}",
            "--outbound-stats-config", str(tcp_stats),
            "--node-metadata", write_node_metadata(tmp_path, "client"), *tls_arguments(paths["client"])).stdout)
        with harness.Envoy(server, name="server") as server_envoy, harness.Envoy(client, name="client") as client_envoy:
            for port in (http_port, http2_port):
                for _ in range(2):
                    assert harness.http_get(port, "/")[0] == 200
            answer = http_through_raw_tcp(tcp_port)
            assert answer.startswith(b"HTTP/1.1 200 OK") and b"x-envoy" not in answer and b'"path": "/tcp"' in answer, answer[:200]
            client_samples, server_samples = mesh.wait_for_closed([client_envoy, server_envoy], 1)
    # The http2 listener's upstream cluster negotiated HTTP/2 by ALPN with the server's HTTP chain.
    http2_connections = {dict(labels).get("envoy_http_conn_manager_prefix"): value for (name, labels), value in server_samples.items()
                         if name == "envoy_http_downstream_cx_http2_total" and value}
    assert http2_connections == {f"inbound_{server_port}": 1}, http2_connections
    for samples, reporter in ((client_samples, "source"), (server_samples, "destination")):
        requests = [(dict(labels), value) for (name, labels), value in samples.items() if name == "istio_requests_total"]
        assert sum(value for _, value in requests) == 4, requests
        for labels, _ in requests:
            assert labels["reporter"] == reporter and labels["response_code"] == "200" and labels["request_protocol"] == "http"
            assert labels["source_workload"] == "productpage-v1" and labels["destination_workload"] == "ratings-v1"
            assert labels["destination_service"] == "server.default.svc.cluster.local"
            assert labels["connection_security_policy"] == ("mutual_tls" if reporter == "destination" else "unknown")
        [(opened_labels, opened)] = [(dict(labels), value) for (name, labels), value in samples.items()
                                     if name == "istio_tcp_connections_opened_total"]
        assert opened == 1 and opened_labels["reporter"] == reporter
        # Both peers known on both sides: the in-band exchange selected by ALPN istio-peer-exchange ran.
        assert opened_labels["source_workload"] == "productpage-v1" and opened_labels["destination_workload"] == "ratings-v1"
        received = sum(value for (name, labels), value in samples.items() if name == "istio_tcp_received_bytes_total")
        assert received == len(b"GET /tcp HTTP/1.0\r\nHost: db\r\n\r\n")
