"""What the real-Envoy tests build their proxies from: sidecars with both plugins (HTTP), the
two-sidecar mesh of Istio's e2e tests, the TCP mTLS mesh with metadata exchange, and the helpers
that read their series. Tests import this module, never each other."""

from __future__ import annotations

import json
import socket
import time
from pathlib import Path

import harness


ROOT = Path(__file__).resolve().parents[2]


NODE_METADATA = ROOT / "Tests/Fixtures/istio/computed"


SERVICES = {"istio": {"services": [{"host": "server.default.svc.cluster.local", "name": "server", "namespace": "default"}]}}


def node(name: str) -> dict:
    return {"id": name, "cluster": name,
            "metadata": json.loads((NODE_METADATA / f"{name}_node_metadata.rendered.json").read_text())}


def filters(root_id: str, stats_configuration: str, one_module: bool = False) -> list[dict]:
    """The two plugins: from metadata_exchange.wasm and stats.wasm, or (`one_module`) both from
    telemetry.wasm under one vm_id, so Envoy runs one VM per thread for the pair."""
    mx_module = harness.wasm_module("telemetry" if one_module else "metadata_exchange")
    stats_module = harness.wasm_module("telemetry" if one_module else "stats")
    mx = harness.wasm_plugin_config("metadata_exchange", mx_module, vm_id="telemetry" if one_module else None,
                                    configuration='{"max_peer_cache_size": 20}')
    stats = harness.wasm_plugin_config(root_id, stats_module, root_id=root_id, vm_id="telemetry" if one_module else root_id,
                                       configuration=stats_configuration)
    return [harness.http_wasm_filter(mx), harness.http_wasm_filter(stats)]


def sidecar(name: str, direction: str, port: int, upstream: int, root_id: str, configuration: str, stats_config: dict,
            services: bool = True, one_module: bool = False) -> dict:
    """One sidecar; `services: False` leaves out the cluster's istio service metadata (as for a
    destination outside the mesh registry), so stats falls back to the Host header."""
    cluster = harness.static_cluster("upstream", upstream)
    if services:
        cluster["metadata"] = {"filter_metadata": SERVICES}
    config = harness.bootstrap(
        admin_port=harness.free_port(), node=node(name),
        listeners=[harness.http_listener(f"{name}_listener", port, "upstream", filters(root_id, configuration, one_module),
                                         direction=direction)],
        clusters=[cluster], stats_config=stats_config)
    return config


def two_sidecars(app_port: int, client_configuration: str, server_configuration: str, stats_config: dict, services: bool = True,
         one_module: bool = False):
    server_port, client_port = harness.free_port(), harness.free_port()
    server = sidecar("server", "INBOUND", server_port, app_port, "stats_inbound", server_configuration, stats_config, services,
                     one_module)
    client = sidecar("client", "OUTBOUND", client_port, server_port, "stats_outbound", client_configuration, stats_config,
                     services, one_module)
    return client_port, harness.Envoy(server, name="server"), harness.Envoy(client, name="client")


def series(text: str, family: str) -> list[str]:
    return [line for line in text.splitlines() if line.startswith(family + "{")]


def active_vms(envoy: harness.Envoy) -> int:
    """Envoy's count of live V8 Wasm VMs (one per vm_id per thread)."""
    _, _, body = envoy.admin_get("/stats?filter=wasm.envoy.wasm.runtime.v8.active$")
    return int(body.split(":")[1])


ALPN = "istio-peer-exchange"


def ReverseLineServer() -> harness.TcpApp:  # noqa: N802 (used like a class)
    """Reads one line, answers it reversed, closes."""
    def reverse(rfile, wfile) -> None:
        wfile.write(rfile.readline().rstrip(b"\n")[::-1] + b"\n")
    return harness.TcpApp(reverse)


def tls_context(paths: dict) -> dict:
    return {
        "alpn_protocols": [ALPN, "istio"],
        "tls_certificates": [{"certificate_chain": {"filename": str(paths["cert"])},
                              "private_key": {"filename": str(paths["key"])}}],
        "validation_context": {"trusted_ca": {"filename": str(paths["ca"])}},
    }


def mx_network_filter(configuration: str | None = None) -> dict:
    return {
        "name": "envoy.filters.network.wasm",
        "typed_config": {
            "@type": "type.googleapis.com/envoy.extensions.filters.network.wasm.v3.Wasm",
            "config": harness.wasm_plugin_config("metadata_exchange_tcp", harness.wasm_module("metadata_exchange"),
                                                 configuration=configuration),
        },
    }


def tcp_proxy(cluster: str, log_path, log_format: str) -> dict:
    return {
        "name": "envoy.filters.network.tcp_proxy",
        "typed_config": {
            "@type": "type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy",
            "stat_prefix": "tcp",
            "cluster": cluster,
            "access_log": [{
                "name": "envoy.access_loggers.file",
                "typed_config": {
                    "@type": "type.googleapis.com/envoy.extensions.access_loggers.file.v3.FileAccessLog",
                    "path": str(log_path),
                    "log_format": {"text_format_source": {"inline_string": log_format + "\n"}},
                },
            }],
        },
    }


