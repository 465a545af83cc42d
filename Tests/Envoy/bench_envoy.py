"""`make bench-envoy`: Envoy CPU per request through a two-sidecar path, measured side by side in
one run (interleaved rounds, medians), for:

- no filters (the baseline);
- two passthrough Wasm filters (Tests/Fixtures/wat/passthrough.wat: every callback returns at
  once), which isolates what Envoy's Wasm filter costs by itself;
- metadata_exchange alone, stats alone, and both (what a user deploys): from their own modules, and
  from telemetry.wasm under one vm_id (one VM per thread for the pair);
- with `ANCHOR_WASM_DIR` pointing at Istio 1.12's prebuilt filters (metadata-exchange-filter.wasm,
  stats-filter.wasm), the same two plugins as Istio ships them, configured as Istio configures them.

CPU is each Envoy's utime+stime from /proc; load comes from keep-alive HTTP/1.1 clients on loopback,
bounded in count. Also per configuration: time from process start to `/ready` (the server
sidecar) and resident memory per Envoy after the round. Absolute numbers depend on the machine;
the ratios are the result: the last line divides what our two plugins add over no filters by what
Istio's add, both from this one run.
"""

from __future__ import annotations

import http.client
import os
import statistics
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import harness
import mesh
import istio_testdata

REQUESTS_PER_ROUND = int(os.environ.get("BENCH_REQUESTS", "3000"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))
# Comma-separated configuration names to measure (default: all); "no filters" is always measured.
ONLY = [name.strip() for name in os.environ.get("BENCH_ONLY", "").split(",") if name.strip()]
CLIENTS = 8
TICKS = os.sysconf("SC_CLK_TCK")
ROOT = Path(__file__).resolve().parents[2]


