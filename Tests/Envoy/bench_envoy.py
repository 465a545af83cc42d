"""`make bench-envoy`: Envoy CPU per request through a two-sidecar path, measured side by side in
one run (interleaved rounds, medians), for:

- no filters (the baseline);
- two passthrough Wasm filters (Tests/Fixtures/wat/passthrough.wat: every callback returns at
  once), which isolates what Envoy's Wasm filter costs by itself;
- metadata_exchange alone, stats alone, and both (what a user deploys).

CPU is each Envoy's utime+stime from /proc; load comes from keep-alive HTTP/1.1 clients on loopback,
bounded in count. Absolute numbers depend on the machine; the ratios are the result.
"""

from __future__ import annotations

import http.client
import os
import statistics
import subprocess
import tempfile
import threading
from pathlib import Path

import harness
import istio_testdata
import test_stats

REQUESTS_PER_ROUND = int(os.environ.get("BENCH_REQUESTS", "3000"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))
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


def variants(passthrough: Path) -> dict[str, callable]:
    """Variant name -> function(root_id) giving one sidecar's HTTP filters."""
    def mx() -> dict:
        return harness.http_wasm_filter(harness.wasm_plugin_config(
            "metadata_exchange", harness.wasm_module("metadata_exchange"), configuration='{"max_peer_cache_size": 20}'))

    def stats(root_id: str) -> dict:
        return harness.http_wasm_filter(harness.wasm_plugin_config(
            root_id, harness.wasm_module("stats"), root_id=root_id, vm_id=root_id, configuration='{"stat_prefix": "istio"}'))

    def empty(name: str) -> dict:
        return harness.http_wasm_filter(harness.wasm_plugin_config(name, passthrough))

    return {
        "no filters": lambda root_id: [],
        "2 passthrough Wasm filters": lambda root_id: [empty("first"), empty("second")],
        "metadata_exchange": lambda root_id: [mx()],
        "stats": lambda root_id: [stats(root_id)],
        "metadata_exchange + stats": lambda root_id: [mx(), stats(root_id)],
    }


def sidecar(name: str, direction: str, port: int, upstream: int, filters: list[dict]) -> dict:
    cluster = harness.static_cluster("upstream", upstream)
    cluster["metadata"] = {"filter_metadata": test_stats.SERVICES}
    return harness.bootstrap(
        admin_port=harness.free_port(), node=test_stats.node(name),
        listeners=[harness.http_listener(f"{name}_listener", port, "upstream", filters, direction=direction)],
        clusters=[cluster], stats_config={"stats_tags": istio_testdata.stats_tags(), "use_all_default_tags": False})


def round_trip(app_port: int, filters) -> float:
    server_port, client_port = harness.free_port(), harness.free_port()
    server = harness.Envoy(sidecar("server", "INBOUND", server_port, app_port, filters("stats_inbound")), name="server")
    client = harness.Envoy(sidecar("client", "OUTBOUND", client_port, server_port, filters("stats_outbound")), name="client")
    with server as server, client as client:
        load(client_port, 200)  # warm up connections and VMs
        before = cpu_seconds(server.process.pid) + cpu_seconds(client.process.pid)
        load(client_port, REQUESTS_PER_ROUND)
        after = cpu_seconds(server.process.pid) + cpu_seconds(client.process.pid)
    return (after - before) / REQUESTS_PER_ROUND * 1e6 / 2  # µs of CPU per request per Envoy


def main() -> None:
    with tempfile.TemporaryDirectory() as directory:
        passthrough = Path(directory) / "passthrough.wasm"
        subprocess.run(["wat2wasm", str(ROOT / "Tests/Fixtures/wat/passthrough.wat"), "-o", str(passthrough)], check=True)
        configurations = variants(passthrough)
        results: dict[str, list[float]] = {name: [] for name in configurations}
        with harness.UpstreamApp() as app:
            for _ in range(ROUNDS):
                for name, filters in configurations.items():
                    results[name].append(round_trip(app.port, filters))
    medians = {name: statistics.median(values) for name, values in results.items()}
    baseline = medians["no filters"]
    print(f"Envoy CPU per request per sidecar, median of {ROUNDS} interleaved rounds of {REQUESTS_PER_ROUND} requests")
    print(f"  {'configuration':<30} {'µs':>8} {'vs none':>8} {'added µs':>9}")
    for name, value in medians.items():
        print(f"  {name:<30} {value:8.1f} {value / baseline:7.2f}x {value - baseline:9.1f}")


if __name__ == "__main__":
    main()
