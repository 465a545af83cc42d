"""stats.wasm + metadata_exchange.wasm in two real Envoys (client sidecar outbound, server sidecar
inbound), compared with Istio's own expected series (istio/proxy 1.12.0 testdata/metric), with
Istio's test bootstrap stats_tags; and with the stats_config our generator emits."""

from __future__ import annotations

import threading

import pytest

import harness
from mesh import active_vms, series, two_sidecars
import istio_testdata















@pytest.mark.parametrize("one_module", [False, True], ids=["two modules", "telemetry.wasm, one VM"])
def test_request_totals_match_istios_expected_files(one_module):
    stats_config = {"stats_tags": istio_testdata.stats_tags(), "use_all_default_tags": False}
    with harness.UpstreamApp() as app:
        client_port, server_envoy, client_envoy = two_sidecars(app.port, istio_testdata.plugin_config("client_config.yaml"),
                                                       istio_testdata.plugin_config("server_config.yaml"), stats_config,
                                                       one_module=one_module)
        with server_envoy as server, client_envoy as client:
            for _ in range(10):
                status, _, _ = harness.http_get(client_port, "/")
                assert status == 200
            client_text, server_text = client.prometheus_text(), server.prometheus_text()
            # Envoy keeps, per vm_id, a base VM and one per thread (main, one worker):
            # three for each plugin, or three for both from one module.
            assert active_vms(server) == (3 if one_module else 6)
    variables = {"RequestCount": "10", "GrpcResponseStatus": ""}
    assert series(client_text, "istio_requests_total") == [istio_testdata.expected_series("client_request_total.yaml.tmpl", variables)]
    assert series(server_text, "istio_requests_total") == [istio_testdata.expected_series("server_request_total.yaml.tmpl", variables)]
    assert series(client_text, "istio_build") == [istio_testdata.expected_series("istio_build.yaml", {})]


def ten_requests_without_service_metadata(client_configuration: str, server_configuration: str):
    """10 requests through the mesh with no service metadata on the clusters; returns the client
    port (part of the Host header) and both sides' istio_requests_total lines."""
    stats_config = {"stats_tags": istio_testdata.stats_tags(), "use_all_default_tags": False}
    with harness.UpstreamApp() as app:
        client_port, server_envoy, client_envoy = two_sidecars(app.port, istio_testdata.plugin_config(client_configuration),
                                                       istio_testdata.plugin_config(server_configuration), stats_config,
                                                       services=False)
        with server_envoy as server, client_envoy as client:
            for _ in range(10):
                assert harness.http_get(client_port, "/")[0] == 200
            return (client_port, series(client.prometheus_text(), "istio_requests_total"),
                    series(server.prometheus_text(), "istio_requests_total"))


def test_host_header_fallback_matches_istios_expected_file():
    client_port, client_lines, _ = ten_requests_without_service_metadata("client_config.yaml", "server_config.yaml")
    variables = {"RequestCount": "10", "ClientPort": str(client_port)}
    assert client_lines == [istio_testdata.expected_series("host_header_fallback.yaml.tmpl", variables)]


def test_disabled_host_header_fallback_matches_istios_expected_files():
    _, client_lines, server_lines = ten_requests_without_service_metadata(
        "client_config_disable_header_fallback.yaml", "server_config_disable_header_fallback.yaml")
    variables = {"RequestCount": "10"}
    assert client_lines == [istio_testdata.expected_series("client_disable_host_header_fallback.yaml.tmpl", variables)]
    assert server_lines == [istio_testdata.expected_series("server_disable_host_header_fallback.yaml.tmpl", variables)]


def test_generated_stats_config_gives_the_same_series_as_the_host(tmp_path):
    configuration = istio_testdata.plugin_config("client_config.yaml")
    (tmp_path / "client.json").write_text(configuration)
    generated = harness.generated_stats_config("--stats-config", str(tmp_path / "client.json"))
    requests = 120
    with harness.UpstreamApp() as app:
        client_port, server_envoy, client_envoy = two_sidecars(app.port, configuration, istio_testdata.plugin_config("server_config.yaml"),
                                                       generated)
        with server_envoy as server, client_envoy as client:
            def worker(count: int) -> None:
                for _ in range(count):
                    assert harness.http_get(client_port, "/")[0] == 200
            threads = [threading.Thread(target=worker, args=(requests // 4,)) for _ in range(4)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            client_samples = client.prometheus()
            server_samples = server.prometheus()
    # Exactness under load: every request counted once on each side.
    for samples in (client_samples, server_samples):
        total = sum(value for (name, _), value in samples.items() if name == "istio_requests_total")
        assert total == requests
    client_series = [labels for (name, labels) in client_samples if name == "istio_requests_total"]
    assert len(client_series) == 1
    labels = dict(client_series[0])
    assert labels["reporter"] == "source" and labels["destination_workload"] == "ratings-v1"
    assert labels["configurable_metric_a"] == "localhost:server" and labels["response_code"] == "200"
    assert labels["source_canonical_revision"] == "version-1" and labels["grpc_response_status"] == ""
    # No encoded names leak: every wasmcustom series was turned into labels.
    assert not any("=.=" in name or ";.;" in name for (name, _) in client_samples)
