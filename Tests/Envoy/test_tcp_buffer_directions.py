"""A network filter's buffer calls across directions, as Envoy 1.40 answers them and as the host
answers them, side by side: Tests/Fixtures/wat/tcp_buffer_probe.wat, on the first data callback
of each direction, asks for the other direction's buffer (status, write, read), prepends a byte to
its own and reads it back; every answer is one log line. Also what the application and the client
receive in Envoy: the prepends to a callback's own buffer arrive, the cross-direction writes do
not."""

from __future__ import annotations

import socket
import subprocess
import time
from pathlib import Path

import harness
from mesh import reverse_line, wasm_tcp_listener

ROOT = Path(__file__).resolve().parents[2]
PROBE_LINES = 10  # five per direction


def probe_module(tmp_path: Path) -> Path:
    out = tmp_path / "tcp_buffer_probe.wasm"
    subprocess.run(["wat2wasm", str(ROOT / "Tests/Fixtures/wat/tcp_buffer_probe.wat"), "-o", str(out)], check=True)
    return out


def envoy_run(module: Path) -> tuple[list[str], bytes]:
    """The probe's log lines in Envoy, and what the client received."""
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
            deadline = time.monotonic() + 10
            while True:
                lines = [line.split("wasm log ", 1)[1].split(": ", 1)[1]
                         for line in envoy.log().split("\n") if "wasm log probe" in line]
                if len(lines) >= PROBE_LINES or time.monotonic() > deadline:
                    return lines, received
                time.sleep(0.1)


def host_run(module: Path, tmp_path: Path) -> tuple[list[str], str]:
    """The probe's log lines in the host, and its line on what each end received."""
    scenario = tmp_path / "probe.yaml"
    scenario.write_text(f"""
proxies:
  - name: edge
    plugins: [{{name: probe, module: {module}, kind: tcp}}]
traffic:
  - tcp: {{through: [edge], exchanges: [{{downstream: "hello\\n"}}, {{upstream: "olleh\\n", end: true}}]}}
""")
    output = subprocess.run([harness.host_binary(), "run", str(scenario)], capture_output=True, check=True).stdout
    prefix = b"[edge] [info] "
    lines = [line[len(prefix):].split(b": ", 1)[1].decode() for line in output.split(b"\n") if line.startswith(prefix)]
    [outcome] = [line.decode() for line in output.split(b"\n") if line.startswith(b"tcp #1: ")]
    return lines, outcome


def test_the_host_answers_cross_direction_buffer_calls_as_envoy_does(tmp_path):
    module = probe_module(tmp_path)
    envoy, received = envoy_run(module)
    host, outcome = host_run(module, tmp_path)
    assert len(envoy) == PROBE_LINES, envoy
    assert host == envoy
    # Own-direction prepends arrive; the other direction's "U" and "d" do not: in Envoy the
    # application gets "Dhello\n" and answers "ollehD\n", the client gets "u" before it; in the
    # host the upstream end gets the 7 bytes of "Dhello\n" and the downstream end "u" + "olleh\n".
    assert received == b"uollehD\n"
    assert outcome == "tcp #1: upstream received 7 bytes, downstream received 7 bytes"
