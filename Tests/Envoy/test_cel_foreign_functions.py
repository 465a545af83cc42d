"""Envoy's CEL foreign functions (`expr_create`, `expr_evaluate`) as Envoy 1.40 answers them and as
the host answers them, side by side: Tests/Fixtures/wat/cel_probe.wat logs statuses, sizes,
tokens and result bytes for strings, integers, booleans, maps, a missing attribute, a division
by zero and unparsable text."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import harness

ROOT = Path(__file__).resolve().parents[2]
CONFIGURE_LINES = 6 * 3 + 2  # six expressions (status, size, token), then the unparsable one (status, size)


def probe_module(tmp_path: Path) -> Path:
    out = tmp_path / "cel_probe.wasm"
    subprocess.run(["wat2wasm", str(ROOT / "Tests/Fixtures/wat/cel_probe.wat"), "-o", str(out)], check=True)
    return out


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
                # `wasm log <plugin> <root id>[ <vm id>]: message` (the vm id in stream contexts)
                lines = [line.split("wasm log ", 1)[1].split(": ", 1)[1] for line in envoy.log().split("\n") if "wasm log probe" in line]
                if len(lines) % CONFIGURE_LINES != 0 or time.monotonic() > deadline:
                    return lines
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


def test_the_host_answers_the_cel_foreign_functions_as_envoy_does(tmp_path):
    module = probe_module(tmp_path)
    envoy, host = envoy_lines(module), host_lines(module, tmp_path)
    # Envoy configures the module in each of its VMs (tokens start at 0 in each), then one
    # evaluates on the request; the host runs one VM.
    assert len(host) > CONFIGURE_LINES
    assert host[:CONFIGURE_LINES] == envoy[:CONFIGURE_LINES]
    evaluation = host[CONFIGURE_LINES:]
    assert envoy[-len(evaluation):] == evaluation
    # What the lines say: a string, an int64, InternalFailure twice, a bool, a map, then
    # BadArgument for unparsable text at creation.
    assert host[:CONFIGURE_LINES] == ["0", "4", "0", "0", "4", "1", "0", "4", "2", "0", "4", "3", "0", "4", "4",
                                      "0", "4", "5", "2", "0"]
    assert evaluation[:3] == ["0", "D", "reviews:9080x"] and evaluation[3:6] == ["0", "8", "\x03" + "\x00" * 7]
    assert evaluation[6:10] == ["A", "0", "A", "0"] and evaluation[10:13] == ["0", "1", "\x01"]
