// metadata_exchange.wasm: the metadata-exchange plugin alone. A proxy-wasm
// module is a reactor: the host never calls `main`; everything starts at the
// SDK's exports, which call `proxy_wasm_swift_main` once to register the plugin.
import MetadataExchange

#if arch(wasm32)
@_cdecl("proxy_wasm_swift_main")
func proxyWasmSwiftMain() { MetadataExchangePlugin.register() }
#endif
