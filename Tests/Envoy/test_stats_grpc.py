"""stats.wasm for gRPC in two real Envoys (client sidecar outbound, server sidecar inbound, HTTP/2
end to end, Envoy's grpc_stats filter emitting filter state as istiod configures it), against a
real gRPC server (grpcio), compared with Istio's expected files: unary calls failing with
PERMISSION_DENIED (`client/server_request_total` with grpc_response_status 7) and a bidirectional
stream whose message counters are reported on ticks and at the end
(`{client,server}_{request,response}_messages`, Istio's TestStatsGrpcStream sequence)."""

from __future__ import annotations

import queue
import time

import grpc

import harness
import mesh
from mesh import http2
import istio_testdata

SERVICE = "grpc.testing.TestService"


def identity(data: bytes) -> bytes:
    return data


def UpstreamService() -> harness.GrpcApp:  # noqa: N802 (used like a class)
    """The upstream application: `FullDuplexCall` answers a request message holding the number n
    with n response messages; `UnaryCall` fails with PERMISSION_DENIED."""
    def full_duplex(requests, context):
        for request in requests:
            for index in range(request[0]):
                yield bytes([index])

    def unary(request, context):
        context.abort(grpc.StatusCode.PERMISSION_DENIED, "denied")

    return harness.GrpcApp(SERVICE, unary={"UnaryCall": unary}, streams={"FullDuplexCall": full_duplex})


def grpc_stats_filter() -> dict:
    return {"name": "envoy.filters.http.grpc_stats", "typed_config": {
        "@type": "type.googleapis.com/envoy.extensions.filters.http.grpc_stats.v3.FilterConfig",
        "emit_filter_state": True, "stats_for_all_methods": False}}




def grpc_mesh(app_port: int, client_configuration: str, server_configuration: str):
    stats_config = {"stats_tags": istio_testdata.stats_tags(), "use_all_default_tags": False}
    server_port, client_port = harness.free_port(), harness.free_port()
    configs = {}
    for name, direction, port, upstream, root_id, configuration in [
            ("server", "INBOUND", server_port, app_port, "stats_inbound", server_configuration),
            ("client", "OUTBOUND", client_port, server_port, "stats_outbound", client_configuration)]:
        config = mesh.sidecar(name, direction, port, upstream, root_id, configuration, stats_config)
        listener = config["static_resources"]["listeners"][0]
        hcm = listener["filter_chains"][0]["filters"][0]["typed_config"]
        hcm["http_filters"].insert(0, grpc_stats_filter())
        http2(config["static_resources"]["clusters"][0])
        configs[name] = config
    return client_port, harness.Envoy(configs["server"], name="grpc-server"), harness.Envoy(configs["client"], name="grpc-client")


def test_unary_calls_match_istios_request_totals():
    calls = 10
    with UpstreamService() as app:
        client_port, server_envoy, client_envoy = grpc_mesh(app.port, istio_testdata.plugin_config("client_config.yaml"),
                                                            istio_testdata.plugin_config("server_config.yaml"))
        with server_envoy as server, client_envoy as client, grpc.insecure_channel(f"127.0.0.1:{client_port}") as channel:
            call = channel.unary_unary(f"/{SERVICE}/UnaryCall", request_serializer=identity, response_deserializer=identity)
            for _ in range(calls):
                try:
                    call(b"hi", timeout=5)
                    raise AssertionError("the call should have been denied")
                except grpc.RpcError as error:
                    assert error.code() == grpc.StatusCode.PERMISSION_DENIED
            client_text, server_text = client.prometheus_text(), server.prometheus_text()
    variables = {"RequestCount": str(calls), "GrpcResponseStatus": "7"}
    assert mesh.series(client_text, "istio_requests_total") == [istio_testdata.expected_series("client_request_total.yaml.tmpl", variables)]
    assert mesh.series(server_text, "istio_requests_total") == [istio_testdata.expected_series("server_request_total.yaml.tmpl", variables)]


def wait_for(envoys, check, timeout: float = 10):
    """Polls both sidecars' Prometheus text until `check(client_text, server_text)` holds."""
    deadline = time.monotonic() + timeout
    while True:
        texts = [envoy.prometheus_text() for envoy in envoys]
        if check(*texts):
            return texts
        assert time.monotonic() < deadline, "\n\n".join(texts)
        time.sleep(0.2)


def test_stream_message_counters_match_istios_files_on_ticks_and_at_the_end():
    def expected(side: str, requests: int, responses: int) -> dict[str, list[str]]:
        variables = {"RequestMessages": str(requests), "ResponseMessages": str(responses)}
        return {family: [istio_testdata.expected_series(f"{side}_{file}.yaml.tmpl", variables)]
                for family, file in [("istio_request_messages_total", "request_messages"),
                                     ("istio_response_messages_total", "response_messages")]}

    def matches(requests: int, responses: int):
        def check(client_text: str, server_text: str) -> bool:
            return all(mesh.series(text, family) == lines
                       for side, text in [("client", client_text), ("server", server_text)]
                       for family, lines in expected(side, requests, responses).items())
        return check

    with UpstreamService() as app:
        client_port, server_envoy, client_envoy = grpc_mesh(
            app.port, istio_testdata.plugin_config("client_config_grpc.yaml.tmpl"),
            istio_testdata.plugin_config("server_config_grpc.yaml.tmpl"))
        with server_envoy as server, client_envoy as client, grpc.insecure_channel(f"127.0.0.1:{client_port}") as channel:
            outgoing: queue.Queue = queue.Queue()

            def requests():
                while (item := outgoing.get()) is not None:
                    yield item

            stream = channel.stream_stream(f"/{SERVICE}/FullDuplexCall", request_serializer=identity,
                                           response_deserializer=identity)(requests(), timeout=30)
            received = 0
            for count in [1, 5, 7]:
                outgoing.put(bytes([count]))
                for _ in range(count):
                    next(stream)
                    received += 1
            # Open stream: the counters arrive with the next tick (tcp_reporting_duration: 1s).
            wait_for([client, server], matches(3, 13))
            for count in [10, 1, 1, 1, 1]:
                outgoing.put(bytes([count]))
                for _ in range(count):
                    next(stream)
                    received += 1
            outgoing.put(None)
            assert list(stream) == [] and received == 27
            assert stream.code() == grpc.StatusCode.OK
            # Closed: the rest is reported at the end of the stream, each message counted once.
            wait_for([client, server], matches(8, 27))
