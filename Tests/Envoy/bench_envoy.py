"""`make bench-envoy`: Envoy CPU per request through a two-sidecar path, measured side by side in
one run (interleaved rounds, medians), for:

- no filters (the baseline);
- two passthrough Wasm filters (Tests/Fixtures/wat/passthrough.wat: every callback returns at
  once), which isolates what Envoy's Wasm filter costs by itself;
- metadata_exchange alone, stats alone, and both (what a user deploys): from their own modules, and
  from telemetry.wasm under one vm_id (one VM per thread for the pair);
- with `ANCHOR_WASM_DIR` pointing at Istio 1.12's prebuilt filters (metadata-exchange-filter.wasm,
  stats-filter.wasm), the same two plugins as Istio ships them, configured as Istio configures them.

CPU is the scheduler's account of each Envoy's threads (/proc/PID/task/*/schedstat); load comes
from keep-alive HTTP/1.1 clients on loopback (BENCH_CLIENTS, default 8). Also per configuration:
time from process start to `/ready` (the server sidecar) and resident memory per Envoy after a
round's batches. In each round (BENCH_ROUNDS) every configuration's sidecars run at once and take
BENCH_BATCHES batches of BENCH_REQUESTS requests in turn. Absolute numbers depend on the machine
and move with its load, so CPU is paired: a configuration's added CPU is the median of each
batch's CPU minus the no-filter batch of the same turn, seconds apart, and a ratio (ours over
Istio's added CPU) the median of the batches' ratios, each printed with its range.
"""

from __future__ import annotations

import contextlib
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

REQUESTS_PER_BATCH = int(os.environ.get("BENCH_REQUESTS", "1000"))
BATCHES = int(os.environ.get("BENCH_BATCHES", "10"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))
# Comma-separated configuration names to measure (default: all); "no filters" is always measured.
ONLY = [name.strip() for name in os.environ.get("BENCH_ONLY", "").split(",") if name.strip()]
CLIENTS = int(os.environ.get("BENCH_CLIENTS", "8"))
ROOT = Path(__file__).resolve().parents[2]


def cpu_seconds(pid: int) -> float:
    """CPU time of every thread of `pid`, in nanoseconds' precision (the scheduler's own
    account, where /proc/PID/stat counts 10 ms ticks)."""
    total = 0
    for task in Path(f"/proc/{pid}/task").iterdir():
        with contextlib.suppress(FileNotFoundError):  # a thread that just exited
            total += int((task / "schedstat").read_text().split()[0])
    return total / 1e9


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
OURS_ONE_VM = "both from telemetry.wasm (one VM)"
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


# BENCH_CROSSINGS=1: instead of the plugins, price each kind of host call in Envoy with
# Tests/Fixtures/wat/crossing_cost.wat making CROSSINGS_PER_REQUEST of them on every request's
# headers, paired with the same module making none.
CROSSINGS = os.environ.get("BENCH_CROSSINGS") == "1"
CROSSINGS_PER_REQUEST = 20
CROSSING_KINDS = {
    "p": "proxy_get_property found (allocates)",
    "u": "proxy_get_property NotFound",
    "h": "proxy_get_header_map_value found (allocates)",
    "c": "proxy_increment_metric",
    "r": "proxy_record_metric (histogram)",
    "e": "expr_evaluate of 7 attributes (allocates)",
}
NO_CROSSING = "crossing_cost making no call"


def crossing_variants(module: Path) -> dict[str, callable]:
    def probe(kind: str) -> callable:
        return lambda root_id: [harness.http_wasm_filter(harness.wasm_plugin_config(
            "crossing_cost", module, configuration=f"{kind}{CROSSINGS_PER_REQUEST}"))]
    configurations = {"no filters": lambda root_id: [], NO_CROSSING: probe("n")}
    configurations.update({label: probe(kind) for kind, label in CROSSING_KINDS.items()})
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
class Pair:
    """A client and a server sidecar with one configuration's filters, running."""
    server: harness.Envoy
    client: harness.Envoy
    client_port: int
    ready_s: float   # server sidecar: process start to /ready

    def cpu_seconds(self) -> float:
        return cpu_seconds(self.server.process.pid) + cpu_seconds(self.client.process.pid)

    def rss_mb(self) -> float:
        return (rss_mb(self.server.process.pid) + rss_mb(self.client.process.pid)) / 2

    def batch(self) -> float:
        """CPU per request per Envoy over one batch of requests."""
        before = self.cpu_seconds()
        load(self.client_port, REQUESTS_PER_BATCH)
        return (self.cpu_seconds() - before) / REQUESTS_PER_BATCH * 1e6 / 2


