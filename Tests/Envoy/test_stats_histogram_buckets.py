"""Per-metric histogram buckets from the JSON of Istio's `sidecar.istio.io/statsHistogramBuckets`
annotation: `envoy-config --histogram-buckets` turns it into Envoy's histogram_bucket_settings,
and the `_bucket` lines of the three HTTP histograms, each with its own bounds, are the same in
two real Envoys and in the host. The bounds are chosen so that every observation of the test
falls in the same bins on both (Envoy's durations are real time, the host's are simulated);
Tests/Envoy/test_prometheus_parity.py shows the binning itself is Envoy's."""

from __future__ import annotations

import json
import time

import harness
import mesh
import host_mesh

REQUESTS = 5
ANNOTATION = {
    "istiocustom.istio_request_duration_milliseconds": [100000, 200000],
    "istiocustom.istio_request_bytes": [1, 1000000],
    "istiocustom": [2, 2000000],  # everything else of the plugin's: istio_response_bytes
}
FAMILIES = ["istio_request_duration_milliseconds", "istio_request_bytes", "istio_response_bytes"]


def bucket_lines(text: str, family: str) -> list[str]:
    return [line for line in text.splitlines() if line.startswith(family + "_bucket{")]


def bounds(lines: list[str]) -> list[str]:
    return sorted({line.split('le="')[1].split('"')[0] for line in lines}, key=lambda b: float(b.replace("+Inf", "inf")))


def envoy_texts(stats_config: dict) -> dict[str, str]:
    with harness.UpstreamApp() as app:
        server_port, client_port = harness.free_port(), harness.free_port()
        server = mesh.sidecar("server", "INBOUND", server_port, app.port, "stats_inbound", "{}", stats_config)
        client = mesh.sidecar("client", "OUTBOUND", client_port, server_port, "stats_outbound", "{}", stats_config)
        for config in (server, client):
            config["stats_flush_interval"] = "0.2s"  # histograms show their samples after a flush
        with harness.Envoy(server, name="server") as server_envoy, harness.Envoy(client, name="client") as client_envoy:
            for _ in range(REQUESTS):
                assert harness.http_get(client_port, "/")[0] == 200
            deadline = time.monotonic() + 10
            while True:
                texts = {"client": client_envoy.prometheus_text(), "server": server_envoy.prometheus_text()}
                flushed = all(line.endswith(f" {REQUESTS}") for text in texts.values() for family in FAMILIES
                              for line in bucket_lines(text, family) if 'le="+Inf"' in line)
                if flushed and all(bucket_lines(text, family) for text in texts.values() for family in FAMILIES):
                    return texts
                assert time.monotonic() < deadline, texts
                time.sleep(0.2)


def test_each_http_histogram_gets_its_own_buckets_in_envoy_and_the_host(tmp_path):
    stats_config = host_mesh.generated_stats_config(tmp_path, "{}", "--histogram-buckets", json.dumps(ANNOTATION))
    envoy = envoy_texts(stats_config)
    host = host_mesh.run(tmp_path, "{}", stats_config, "/", REQUESTS)
    expected_bounds = {"istio_request_duration_milliseconds": ["100000", "200000", "+Inf"],
                       "istio_request_bytes": ["1", "1000000", "+Inf"],
                       "istio_response_bytes": ["2", "2000000", "+Inf"]}
    for side in ("client", "server"):
        for family in FAMILIES:
            lines = bucket_lines(envoy[side], family)
            assert bounds(lines) == expected_bounds[family], (side, family, lines)
            assert bucket_lines(host[side], family) == lines, (side, family)
