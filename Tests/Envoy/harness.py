"""Run real Envoy processes with proxy-wasm modules, for end-to-end tests and demos.

Everything here binds to 127.0.0.1 on ports the kernel picks, starts Envoy with
`--disable-hot-restart` (so several can run side by side, no shared memory),
and stops every process it started, even when a test fails.

Building blocks:
- `config` helpers build Envoy bootstrap dictionaries (JSON is valid YAML, so
  Envoy reads them as written);
- `Envoy` starts one Envoy, waits until `/ready`, scrapes `/stats/prometheus`;
- `validate` runs `envoy --mode validate`, which loads the modules and runs
  `proxy_on_vm_start` / `proxy_on_configure` for real;
- `UpstreamApp` is a small HTTP server standing in for the application.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import random
import signal
import socket
import socketserver
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

LOOPBACK = "127.0.0.1"
ROOT = Path(__file__).resolve().parents[2]


def envoy_binary() -> str:
    """The Envoy binary: $ENVOY_BIN, else the project venv's console script."""
    explicit = os.environ.get("ENVOY_BIN")
    if explicit:
        return explicit
    root = Path(__file__).resolve().parents[2]
    return str(root / ".venv" / "bin" / "envoy")


def host_binary() -> str:
    """The `proxy-wasm-host` CLI: $PROXY_WASM_HOST, or the debug build."""
    return os.environ.get("PROXY_WASM_HOST", str(ROOT / ".build/debug/proxy-wasm-host"))


def generated_stats_config(*arguments: str) -> dict:
    """The `stats_config` that `proxy-wasm-host envoy-config ARGUMENTS` generates."""
    output = subprocess.run([host_binary(), "envoy-config", "--format", "json", *arguments],
                            check=True, capture_output=True, text=True).stdout
    return json.loads(output)["stats_config"]


def wasm_module(name: str) -> Path:
    """Path of a module built by `make wasm` (e.g. `header_stamp`)."""
    root = Path(__file__).resolve().parents[2]
    directory = Path(os.environ.get("WASM_DIR", root / "build" / "wasm"))
    path = directory / f"{name}.wasm"
    if not path.exists():
        raise FileNotFoundError(f"{path} is missing: run `make wasm` first")
    return path


def _ephemeral_range() -> tuple[int, int]:
    try:
        low, high = Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()
        return int(low), int(high)
    except (OSError, ValueError):
        return 32768, 60999


_handed_out: set[int] = set()
_port_lock = threading.Lock()


def free_port() -> int:
    """A loopback port no one listens on, for an Envoy listener or admin address. Taken below the
    kernel's ephemeral range: a port the kernel may also give to a `bind(0)` (a test app) or to
    an outgoing connection could be gone by the time Envoy binds it. Never handed out twice."""
    low, _ = _ephemeral_range()
    with _port_lock:
        for _ in range(1000):
            port = random.randrange(max(1024, low - 12000), low)
            if port in _handed_out:
                continue
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
                try:
                    sock.bind((LOOPBACK, port))
                except OSError:
                    continue
            _handed_out.add(port)
            return port
    raise RuntimeError("no free loopback port below the ephemeral range")


# ---------------------------------------------------------------------------
# Config builders


def socket_address(port: int) -> dict:
    return {"socket_address": {"address": LOOPBACK, "port_value": port}}


def wasm_plugin_config(name: str, module: Path, *, root_id: str | None = None,
                       vm_id: str | None = None, configuration: str | None = None,
                       fail_open: bool = False) -> dict:
    """The `PluginConfig` of a Wasm filter (HTTP or network)."""
    config: dict = {
        "name": name,
        "root_id": root_id if root_id is not None else name,
        "vm_config": {
            "vm_id": vm_id if vm_id is not None else name,
            "runtime": "envoy.wasm.runtime.v8",
            "code": {"local": {"filename": str(module)}},
        },
    }
    if configuration is not None:
        config["configuration"] = {
            "@type": "type.googleapis.com/google.protobuf.StringValue",
            "value": configuration,
        }
    if fail_open:
        config["failure_policy"] = "FAIL_OPEN"
    return config


def http_wasm_filter(plugin: dict) -> dict:
    return {
        "name": "envoy.filters.http.wasm",
        "typed_config": {
            "@type": "type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm",
            "config": plugin,
        },
    }


