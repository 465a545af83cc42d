"""The HeaderStamp example in one Envoy: shared by the tests and `make run`."""

from __future__ import annotations

import json

import harness

NODE_NAME = "swift-example-pod"


def configuration(**fields: str) -> str:
    return json.dumps(fields)


def bootstrap(app_port: int, plugin_configuration: str | None, *, admin_port: int | None = None,
              listener_port: int | None = None, module: str = "header_stamp") -> dict:
    """Envoy with one HTTP listener -> HeaderStamp filter -> router -> the app."""
    plugin = harness.wasm_plugin_config("header_stamp", harness.wasm_module(module),
                                        configuration=plugin_configuration)
    return harness.bootstrap(
        admin_port=admin_port or harness.free_port(),
        node={"id": "sidecar~127.0.0.1~example.default~cluster.local", "cluster": "example",
              "metadata": {"NAME": NODE_NAME, "NAMESPACE": "default"}},
        listeners=[harness.http_listener("ingress", listener_port or harness.free_port(), "app",
                                         [harness.http_wasm_filter(plugin)])],
        clusters=[harness.static_cluster("app", app_port)],
    )


def listener_port(config: dict) -> int:
    return config["static_resources"]["listeners"][0]["address"]["socket_address"]["port_value"]
