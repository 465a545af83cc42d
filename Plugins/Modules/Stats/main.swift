// stats.wasm: the stats plugin alone. A proxy-wasm module is a reactor: the
// host never calls `main`; everything starts at the SDK's exports, which
// call `proxy_wasm_swift_main` once to register the plugin.
import Stats

#if arch(wasm32)
@_cdecl("proxy_wasm_swift_main")
func proxyWasmSwiftMain() { StatsPlugin.register() }
#endif
