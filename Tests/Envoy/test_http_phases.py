"""Header, property and call-out calls made outside the phase they belong to, as Envoy 1.40
answers them and as the host answers them, side by side: Tests/Fixtures/wat/http_phase_probe.wat
logs one status per call (response headers before there is a response, request headers after
they went upstream, writes from the access-log phase, `response.code` before the response, an
HTTP call-out from a stream context to a cluster that does not exist)."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import harness

ROOT = Path(__file__).resolve().parents[2]
PROBE_LINES = 10
NAMES = ["request: get ResponseHeaders :status", "request: replace ResponseHeaders x-early",
         "request: get_property response.code", "request: http_call to a missing cluster",
         "response: replace RequestHeaders x-late", "response: get RequestHeaders :path",
         "log: get RequestHeaders :path", "log: replace ResponseHeaders x-log",
         "log: get ResponseHeaders :status", "log: get_property response.code"]


def probe_module(tmp_path: Path) -> Path:
    out = tmp_path / "http_phase_probe.wasm"
    subprocess.run(["wat2wasm", str(ROOT / "Tests/Fixtures/wat/http_phase_probe.wat"), "-o", str(out)], check=True)
    return out


def envoy_lines(module: Path) -> tuple[list[str], dict]:
    """The probe's statuses in Envoy, and the response headers the client got."""
    port = harness.free_port()
    with harness.UpstreamApp() as app:
        config = harness.bootstrap(admin_port=harness.free_port(), clusters=[harness.static_cluster("c", app.port)],
                                   listeners=[harness.http_listener("l", port, "c", [
                                       harness.http_wasm_filter(harness.wasm_plugin_config("probe", module))])])
        with harness.Envoy(config, name="probe") as envoy:
            status, headers, _ = harness.http_get(port, "/", headers={"Host": "reviews:9080"})
            assert status == 200
            deadline = time.monotonic() + 10
            while True:
                lines = [line.split("wasm log ", 1)[1].split(": ", 1)[1]
                         for line in envoy.log().split("\n") if "wasm log probe" in line]
                if len(lines) >= PROBE_LINES or time.monotonic() > deadline:
                    return lines, {key.lower(): value for key, value in headers.items()}
                time.sleep(0.1)


def host_lines(module: Path, tmp_path: Path) -> list[str]:
    scenario = tmp_path / "probe.yaml"
    scenario.write_text(f"""
proxies:
  - name: edge
    plugins: [{{name: probe, module: {module}}}]
traffic:
  - http: {{through: [edge], request: {{headers: {{":authority": "reviews:9080"}}}}}}
""")
    output = subprocess.run([harness.host_binary(), "run", str(scenario)], capture_output=True, check=True).stdout
    prefix = b"[edge] [info] "
    return [line[len(prefix):].split(b": ", 1)[1].decode() for line in output.split(b"\n") if line.startswith(prefix)]


def test_the_host_answers_calls_outside_their_phase_as_envoy_does(tmp_path):
    module = probe_module(tmp_path)
    envoy, response_headers = envoy_lines(module)
    host = host_lines(module, tmp_path)
    assert len(envoy) == PROBE_LINES, envoy
    assert dict(zip(NAMES, host)) == dict(zip(NAMES, envoy))
    # Nothing written out of phase reaches the client.
    assert "x-early" not in response_headers and "x-log" not in response_headers
