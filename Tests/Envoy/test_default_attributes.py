"""The attributes Envoy 1.40 gives a plaintext HTTP/1.1 request, as Envoy answers them and as the
host answers them for a scenario that sets none of them, side by side:
Tests/Fixtures/wat/attribute_probe.wat reads each in the access-log phase and logs its status and
size (addresses `127.0.0.1:<5-digit port>`, ports and the connection id 8-byte integers,
`connection.mtls` one byte, no TLS facts); and the same for a TCP connection at its close
(`response.flags` and the byte totals, no response code or duration)."""

from __future__ import annotations

import socket
import subprocess
import time
from pathlib import Path

import harness
from mesh import reverse_line, wasm_tcp_listener

ROOT = Path(__file__).resolve().parents[2]
ATTRIBUTES = ["source.address", "source.port", "destination.address", "destination.port", "upstream.address",
              "upstream.port", "connection.id", "connection.mtls", "connection.requested_server_name",
              "connection.tls_version", "upstream.tls_version", "upstream.local_address",
              "connection.termination_details", "upstream.transport_failure_reason", "request.protocol",
              "response.code_details", "connection.uri_san_peer_certificate", "upstream.uri_san_peer_certificate",
              "response.flags", "request.total_size", "response.total_size", "response.code", "request.duration"]
STATUS = {"0": "Ok", "1": "NotFound"}


def probe_module(tmp_path: Path) -> Path:
    out = tmp_path / "attribute_probe.wasm"
    subprocess.run(["wat2wasm", str(ROOT / "Tests/Fixtures/wat/attribute_probe.wat"), "-o", str(out)], check=True)
    return out


def answers(lines: list[str]) -> dict[str, tuple[str, int]]:
    """(status, size) per attribute from the probe's pairs of lines."""
    assert len(lines) == 2 * len(ATTRIBUTES), lines
    return {name: (STATUS.get(lines[2 * i], lines[2 * i]), int(lines[2 * i + 1], 36))
            for i, name in enumerate(ATTRIBUTES)}


def envoy_lines(module: Path) -> list[str]:
    port = harness.free_port()
    with harness.UpstreamApp() as app:
        config = harness.bootstrap(admin_port=harness.free_port(), clusters=[harness.static_cluster("c", app.port)],
                                   listeners=[harness.http_listener("l", port, "c", [
                                       harness.http_wasm_filter(harness.wasm_plugin_config("probe", module))])])
        with harness.Envoy(config, name="probe") as envoy:
            assert harness.http_get(port, "/", headers={"Host": "reviews:9080"})[0] == 200
            deadline = time.monotonic() + 10
            while True:
                lines = [line.split("wasm log ", 1)[1].split(": ", 1)[1]
                         for line in envoy.log().split("\n") if "wasm log probe" in line]
                if len(lines) >= 2 * len(ATTRIBUTES) or time.monotonic() > deadline:
                    return lines
                time.sleep(0.1)


def envoy_tcp_lines(module: Path) -> list[str]:
    """The probe as a network filter: its access-log phase comes when the connection closes."""
    port = harness.free_port()
    with harness.TcpApp(reverse_line) as app:
        config = harness.bootstrap(admin_port=harness.free_port(), clusters=[harness.static_cluster("app", app.port)],
                                   listeners=[wasm_tcp_listener(port, module)])
        with harness.Envoy(config, name="probe") as envoy:
            with socket.create_connection((harness.LOOPBACK, port), timeout=5) as client:
                client.sendall(b"hello\n")
                assert client.recv(100) == b"olleh\n"
            deadline = time.monotonic() + 10
            while True:
                lines = [line.split("wasm log ", 1)[1].split(": ", 1)[1]
                         for line in envoy.log().split("\n") if "wasm log probe" in line]
                if len(lines) >= 2 * len(ATTRIBUTES) or time.monotonic() > deadline:
                    return lines
                time.sleep(0.1)


def host_lines(module: Path, tmp_path: Path, tcp: bool = False) -> list[str]:
    scenario = tmp_path / "probe.yaml"
    if tcp:
        traffic = 'tcp: {through: [edge], exchanges: [{downstream: "hello\\n"}, {upstream: "olleh\\n", end: true}]}'
    else:
        traffic = 'http: {through: [edge], request: {headers: {":authority": "reviews:9080"}}}'
    scenario.write_text(f"""
proxies:
  - name: edge
    plugins: [{{name: probe, module: {module}{", kind: tcp" if tcp else ""}}}]
traffic:
  - {traffic}
""")
    output = subprocess.run([harness.host_binary(), "run", str(scenario)], capture_output=True, check=True).stdout
    prefix = b"[edge] [info] "
    return [line[len(prefix):].split(b": ", 1)[1].decode() for line in output.split(b"\n") if line.startswith(prefix)]


def test_the_host_gives_envoys_default_attributes_with_envoys_encodings(tmp_path):
    module = probe_module(tmp_path)
    envoy = answers(envoy_lines(module))
    host = answers(host_lines(module, tmp_path))
    assert host == envoy
    assert envoy["connection.id"] == ("Ok", 8) and envoy["connection.mtls"] == ("Ok", 1)
    assert envoy["connection.tls_version"][0] == "NotFound"


def test_a_tcp_connection_gets_the_same_attributes_in_the_host_as_in_envoy(tmp_path):
    module = probe_module(tmp_path)
    envoy = answers(envoy_tcp_lines(module))
    host = answers(host_lines(module, tmp_path, tcp=True))
    assert host == envoy
    assert envoy["upstream.port"] == ("Ok", 8) and envoy["request.protocol"][0] == "NotFound"
    # At close a connection has its flags and byte totals, but no response code or duration.
    assert envoy["response.flags"] == ("Ok", 8) and envoy["request.total_size"] == ("Ok", 8)
    assert envoy["response.code"][0] == "NotFound" and envoy["request.duration"][0] == "NotFound"
