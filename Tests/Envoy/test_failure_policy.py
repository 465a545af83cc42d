"""What Envoy 1.40's `failure_policy` does to traffic when a Wasm plugin's VM fails, measured with
a module that traps after the response (Tests/Fixtures/wat/trap_after_response.wat), as an HTTP
filter and as a network filter. The README's failure-policy table is this test's output."""

from __future__ import annotations

import socket
import subprocess
from pathlib import Path

import harness

ROOT = Path(__file__).resolve().parents[2]
POLICIES = ["default", "FAIL_CLOSED", "FAIL_OPEN", "FAIL_RELOAD"]  # default: the field left out


def trapping_module(tmp_path: Path) -> Path:
    out = tmp_path / "trap_after_response.wasm"
    subprocess.run(["wat2wasm", str(ROOT / "Tests/Fixtures/wat/trap_after_response.wat"), "-o", str(out)], check=True)
    return out


def plugin(module: Path, policy: str) -> dict:
    config = harness.wasm_plugin_config("trap", module)
    if policy != "default":
        config["failure_policy"] = policy
    return config


def http_statuses(module: Path, policy: str, requests: int = 10) -> list[int]:
    with harness.UpstreamApp() as app:
        port = harness.free_port()
        config = harness.bootstrap(admin_port=harness.free_port(),
                                   listeners=[harness.http_listener("l", port, "app", [harness.http_wasm_filter(plugin(module, policy))])],
                                   clusters=[harness.static_cluster("app", app.port)])
        with harness.Envoy(config, name=f"http-{policy}"):
            return [harness.http_get(port, "/")[0] for _ in range(requests)]


def tcp_replies(module: Path, policy: str, connections: int = 5) -> list[bytes]:
    echo = harness.TcpApp(lambda rfile, wfile: wfile.write(rfile.readline()))
    with echo:
        port = harness.free_port()
        network = {"name": "envoy.filters.network.wasm", "typed_config": {
            "@type": "type.googleapis.com/envoy.extensions.filters.network.wasm.v3.Wasm", "config": plugin(module, policy)}}
        proxy = {"name": "envoy.filters.network.tcp_proxy", "typed_config": {
            "@type": "type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy",
            "stat_prefix": "tcp", "cluster": "app"}}
        config = harness.bootstrap(admin_port=harness.free_port(),
                                   listeners=[{"name": "t", "address": harness.socket_address(port), "filter_chains": [{"filters": [network, proxy]}]}],
                                   clusters=[harness.static_cluster("app", echo.port)])
        replies = []
        with harness.Envoy(config, name=f"tcp-{policy}"):
            for _ in range(connections):
                with socket.create_connection((harness.LOOPBACK, port), timeout=5) as sock:
                    sock.sendall(b"ping\n")
                    data = b""
                    try:
                        while chunk := sock.recv(4096):
                            data += chunk
                    except (ConnectionResetError, TimeoutError):
                        pass
                    replies.append(data)
        return replies


def test_what_each_failure_policy_does_to_traffic(tmp_path):
    module = trapping_module(tmp_path)
    http = {policy: http_statuses(module, policy) for policy in POLICIES}
    tcp = {policy: tcp_replies(module, policy) for policy in POLICIES}
    for policy in POLICIES:
        print(f"{policy}: HTTP {http[policy]}  TCP {tcp[policy]}")
    # The default is FAIL_CLOSED: the request that failed the VM got its response, every later one a 503.
    assert http["default"] == http["FAIL_CLOSED"] == [200] + [503] * 9
    # FAIL_OPEN: traffic flows, the failed plugin is skipped (a telemetry plugin then counts nothing).
    assert http["FAIL_OPEN"] == [200] * 10
    # ... except the connection during which the VM failed: Envoy closes it.
    assert tcp["FAIL_OPEN"] == [b""] + [b"ping\n"] * 4
    # FAIL_CLOSED on a network filter: connections through the failed VM are closed.
    assert tcp["default"] == tcp["FAIL_CLOSED"] == [b""] * 5
    # FAIL_RELOAD: a new VM replaces the failed one after a backoff; until then requests get 503
    # and connections are closed (wasm.trap.vm_reload_backoff counts the refusals).
    assert http["FAIL_RELOAD"][0] == 200 and http["FAIL_RELOAD"].count(503) >= 5
    assert tcp["FAIL_RELOAD"].count(b"") >= 3