def cpu_seconds(pid: int) -> float:
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def load(port: int, total: int) -> None:
    def worker(count: int) -> None:
        connection = http.client.HTTPConnection(harness.LOOPBACK, port, timeout=10)
        for _ in range(count):
            connection.request("GET", "/bench")
            response = connection.getresponse()
            response.read()
            assert response.status == 200
        connection.close()
    threads = [threading.Thread(target=worker, args=(total // CLIENTS,)) for _ in range(CLIENTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


OURS = "metadata_exchange + stats"
OURS_ONE_VM = "both from telemetry.wasm, one VM"
ISTIO = "Istio 1.12 metadata_exchange + stats"
ISTIO_MX = "Istio 1.12 metadata_exchange"
ISTIO_STATS = "Istio 1.12 stats"


def anchor_modules() -> tuple[Path, Path] | None:
    """Istio's prebuilt modules from ANCHOR_WASM_DIR, or None (with the reason printed)."""
    directory = os.environ.get("ANCHOR_WASM_DIR")
    if not directory:
        print("ANCHOR_WASM_DIR is not set: Istio's own filters are not measured")
        return None
    mx, stats = Path(directory) / "metadata-exchange-filter.wasm", Path(directory) / "stats-filter.wasm"
    missing = [str(path) for path in (mx, stats) if not path.is_file()]
    if missing:
        print(f"ANCHOR_WASM_DIR lacks {', '.join(missing)}: Istio's own filters are not measured")
        return None
    return mx, stats


def variants(passthrough: Path, anchors: tuple[Path, Path] | None) -> dict[str, callable]:
    """Variant name -> function(root_id) giving one sidecar's HTTP filters."""
    def mx() -> dict:
        return harness.http_wasm_filter(harness.wasm_plugin_config(
            "metadata_exchange", harness.wasm_module("metadata_exchange"), configuration='{"max_peer_cache_size": 20}'))

    def stats(root_id: str) -> dict:
        return harness.http_wasm_filter(harness.wasm_plugin_config(
            root_id, harness.wasm_module("stats"), root_id=root_id, vm_id=root_id, configuration='{"stat_prefix": "istio"}'))

    def empty(name: str) -> dict:
        return harness.http_wasm_filter(harness.wasm_plugin_config(name, passthrough))

    configurations = {
        "no filters": lambda root_id: [],
        "2 passthrough Wasm filters": lambda root_id: [empty("first"), empty("second")],
        "metadata_exchange": lambda root_id: [mx()],
        "stats": lambda root_id: [stats(root_id)],
        OURS: lambda root_id: [mx(), stats(root_id)],
        OURS_ONE_VM: lambda root_id: [
            harness.http_wasm_filter(harness.wasm_plugin_config(
                "metadata_exchange", harness.wasm_module("telemetry"), vm_id="telemetry", configuration='{"max_peer_cache_size": 20}')),
            harness.http_wasm_filter(harness.wasm_plugin_config(
                root_id, harness.wasm_module("telemetry"), root_id=root_id, vm_id="telemetry", configuration='{"stat_prefix": "istio"}'))],
    }
    if anchors:
        istio_mx, istio_stats = anchors

        # As Istio 1.12's EnvoyFilters configure them: the exchange under the empty root id,
        # stats per direction with Istio's default configuration.
        def istio_mx_filter() -> dict:
            return harness.http_wasm_filter(harness.wasm_plugin_config(
                "istio.metadata_exchange", istio_mx, root_id="", vm_id="istio_metadata_exchange", configuration="{}"))

        def istio_stats_filter(root_id: str) -> dict:
            return harness.http_wasm_filter(harness.wasm_plugin_config(
                f"istio.{root_id}", istio_stats, root_id=root_id, vm_id=f"istio_{root_id}",
                configuration='{"debug": "false", "stat_prefix": "istio"}'))
        configurations[ISTIO_MX] = lambda root_id: [istio_mx_filter()]
        configurations[ISTIO_STATS] = lambda root_id: [istio_stats_filter(root_id)]
        configurations[ISTIO] = lambda root_id: [istio_mx_filter(), istio_stats_filter(root_id)]
    return configurations


def sidecar(name: str, direction: str, port: int, upstream: int, filters: list[dict]) -> dict:
    cluster = harness.static_cluster("upstream", upstream)
    cluster["metadata"] = {"filter_metadata": mesh.SERVICES}
    return harness.bootstrap(
        admin_port=harness.free_port(), node=mesh.node(name),
        listeners=[harness.http_listener(f"{name}_listener", port, "upstream", filters, direction=direction)],
        clusters=[cluster], stats_config={"stats_tags": istio_testdata.stats_tags(), "use_all_default_tags": False})


def rss_mb(pid: int) -> float:
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


@dataclass
class Round:
    cpu_us: float    # CPU per request per Envoy
    ready_s: float   # server sidecar: process start to /ready
    rss_mb: float    # resident memory per Envoy after the round


def round_trip(app_port: int, filters) -> Round:
    server_port, client_port = harness.free_port(), harness.free_port()
    server = harness.Envoy(sidecar("server", "INBOUND", server_port, app_port, filters("stats_inbound")), name="server")
    client = harness.Envoy(sidecar("client", "OUTBOUND", client_port, server_port, filters("stats_outbound")), name="client")
    started = time.monotonic()
    with server as server:
        ready = time.monotonic() - started
        with client as client:
            load(client_port, 200)  # warm up connections and VMs
            before = cpu_seconds(server.process.pid) + cpu_seconds(client.process.pid)
            load(client_port, REQUESTS_PER_ROUND)
            after = cpu_seconds(server.process.pid) + cpu_seconds(client.process.pid)
            rss = (rss_mb(server.process.pid) + rss_mb(client.process.pid)) / 2
    return Round((after - before) / REQUESTS_PER_ROUND * 1e6 / 2, ready, rss)


def main() -> None:
    anchors = anchor_modules()
    with tempfile.TemporaryDirectory() as directory:
        passthrough = Path(directory) / "passthrough.wasm"
        subprocess.run(["wat2wasm", str(ROOT / "Tests/Fixtures/wat/passthrough.wat"), "-o", str(passthrough)], check=True)
        configurations = variants(passthrough, anchors)
        if ONLY:
            configurations = {name: filters for name, filters in configurations.items() if name == "no filters" or name in ONLY}
        results: dict[str, list[Round]] = {name: [] for name in configurations}
        with harness.UpstreamApp() as app:
            for _ in range(ROUNDS):
                for name, filters in configurations.items():
                    results[name].append(round_trip(app.port, filters))
    medians = {name: Round(statistics.median(r.cpu_us for r in rounds), statistics.median(r.ready_s for r in rounds),
                           statistics.median(r.rss_mb for r in rounds)) for name, rounds in results.items()}
    baseline = medians["no filters"]
    print(f"Envoy per sidecar, median of {ROUNDS} interleaved rounds of {REQUESTS_PER_ROUND} requests")
    print(f"  {'configuration':<38} {'CPU µs':>7} {'vs none':>8} {'added µs':>9} {'ready s':>8} {'RSS MB':>7} {'added MB':>9}")
    for name, value in medians.items():
        print(f"  {name:<38} {value.cpu_us:7.1f} {value.cpu_us / baseline.cpu_us:7.2f}x {value.cpu_us - baseline.cpu_us:9.1f}"
              f" {value.ready_s:8.2f} {value.rss_mb:7.1f} {value.rss_mb - baseline.rss_mb:9.1f}")
    if ISTIO in medians:
        istio = medians[ISTIO].cpu_us - baseline.cpu_us
        for name in (OURS, OURS_ONE_VM):
            ours = medians[name].cpu_us - baseline.cpu_us
            if istio > 0:
                print(f"added CPU per request, {name} / Istio's: {ours / istio:.2f} ({ours:.1f} / {istio:.1f} µs)")
        for name, theirs in (("metadata_exchange", ISTIO_MX), ("stats", ISTIO_STATS)):
            if name in medians and theirs in medians:
                ours, istio = medians[name].cpu_us - baseline.cpu_us, medians[theirs].cpu_us - baseline.cpu_us
                if istio > 0:
                    print(f"added CPU per request, {name} alone / Istio's: {ours / istio:.2f} ({ours:.1f} / {istio:.1f} µs)")


if __name__ == "__main__":
    main()
