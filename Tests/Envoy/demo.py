"""`make run`: the HeaderStamp example through a real Envoy, narrated.

Starts an application and an Envoy with build/wasm/header_stamp.wasm as an HTTP
filter, sends a few requests, and prints what the plugin did: the header it
added, the request it denied, and its metrics in Envoy's Prometheus output.
"""

from __future__ import annotations

import harness
import header_stamp_setup as setup


def main() -> None:
    with harness.UpstreamApp() as app:
        plugin_configuration = setup.configuration(header="x-swift-stamp", value="hello",
                                                   deny_path_prefix="/admin")
        config = setup.bootstrap(app.port, plugin_configuration)
        port = setup.listener_port(config)
        print(f"module:        {harness.wasm_module('header_stamp')}")
        print(f"configuration: {plugin_configuration}")
        with harness.Envoy(config, name="header_stamp") as envoy:
            print(f"envoy:         listening on 127.0.0.1:{port}, admin on :{envoy.admin_port}\n")
            for path in ["/productpage", "/reviews/1", "/admin/config"]:
                status, headers, _ = harness.http_get(port, path)
                stamp = headers.get("x-swift-stamp", "-")
                print(f"GET {path:<16} -> {status}   x-swift-stamp: {stamp}")
            print("\n/stats/prometheus (plugin metrics):")
            for line in envoy.prometheus_text().splitlines():
                if line.startswith(("header_stamp_", "# TYPE header_stamp_")):
                    print(f"  {line}")
            print("\nplugin log lines:")
            for line in envoy.log().splitlines():
                if "wasm log" in line and "header_stamp" in line:
                    print(f"  {line.split('wasm log', 1)[1].strip()}")


if __name__ == "__main__":
    main()