def mtls_mesh(paths: dict, app_port: int, server_filters: list[dict], client_filters: list[dict],
              stats_config: dict | None = None, labels: bool = False, node_metadata: dict | None = None,
              cluster_metadata: dict | None = None) -> tuple[int, dict, dict]:
    """A client sidecar (plain TCP outbound listener, mTLS upstream offering ALPN istio-peer-exchange)
    and a server sidecar (mTLS inbound chain selected by that ALPN) in front of the app. Returns the
    client port and both bootstraps. `node_metadata` ({"client": ..., "server": ...}) replaces the
    small built-in node metadata; `cluster_metadata` goes on both sidecars' upstream clusters."""
    server_port, client_port = harness.free_port(), harness.free_port()

    def node(name: str, workload: str, app: str) -> dict:
        if node_metadata is not None:
            return {"id": name, "cluster": name, "metadata": node_metadata[name]}
        metadata = {"NAME": f"{workload}-pod", "NAMESPACE": "default", "WORKLOAD_NAME": workload}
        if labels:
            metadata["LABELS"] = {"app": app}
        return {"id": name, "cluster": name, "metadata": metadata}

    def cluster(name: str, port: int) -> dict:
        config = harness.static_cluster(name, port)
        if cluster_metadata is not None:
            config["metadata"] = cluster_metadata
        return config

    server = harness.bootstrap(
        admin_port=harness.free_port(), stats_config=stats_config, node=node("server", "ratings-v1", "ratings"),
        listeners=[{
            "name": "server_inbound", "address": harness.socket_address(server_port), "traffic_direction": "INBOUND",
            "listener_filters": [{"name": "envoy.filters.listener.tls_inspector", "typed_config": {
                "@type": "type.googleapis.com/envoy.extensions.filters.listener.tls_inspector.v3.TlsInspector"}}],
            "filter_chains": [{
                "filter_chain_match": {"application_protocols": [ALPN]},
                "transport_socket": {"name": "envoy.transport_sockets.tls", "typed_config": {
                    "@type": "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext",
                    "require_client_certificate": True, "common_tls_context": tls_context(paths["server"])}},
                "filters": server_filters,
            }],
        }],
        clusters=[cluster("app", app_port)],
    )
    upstream = cluster("server", server_port)
    upstream["transport_socket"] = {"name": "envoy.transport_sockets.tls", "typed_config": {
        "@type": "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext",
        "common_tls_context": tls_context(paths["client"])}}
    client = harness.bootstrap(
        admin_port=harness.free_port(), stats_config=stats_config, node=node("client", "productpage-v1", "productpage"),
        listeners=[{
            "name": "client_outbound", "address": harness.socket_address(client_port), "traffic_direction": "OUTBOUND",
            "filter_chains": [{"filters": client_filters}],
        }],
        clusters=[upstream],
    )
    return client_port, server, client


def send_line(sock, payload: bytes) -> bytes:
    """Sends `payload` and a newline on `sock`; returns what comes back up to a newline or EOF."""
    sock.sendall(payload + b"\n")
    received = b""
    while not received.endswith(b"\n"):
        chunk = sock.recv(4096)
        if not chunk:
            break
        received += chunk
    return received


def exchange_line(port: int, payload: bytes) -> bytes:
    """Sends one line through the mesh and returns the app's (reversed) line."""
    with socket.create_connection((harness.LOOPBACK, port), timeout=10) as sock:
        return send_line(sock, payload)


FAMILIES = {"connection_open": "istio_tcp_connections_opened_total",
            "connection_close": "istio_tcp_connections_closed_total",
            "received_bytes": "istio_tcp_received_bytes_total",
            "sent_bytes": "istio_tcp_sent_bytes_total"}


def stats_network_filter(root_id: str, configuration: str = '{"tcp_reporting_duration": "1s"}') -> dict:
    return {
        "name": "envoy.filters.network.wasm",
        "typed_config": {
            "@type": "type.googleapis.com/envoy.extensions.filters.network.wasm.v3.Wasm",
            "config": harness.wasm_plugin_config(root_id, harness.wasm_module("stats"), root_id=root_id,
                                                 vm_id=f"tcp_{root_id}", configuration=configuration),
        },
    }


def wait_for_closed(envoys, connections: int, timeout: float = 10) -> list[dict]:
    """Scrapes until every Envoy reports `connections` closed connections (the final report of a
    connection happens on close), or the timeout passes; returns the last samples of each."""
    deadline = time.monotonic() + timeout
    while True:
        samples = [envoy.prometheus() for envoy in envoys]
        closed = [sum(v for (n, _), v in s.items() if n == FAMILIES["connection_close"]) for s in samples]
        if all(c == connections for c in closed) or time.monotonic() > deadline:
            return samples
        time.sleep(0.2)


def http2(cluster: dict) -> dict:
    cluster["typed_extension_protocol_options"] = {"envoy.extensions.upstreams.http.v3.HttpProtocolOptions": {
        "@type": "type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions",
        "explicit_http_config": {"http2_protocol_options": {}}}}
    return cluster


def reverse_line(rfile, wfile) -> None:
    """Reads one line, answers it reversed."""
    wfile.write(rfile.readline().rstrip(b"\n")[::-1] + b"\n")


def wasm_tcp_listener(port: int, module: Path) -> dict:
    """A plaintext TCP listener: the module as a network filter, then tcp_proxy to cluster `app`."""
    return {
        "name": "probe_listener",
        "address": harness.socket_address(port),
        "filter_chains": [{"filters": [
            {"name": "envoy.filters.network.wasm", "typed_config": {
                "@type": "type.googleapis.com/envoy.extensions.filters.network.wasm.v3.Wasm",
                "config": harness.wasm_plugin_config("probe", module)}},
            {"name": "envoy.filters.network.tcp_proxy", "typed_config": {
                "@type": "type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy",
                "stat_prefix": "probe", "cluster": "app"}},
        ]}],
    }
