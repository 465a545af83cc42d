"""The SDK's call-outs in a real Envoy: callout_check.wasm (Plugins/Examples/CalloutCheck) holds
each request while an upstream decides, over an HTTP call, a unary gRPC call or a gRPC stream
(`dispatchHttpCall`, `dispatchGrpcCall`, `openGrpcStream`). The same module's answers in the host
are SDKCalloutTests; the bodies pinned here are what Envoy 1.40 gives the plugin."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import grpc
import pytest

import harness
from mesh import http2


class AuthzHttp:
    """GET /check<path>: 200 for /check/allowed, 401 otherwise; records the paths it was asked."""

    def __init__(self) -> None:
        self.paths: list[str] = []
        paths = self.paths

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True

            def do_GET(self) -> None:  # noqa: N802 (http.server API)
                paths.append(self.path)
                self.send_response(200 if self.path == "/check/allowed" else 401)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer((harness.LOOPBACK, 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]

    def __enter__(self):
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


class AuthzGrpc(harness.GrpcApp):
    """pkg.Authz/Check, unary and streaming: the message is the request path; /allowed passes."""

    def __init__(self) -> None:
        self.messages: list[bytes] = []

        def check(request: bytes, context) -> bytes:
            self.messages.append(request)
            if request != b"/allowed":
                context.abort(grpc.StatusCode.PERMISSION_DENIED, "not allowed")
            return b"ok"

        def stream(requests, context):
            received = list(requests)
            self.messages.extend(received)
            if received != [b"/allowed"]:
                context.abort(grpc.StatusCode.UNAUTHENTICATED, "who are you")
            yield b"ok"

        super().__init__("pkg.Authz", unary={"Check": check}, streams={"Watch": stream})


def answers(configuration: dict, authz_cluster: dict, paths: list[str]) -> tuple[list[tuple[int, str]], dict]:
    """(status, body) for GETs of `paths` through Envoy running callout_check.wasm, and its counters."""
    with harness.UpstreamApp() as app:
        port = harness.free_port()
        plugin = harness.wasm_plugin_config("callout_check", harness.wasm_module("callout_check"),
                                            configuration=json.dumps(configuration))
        config = harness.bootstrap(
            admin_port=harness.free_port(),
            listeners=[harness.http_listener("check", port, "app", [harness.http_wasm_filter(plugin)])],
            clusters=[harness.static_cluster("app", app.port), authz_cluster])
        with harness.Envoy(config, name="sdk-callouts") as envoy:
            results = []
            for path in paths:
                status, _, body = harness.http_get(port, path, timeout=10)
                results.append((status, body))
            metrics = harness.parse_prometheus(envoy.admin_get("/stats/prometheus")[2])
    counters = {name: value for (name, _), value in metrics.items() if name.startswith("callout_check_")}
    return results, counters


def test_an_http_call_out_holds_the_request_until_the_upstream_decides():
    with AuthzHttp() as authz:
        results, counters = answers({"mode": "http", "cluster": "authz"}, harness.static_cluster("authz", authz.port),
                                    ["/allowed", "/denied"])
        assert authz.paths == ["/check/allowed", "/check/denied"]
    (allowed, allowed_body), denied = results
    assert allowed == 200 and json.loads(allowed_body)["path"] == "/allowed"  # reached the application
    assert denied == (403, "denied by authz: 401")
    assert counters == {"callout_check_allowed_total": 1, "callout_check_denied_total": 1, "callout_check_failed_total": 0}


def test_a_failed_http_call_out_fails_closed():
    cluster = harness.static_cluster("authz", harness.free_port())  # nobody listens
    results, counters = answers({"mode": "http", "cluster": "authz"}, cluster, ["/allowed"])
    # Envoy answers a call-out whose upstream refuses the connection with its own 503 response.
    assert results[0][0] == 503
    assert counters["callout_check_failed_total"] == 1 and counters["callout_check_denied_total"] == 0


@pytest.mark.parametrize("mode, denial", [
    ("grpc", "denied: grpc status 7: not allowed{via_upstream}"),
    ("grpc_stream", "denied: grpc status 16: who are you{via_upstream}"),
])
def test_a_grpc_call_or_stream_decides_with_its_status(mode, denial):
    method = "Check" if mode == "grpc" else "Watch"
    with AuthzGrpc() as authz:
        results, counters = answers({"mode": mode, "cluster": "authz", "service": "pkg.Authz", "method": method},
                                    http2(harness.static_cluster("authz", authz.port)), ["/allowed", "/denied"])
        assert authz.messages == [b"/allowed", b"/denied"]
    (allowed, allowed_body), denied = results
    assert allowed == 200 and json.loads(allowed_body)["path"] == "/allowed"
    assert denied == (403, denial)
    assert counters["callout_check_allowed_total"] == 1 and counters["callout_check_denied_total"] == 1