def start_pair(stack: contextlib.ExitStack, app_port: int, filters) -> Pair:
    server_port, client_port = harness.free_port(), harness.free_port()
    server = harness.Envoy(sidecar("server", "INBOUND", server_port, app_port, filters("stats_inbound")), name="server")
    client = harness.Envoy(sidecar("client", "OUTBOUND", client_port, server_port, filters("stats_outbound")), name="client")
    started = time.monotonic()
    stack.enter_context(server)
    ready = time.monotonic() - started
    stack.enter_context(client)
    load(client_port, 200)  # warm up connections and VMs
    return Pair(server, client, client_port, ready)


@dataclass
class Results:
    cpu_us: dict[str, list[float]]    # per batch, batches of every round in order
    ready_s: dict[str, list[float]]   # per round
    rss_mb: dict[str, list[float]]    # per round, after its batches


def measure(app_port: int, configurations: dict) -> Results:
    """ROUNDS rounds; in each, every configuration's pair runs at once and takes BATCHES batches
    in turn (the order rotating), so each batch is measured seconds from the others."""
    names = list(configurations)
    results = Results({name: [] for name in names}, {name: [] for name in names}, {name: [] for name in names})
    for _ in range(ROUNDS):
        with contextlib.ExitStack() as stack:
            pairs = {name: start_pair(stack, app_port, filters) for name, filters in configurations.items()}
            for batch in range(BATCHES):
                for name in names[batch % len(names):] + names[:batch % len(names)]:
                    results.cpu_us[name].append(pairs[name].batch())
            for name, pair in pairs.items():
                results.ready_s[name].append(pair.ready_s)
                results.rss_mb[name].append(pair.rss_mb())
    return results


def main() -> None:
    anchors = anchor_modules()
    with tempfile.TemporaryDirectory() as directory:
        passthrough = Path(directory) / "passthrough.wasm"
        subprocess.run(["wat2wasm", str(ROOT / "Tests/Fixtures/wat/passthrough.wat"), "-o", str(passthrough)], check=True)
        configurations = variants(passthrough, anchors)
        if CROSSINGS:
            probe = Path(directory) / "crossing_cost.wasm"
            subprocess.run(["wat2wasm", str(ROOT / "Tests/Fixtures/wat/crossing_cost.wat"), "-o", str(probe)], check=True)
            configurations = crossing_variants(probe)
        if ONLY:
            configurations = {name: filters for name, filters in configurations.items() if name == "no filters" or name in ONLY}
        with harness.UpstreamApp() as app:
            report(measure(app.port, configurations))


def paired(results: Results, name: str, base: str) -> list[float]:
    """`name`'s CPU over `base`'s, batch by batch: the two ran seconds apart, so the machine's
    drift cancels."""
    return [ours - theirs for ours, theirs in zip(results.cpu_us[name], results.cpu_us[base])]


def spread(values: list[float]) -> str:
    return f"{min(values):.1f}..{max(values):.1f}"


def report(results: Results) -> None:
    """Medians; added CPU is the median of each batch's difference from the no-filter batch of the
    same turn, and a ratio the median of the batches' ratios, with their ranges."""
    median = statistics.median
    baseline = results.rss_mb["no filters"]
    print(f"Envoy per sidecar: {ROUNDS} rounds of {BATCHES} interleaved batches of {REQUESTS_PER_BATCH} requests"
          f" ({CLIENTS} keep-alive clients), medians")
    print(f"  {'configuration':<46} {'CPU µs':>7} {'added µs':>9} {'(range)':>13} {'ready s':>8} {'RSS MB':>7} {'added MB':>9}")
    for name, cpu in results.cpu_us.items():
        added = paired(results, name, "no filters")
        rss = median(results.rss_mb[name])
        print(f"  {name:<46} {median(cpu):7.1f} {median(added):9.1f} {spread(added):>13}"
              f" {median(results.ready_s[name]):8.2f} {rss:7.1f} {rss - median(baseline):9.1f}")
    if NO_CROSSING in results.cpu_us:
        for label in CROSSING_KINDS.values():
            each = [added / CROSSINGS_PER_REQUEST for added in paired(results, label, NO_CROSSING)]
            print(f"one {label}: {statistics.median(each):.2f} µs per Envoy (batches {spread(each)})")
    comparisons = [(OURS, ISTIO), (OURS_ONE_VM, ISTIO), ("metadata_exchange", ISTIO_MX), ("stats", ISTIO_STATS)]
    for name, theirs in comparisons:
        if name not in results.cpu_us or theirs not in results.cpu_us:
            continue
        ours, istio = paired(results, name, "no filters"), paired(results, theirs, "no filters")
        ratios = [a / b for a, b in zip(ours, istio) if b > 0]
        if ratios:
            print(f"added CPU per request, {name} / {theirs}: {median(ratios):.2f} (batches {spread(ratios)};"
                  f" {median(ours):.1f} / {median(istio):.1f} µs)")

if __name__ == "__main__":
    main()
