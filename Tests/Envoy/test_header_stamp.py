"""HeaderStamp in a real Envoy 1.40 (V8): header, 403, metrics, bad configuration."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import harness
import header_stamp_setup as setup


@pytest.fixture(scope="module")
def app():
    with harness.UpstreamApp() as upstream:
        yield upstream


@pytest.fixture(scope="module")
def envoy(app):
    config = setup.bootstrap(app.port, setup.configuration(header="x-swift-stamp", value="hello",
                                                           deny_path_prefix="/admin"))
    with harness.Envoy(config, name="header_stamp") as proxy:
        proxy.listener_port = setup.listener_port(config)
        yield proxy


def test_response_header_carries_configured_value_and_node_name(envoy):
    status, headers, body = harness.http_get(envoy.listener_port, "/hello")
    assert status == 200, envoy.log()
    assert '"path": "/hello"' in body  # the app answered, through the proxy
    assert headers.get("x-swift-stamp") == f"hello; node={setup.NODE_NAME}"


def test_configured_path_prefix_is_denied_locally(envoy):
    status, headers, body = harness.http_get(envoy.listener_port, "/admin/users")
    assert status == 403
    assert body == "denied by header_stamp\n"


def test_metrics_count_requests_and_denials_in_prometheus(envoy):
    before = envoy.prometheus()
    for path in ["/a", "/b", "/admin", "/c"]:
        harness.http_get(envoy.listener_port, path)
    after = envoy.prometheus()

    def delta(name: str) -> float:
        key = (name, ())
        return after[key] - before.get(key, 0)

    assert delta("header_stamp_requests_total") == 4
    assert delta("header_stamp_denied_total") == 1
    # The text renders the Wasm custom namespace without `envoy_` or `wasmcustom`.
    text = envoy.prometheus_text()
    assert "# TYPE header_stamp_requests_total counter" in text


def test_malformed_configuration_is_rejected_with_a_precise_log_line(app):
    config = setup.bootstrap(app.port, '{"header": 5}')
    result = harness.validate(config)
    assert not result.ok
    assert 'header_stamp: invalid configuration: field "header" must be a string, found number' in result.log
    # Rejected by proxy_on_configure returning false, not by a trap.
    assert "Failed to configure base Wasm plugin" in result.log
    assert "RuntimeError" not in result.log


def test_invalid_json_is_rejected_with_its_offset(app):
    result = harness.validate(setup.bootstrap(app.port, '{"value": "x",}'))
    assert not result.ok
    assert "header_stamp: invalid configuration: invalid JSON at byte 14: expected a member name in quotes" in result.log


def all_modules() -> list[Path]:
    directory = Path(os.environ.get("WASM_DIR", Path(__file__).resolve().parents[2] / "build" / "wasm"))
    return sorted(directory.glob("*.wasm"))


@pytest.mark.parametrize("module", all_modules(), ids=lambda path: path.name)
def test_envoy_validate_accepts_every_built_module(app, module):
    plugin = harness.wasm_plugin_config(module.stem, module)
    config = harness.bootstrap(
        admin_port=harness.free_port(),
        listeners=[harness.http_listener("ingress", harness.free_port(), "app",
                                         [harness.http_wasm_filter(plugin)])],
        clusters=[harness.static_cluster("app", app.port)],
    )
    result = harness.validate(config)
    assert result.ok, result.log