def router_filter() -> dict:
    return {
        "name": "envoy.filters.http.router",
        "typed_config": {"@type": "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router"},
    }


def http_listener(name: str, port: int, cluster: str, http_filters: list[dict],
                  direction: str | None = None) -> dict:
    """A plaintext HTTP listener routing everything to `cluster`."""
    hcm = {
        "@type": "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager",
        "stat_prefix": name,
        "codec_type": "AUTO",
        "route_config": {
            "name": f"{name}_route",
            "virtual_hosts": [{
                "name": "all",
                "domains": ["*"],
                "routes": [{"match": {"prefix": "/"}, "route": {"cluster": cluster}}],
            }],
        },
        "http_filters": http_filters + [router_filter()],
    }
    listener = {
        "name": name,
        "address": socket_address(port),
        "filter_chains": [{"filters": [{
            "name": "envoy.filters.network.http_connection_manager",
            "typed_config": hcm,
        }]}],
    }
    if direction:
        listener["traffic_direction"] = direction
    return listener


def static_cluster(name: str, port: int) -> dict:
    return {
        "name": name,
        "type": "STATIC",
        "connect_timeout": "2s",
        "load_assignment": {
            "cluster_name": name,
            "endpoints": [{"lb_endpoints": [{"endpoint": {"address": socket_address(port)}}]}],
        },
    }


def bootstrap(*, admin_port: int, listeners: list[dict], clusters: list[dict],
              node: dict | None = None, stats_config: dict | None = None) -> dict:
    config = {
        "node": node or {"id": "swift-test-node", "cluster": "swift-test"},
        "admin": {"address": socket_address(admin_port)},
        "static_resources": {"listeners": listeners, "clusters": clusters},
    }
    if stats_config:
        config["stats_config"] = stats_config
    return config


# ---------------------------------------------------------------------------
# Processes


@dataclass
class ValidationResult:
    returncode: int
    log: str

    @property
    def ok(self) -> bool:
        return self.returncode == 0


def _write_config(config: dict, directory: Path, name: str) -> Path:
    path = directory / f"{name}.json"
    path.write_text(json.dumps(config, indent=2))
    return path


def validate_outbound_stats(configuration: str) -> ValidationResult:
    """`envoy --mode validate` of one HTTP listener running stats.wasm (`stats_outbound`) with
    `configuration`."""
    stats = wasm_plugin_config("stats_outbound", wasm_module("stats"), root_id="stats_outbound", configuration=configuration)
    return validate(bootstrap(admin_port=free_port(),
                              listeners=[http_listener("l", free_port(), "c", [http_wasm_filter(stats)])],
                              clusters=[static_cluster("c", free_port())]))


def validate(config: dict | str, timeout: float = 60, extra_args: tuple[str, ...] = ()) -> ValidationResult:
    """`envoy --mode validate`: loads every module and runs VM start and configure. `config` is a
    bootstrap (a dict, or YAML/JSON text as a user would write it to a file)."""
    with tempfile.TemporaryDirectory(prefix="envoy-validate-") as tmp:
        if isinstance(config, str):
            path = Path(tmp) / "validate.yaml"
            path.write_text(config)
        else:
            path = _write_config(config, Path(tmp), "validate")
        proc = subprocess.run(
            [envoy_binary(), "--mode", "validate", "-c", str(path), "--disable-hot-restart",
             "--log-level", "info", *extra_args],
            capture_output=True, text=True, timeout=timeout,
        )
        return ValidationResult(proc.returncode, proc.stdout + proc.stderr)


