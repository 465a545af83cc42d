"""`make bench-envoy`: Envoy CPU per request through a two-sidecar path, without filters and with
metadata_exchange.wasm + stats.wasm, measured side by side in one run (interleaved rounds,
medians). CPU is each Envoy's utime+stime from /proc; load comes from keep-alive HTTP/1.1 clients
on loopback, bounded in count. Absolute numbers depend on the machine; the ratio is the result.
"""

from __future__ import annotations

import http.client
import os
import statistics
import threading

import harness
import test_stats

REQUESTS_PER_ROUND = int(os.environ.get("BENCH_REQUESTS", "3000"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))
CLIENTS = 8
TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def plain_sidecar(name: str, direction: str, port: int, upstream: int) -> dict:
    return harness.bootstrap(admin_port=harness.free_port(), node=test_stats.node(name),
                             listeners=[harness.http_listener(f"{name}_l", port, "upstream", [], direction=direction)],
                             clusters=[harness.static_cluster("upstream", upstream)])


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


def round_trip(app_port: int, with_filters: bool) -> float:
    server_port, client_port = harness.free_port(), harness.free_port()
    if with_filters:
        stats_config = {"stats_tags": harness_tags(), "use_all_default_tags": False}
        client_port, server_envoy, client_envoy = test_stats.mesh(app_port, '{"stat_prefix": "istio"}',
                                                                  '{"stat_prefix": "istio"}', stats_config)
    else:
        server_envoy = harness.Envoy(plain_sidecar("server", "INBOUND", server_port, app_port), name="server")
        client_envoy = harness.Envoy(plain_sidecar("client", "OUTBOUND", client_port, server_port), name="client")
    with server_envoy as server, client_envoy as client:
        load(client_port, 200)  # warm up connections and VMs
        before = cpu_seconds(server.process.pid) + cpu_seconds(client.process.pid)
        load(client_port, REQUESTS_PER_ROUND)
        after = cpu_seconds(server.process.pid) + cpu_seconds(client.process.pid)
    return (after - before) / REQUESTS_PER_ROUND * 1e6 / 2  # µs of CPU per request per Envoy


def harness_tags() -> list[dict]:
    import istio_testdata
    return istio_testdata.stats_tags()


def main() -> None:
    results = {False: [], True: []}
    with harness.UpstreamApp() as app:
        for _ in range(ROUNDS):
            for with_filters in (False, True):
                results[with_filters].append(round_trip(app.port, with_filters))
    plain, filtered = statistics.median(results[False]), statistics.median(results[True])
    print(f"Envoy CPU per request per sidecar, median of {ROUNDS} interleaved rounds of {REQUESTS_PER_ROUND} requests")
    print(f"  no filters                          {plain:8.1f} µs")
    print(f"  metadata_exchange + stats (V8)      {filtered:8.1f} µs")
    print(f"  ratio                               {filtered / plain:8.2f}x")


if __name__ == "__main__":
    main()
