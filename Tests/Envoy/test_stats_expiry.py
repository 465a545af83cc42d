"""`metric_expiry_duration` in a real Envoy 1.40: the plugin forgets the label sets no request used
for the expiry (their metric ids, the cache entries pointing to them, the decoded peers) and says
so in its own gauges; Envoy keeps exporting the series themselves, because a Wasm plugin's stats
live in a scope Envoy never evicts (the plugin config's scope is created without `evictable`, and
`proxy_define_metric` hands out ids over raw stat pointers), and the proxy-wasm ABI has no call to
remove a metric. These tests pin both halves: if Envoy starts evicting Wasm stats, the second
assertion of the first test fails and the README's note on expiry must change."""

from __future__ import annotations

import http.client
import json
import time

import harness
import mesh
import host_mesh

# Only requests_total, with the path as a dimension: one series per distinct path.
CONFIGURATION = json.dumps({
    "metric_expiry_duration": "1s", "tcp_reporting_duration": "1s", "max_label_sets": 20000,
    "metrics": [{"name": "requests_total", "dimensions": {"request_path": "request.path"}},
                {"name": "request_duration_milliseconds", "drop": True},
                {"name": "request_bytes", "drop": True}, {"name": "response_bytes", "drop": True}]})


def sidecar(tmp_path, app_port: int) -> tuple[int, dict]:
    port = harness.free_port()
    cluster = harness.static_cluster("app", app_port)
    cluster["metadata"] = {"filter_metadata": mesh.SERVICES}
    config = harness.bootstrap(
        admin_port=harness.free_port(), node=mesh.node("client"),
        stats_config=host_mesh.generated_stats_config(tmp_path, CONFIGURATION),
        listeners=[harness.http_listener("client_listener", port, "app", mesh.filters("stats_outbound", CONFIGURATION),
                                         direction="OUTBOUND")],
        clusters=[cluster])
    return port, config


def plugin_gauges(envoy: harness.Envoy) -> dict[str, int]:
    """The plugin's own figures from /stats (label_sets_active, label_sets_expired, report_keys_cached, peers_cached)."""
    _, _, body = envoy.admin_get("/stats?filter=istio_stats")
    figures = {}
    for line in body.splitlines():
        name, _, value = line.partition(": ")
        figures[name.rsplit(".", 1)[-1]] = int(value)
    return figures


def per_path_totals(envoy: harness.Envoy) -> dict[str, float]:
    return {dict(labels)["request_path"]: value for (name, labels), value in envoy.prometheus().items()
            if name == "istio_requests_total"}


def get(connection: http.client.HTTPConnection, path: str) -> None:
    connection.request("GET", path, headers={"Host": "server"})
    response = connection.getresponse()
    response.read()
    assert response.status == 200


def wait_for(condition, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.2)


def test_idle_series_leave_the_plugin_but_envoy_keeps_exporting_them(tmp_path):
    with harness.UpstreamApp() as app:
        port, config = sidecar(tmp_path, app.port)
        with harness.Envoy(config, name="client") as envoy:
            connection = http.client.HTTPConnection(harness.LOOPBACK, port, timeout=5)
            for path in ["/a", "/b", "/c"]:
                get(connection, path)
            wait_for(lambda: plugin_gauges(envoy).get("label_sets_expired") == 3)
            assert plugin_gauges(envoy)["label_sets_active"] == 0
            assert plugin_gauges(envoy)["report_keys_cached"] == 0 and plugin_gauges(envoy)["peers_cached"] == 0
            # Envoy 1.40's limit: the three idle series are still exported, with their last value.
            assert per_path_totals(envoy) == {"/a": 1, "/b": 1, "/c": 1}
            # A label set that comes back is defined again; Envoy continues its series.
            get(connection, "/a")
            assert per_path_totals(envoy)["/a"] == 2
            wait_for(lambda: plugin_gauges(envoy).get("label_sets_active") == 1)


def test_ten_thousand_expired_series_leave_the_plugins_caches_bounded(tmp_path):
    with harness.UpstreamApp() as app:
        port, config = sidecar(tmp_path, app.port)
        with harness.Envoy(config, name="client") as envoy:
            connection = http.client.HTTPConnection(harness.LOOPBACK, port, timeout=5)
            for index in range(10_000):
                get(connection, f"/item/{index}")
            wait_for(lambda: plugin_gauges(envoy).get("label_sets_expired") == 10_000, timeout=20)
            live = ["/live/1", "/live/2", "/live/3"]
            for path in live:
                get(connection, path)
            wait_for(lambda: plugin_gauges(envoy).get("label_sets_active") == 3)
            figures = plugin_gauges(envoy)
            live_series = [path for path in per_path_totals(envoy) if path in live]
            assert len(live_series) == 3
            for cache in ["label_sets_active", "report_keys_cached", "peers_cached"]:
                assert figures[cache] <= len(live_series), figures
            assert len(per_path_totals(envoy)) == 10_003  # Envoy still exports every series it was given
