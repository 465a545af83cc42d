"""The WAT probes' side-by-side runs: a probe module (Tests/Fixtures/wat/) logs one value per
line; these run it in a real Envoy (an HTTP filter, or a network filter before tcp_proxy) and in
the host, and return the lines it logged, so a test compares the two."""

from __future__ import annotations

import socket
import subprocess
import time
from pathlib import Path

import harness
from mesh import reverse_line, wasm_tcp_listener

ROOT = Path(__file__).resolve().parents[2]
HOST_LOG_PREFIX = b"[edge] [info] "


def compile_probe(name: str, tmp_path: Path) -> Path:
    """Tests/Fixtures/wat/<name>.wat compiled with wat2wasm."""
    out = tmp_path / f"{name}.wasm"
    subprocess.run(["wat2wasm", str(ROOT / f"Tests/Fixtures/wat/{name}.wat"), "-o", str(out)], check=True)
    return out


def logged_lines(envoy: harness.Envoy) -> list[str]:
    """The probe's messages from Envoy's log (`wasm log probe <root>[ <vm>]: message`)."""
    return [line.split("wasm log ", 1)[1].split(": ", 1)[1] for line in envoy.log().split("\n") if "wasm log probe" in line]


def wait_for_lines(envoy: harness.Envoy, done, timeout: float = 10) -> list[str]:
    """The probe's lines once `done(lines)` holds, or whatever came within `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        lines = logged_lines(envoy)
        if done(lines) or time.monotonic() > deadline:
            return lines
        time.sleep(0.1)


def envoy_http(module: Path, done, headers: dict | None = None) -> tuple[list[str], tuple[int, dict, str]]:
    """One GET through an Envoy running `module` as an HTTP filter: its lines and the response."""
    port = harness.free_port()
    with harness.UpstreamApp() as app:
        config = harness.bootstrap(admin_port=harness.free_port(), clusters=[harness.static_cluster("c", app.port)],
                                   listeners=[harness.http_listener("l", port, "c", [
                                       harness.http_wasm_filter(harness.wasm_plugin_config("probe", module))])])
        with harness.Envoy(config, name="probe") as envoy:
            response = harness.http_get(port, "/", headers=headers or {"Host": "reviews:9080"})
            return wait_for_lines(envoy, done), response


def envoy_tcp(module: Path, done) -> tuple[list[str], bytes]:
    """`hello\\n` through an Envoy running `module` as a network filter before tcp_proxy to an
    application that answers the line reversed: the lines and what the client received."""
    port = harness.free_port()
    with harness.TcpApp(reverse_line) as app:
        config = harness.bootstrap(admin_port=harness.free_port(), clusters=[harness.static_cluster("app", app.port)],
                                   listeners=[wasm_tcp_listener(port, module)])
        with harness.Envoy(config, name="probe") as envoy:
            with socket.create_connection((harness.LOOPBACK, port), timeout=5) as client:
                client.sendall(b"hello\n")
                received = b""
                while not received.endswith(b"\n"):
                    chunk = client.recv(100)
                    if not chunk:
                        break
                    received += chunk
            return wait_for_lines(envoy, done), received


def host_run(module: Path, tmp_path: Path, tcp: bool = False) -> tuple[list[str], list[str]]:
    """The same traffic through `proxy-wasm-host run` (one proxy `edge`): the probe's lines and
    the run's other output lines."""
    if tcp:
        traffic = 'tcp: {through: [edge], exchanges: [{downstream: "hello\\n"}, {upstream: "olleh\\n", end: true}]}'
    else:
        traffic = 'http: {through: [edge], request: {headers: {":authority": "reviews:9080"}}}'
    scenario = tmp_path / "probe.yaml"
    scenario.write_text(f"""
proxies:
  - name: edge
    plugins: [{{name: probe, module: {module}{", kind: tcp" if tcp else ""}}}]
traffic:
  - {traffic}
""")
    output = subprocess.run([harness.host_binary(), "run", str(scenario)], capture_output=True, check=True).stdout
    lines = output.split(b"\n")
    probe = [line[len(HOST_LOG_PREFIX):].split(b": ", 1)[1].decode() for line in lines if line.startswith(HOST_LOG_PREFIX)]
    return probe, [line.decode(errors="replace") for line in lines if not line.startswith(HOST_LOG_PREFIX)]