@dataclass
class Envoy:
    """One running Envoy. Use as a context manager; `stop()` is idempotent."""

    config: dict
    name: str = "envoy"
    admin_port: int = 0
    extra_args: list[str] = field(default_factory=list)  # e.g. ["--config-yaml", fragment]
    workdir: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="envoy-")))
    process: subprocess.Popen | None = None

    def __post_init__(self) -> None:
        if not self.admin_port:
            self.admin_port = self.config["admin"]["address"]["socket_address"]["port_value"]

    @property
    def log_path(self) -> Path:
        return self.workdir / f"{self.name}.log"

    def start(self, timeout: float = 30) -> "Envoy":
        config_path = _write_config(self.config, self.workdir, self.name)
        log = open(self.log_path, "w")
        # The venv's `envoy` is a console script that execv()s the real binary,
        # so the pid we hold is Envoy's own.
        self.process = subprocess.Popen(
            [envoy_binary(), "-c", str(config_path), "--disable-hot-restart", "--concurrency", "1",
             "--log-level", "info", "--drain-time-s", "0", *self.extra_args],
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.process.returncode} during startup:\n{self.log()}")
            with contextlib.suppress(OSError):
                status, _, body = self.admin_get("/ready", timeout=1)
                # Envoy's own answer, not another server's on a port it failed to bind.
                if status == 200 and body.strip() == "LIVE":
                    return self
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"{self.name} was not ready after {timeout}s:\n{self.log()}")

    def stop(self) -> None:
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            # A worker stuck in a guest loop ignores SIGTERM.
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)

    def __enter__(self) -> "Envoy":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def admin_get(self, path: str, timeout: float = 5) -> tuple[int, dict, str]:
        return http_get(self.admin_port, path, timeout=timeout)

    def prometheus_text(self) -> str:
        status, _, body = self.admin_get("/stats/prometheus")
        if status != 200:
            raise RuntimeError(f"/stats/prometheus answered {status}")
        return body

    def prometheus(self) -> dict[tuple[str, tuple], float]:
        """Samples keyed by (sample name, sorted labels), parsed by prometheus_client."""
        return parse_prometheus(self.prometheus_text())


def parse_prometheus(text: str) -> dict[tuple[str, tuple], float]:
    samples: dict[tuple[str, tuple], float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def http_get(port: int, path: str, headers: dict | None = None, timeout: float = 5) -> tuple[int, dict, str]:
    """One HTTP/1.1 GET to 127.0.0.1:port; returns (status, lower-cased headers, body)."""
    connection = http.client.HTTPConnection(LOOPBACK, port, timeout=timeout)
    try:
        connection.request("GET", path, headers=headers or {})
        response = connection.getresponse()
        body = response.read().decode("utf-8", errors="replace")
        return response.status, {k.lower(): v for k, v in response.getheaders()}, body
    finally:
        connection.close()


# ---------------------------------------------------------------------------
# The application behind the proxy


class UpstreamApp:
    """A threaded HTTP server answering 200 with a JSON echo of the request headers."""

    def __init__(self) -> None:
        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # Headers and body go out in two writes: without TCP_NODELAY the body waits for the
            # proxy's delayed ACK (~40 ms per request on a kept-alive connection).
            disable_nagle_algorithm = True

            def do_GET(self) -> None:  # noqa: N802 (http.server API)
                body = json.dumps({"path": self.path, "headers": dict(self.headers.items())}).encode()
                self.send_response(200)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer((LOOPBACK, 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> "UpstreamApp":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()


class TcpApp:
    """A threaded TCP application on loopback: `handle(rfile, wfile)` serves each connection
    (a `socketserver.StreamRequestHandler`'s files)."""

    def __init__(self, handle) -> None:
        class Handler(socketserver.StreamRequestHandler):
            def handle(self) -> None:
                handle(self.rfile, self.wfile)

        self.server = socketserver.ThreadingTCPServer((LOOPBACK, 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]

    def __enter__(self) -> "TcpApp":
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()


class GrpcApp:
    """A gRPC server on loopback for one service whose methods take and return raw bytes:
    `unary` maps method names to `handler(request, context) -> bytes`, `streams` to
    `handler(request_iterator, context) -> iterator of bytes`. Use as a context manager."""

    def __init__(self, service: str, unary: dict | None = None, streams: dict | None = None) -> None:
        import grpc  # only the tests with gRPC upstreams need it
        from concurrent import futures

        identity = lambda payload: payload  # noqa: E731 (raw bytes in and out)
        handlers = {name: grpc.unary_unary_rpc_method_handler(handler, identity, identity)
                    for name, handler in (unary or {}).items()}
        handlers.update({name: grpc.stream_stream_rpc_method_handler(handler, identity, identity)
                         for name, handler in (streams or {}).items()})
        self.server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
        self.server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(service, handlers),))
        self.port = self.server.add_insecure_port(f"{LOOPBACK}:0")

    def __enter__(self) -> "GrpcApp":
        self.server.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.stop(grace=None)

