"""The host's Prometheus renderer against a real Envoy, for the same metric operations.

One module (Tests/Fixtures/wat/metrics_probe.wat) defines counters, a gauge and
a histogram with Istio-style tag-encoded names and updates them per request.
It runs in Envoy 1.40 and in `proxy-wasm-host run` with the same stats_tags
and the same requests; the text of every family the module defines must match
byte for byte, histograms included: buckets and `_sum` follow Envoy's
log-linear binning, which the host reproduces.
"""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import pytest

import harness

ROOT = Path(__file__).resolve().parents[2]
STATS_TAGS = [
    {"tag_name": "reporter", "regex": r"(reporter=\.=(.*?);\.;)"},
    {"tag_name": "response_code", "regex": r"(response_code=\.=(.*?);\.;)"},
]
REQUESTS = 3
SAMPLES_PER_REQUEST = 10


def families(text: str) -> dict[str, str]:
    """Prometheus text split into families (the `# TYPE` line and its samples)."""
    blocks: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            current = blocks.setdefault(line.split()[2], [])
        elif not line or line.startswith("#"):
            continue
        if current is not None:
            current.append(line)
    return {name: "\n".join(lines) for name, lines in blocks.items()}


@pytest.fixture(scope="module")
def probe_module(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("probe") / "metrics_probe.wasm"
    subprocess.run(["wat2wasm", str(ROOT / "Tests/Fixtures/wat/metrics_probe.wat"), "-o", str(out)], check=True)
    return out


@pytest.fixture(scope="module")
def envoy_families(probe_module) -> dict[str, str]:
    with harness.UpstreamApp() as app:
        listener_port = harness.free_port()
        config = harness.bootstrap(
            admin_port=harness.free_port(),
            listeners=[harness.http_listener("ingress", listener_port, "app", [
                harness.http_wasm_filter(harness.wasm_plugin_config("probe", probe_module))])],
            clusters=[harness.static_cluster("app", app.port)],
            stats_config={"stats_tags": STATS_TAGS, "use_all_default_tags": False},
        )
        config["stats_flush_interval"] = "0.2s"
        with harness.Envoy(config, name="probe") as envoy:
            for _ in range(REQUESTS):
                status, _, _ = harness.http_get(listener_port, "/")
                assert status == 200
            deadline = time.monotonic() + 10
            while True:  # histograms appear after a stats flush
                found = families(envoy.prometheus_text())
                expected = f"_count{{reporter=\"destination\"}} {REQUESTS * SAMPLES_PER_REQUEST}"
                if "probe_duration_milliseconds" in found and expected in found["probe_duration_milliseconds"]:
                    return found
                assert time.monotonic() < deadline, envoy.prometheus_text()
                time.sleep(0.2)


@pytest.fixture(scope="module")
def host_families(probe_module, tmp_path_factory) -> dict[str, str]:
    scenario = tmp_path_factory.mktemp("scenario") / "probe.yaml"
    tags = "\n".join(f"      - {{tag_name: {t['tag_name']}, regex: '{t['regex']}'}}" for t in STATS_TAGS)
    scenario.write_text(f"""
proxies:
  - name: probe
    stats_tags:
{tags}
    plugins:
      - {{name: probe, module: {probe_module}}}
traffic:
  - http: {{through: [probe], repeat: {REQUESTS}}}
""")
    result = subprocess.run([harness.host_binary(), "run", str(scenario), "--prometheus-only"],
                            capture_output=True, text=True, check=True)
    return families(result.stdout)


def test_both_render_the_same_families(envoy_families, host_families):
    ours = {name for name in envoy_families if not name.startswith("envoy_")}
    assert ours == set(host_families)
    # A name starting with a digit is dropped by both.
    assert not any("starts_with_digit" in name for name in ours)


@pytest.mark.parametrize("family", ["probe_requests_total", "probe_dotted_name_total",
                                    "probe_active_connections", "probe_never_incremented_total"])
def test_counters_and_gauges_match_byte_for_byte(envoy_families, host_families, family):
    assert host_families[family] == envoy_families[family]


def test_histograms_match_byte_for_byte(envoy_families, host_families):
    assert host_families["probe_duration_milliseconds"] == envoy_families["probe_duration_milliseconds"]
    block = host_families["probe_duration_milliseconds"]
    # Envoy's binning, not exact arithmetic: 1004 lies in the bin [1000, 1100), counted under le="1000".
    assert 'probe_duration_milliseconds_bucket{reporter="destination",le="1000"} 21' in block
    # _sum is not the sum of the values (3 * 187108 = 561324): bins count at their edges' harmonic mean.
    assert 'probe_duration_milliseconds_sum{reporter="destination"} 561324\n' not in block
