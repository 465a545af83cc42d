// telemetry.wasm: metadata exchange and stats in one module, so a sidecar
// that configures both with the same `vm_id` runs one Wasm VM per thread
// instead of two (half the VM memory, one module to compile at startup).
// A plugin configuration whose root id starts with `stats` (Istio's
// `stats_outbound`, `stats_inbound`) gets the stats plugin; any other root
// id gets metadata exchange.
import MetadataExchange
import ProxyWasm
import Stats

#if arch(wasm32)
@_cdecl("proxy_wasm_swift_main")
func proxyWasmSwiftMain() {
    ProxyWasm.setRootContextFactory { id in
        // A local, not a global: main.swift's globals are set by top-level
        // code, which a reactor module never runs.
        let statsPrefix: [UInt8] = [0x73, 0x74, 0x61, 0x74, 0x73]  // "stats"
        let rootID = Properties.bytes(PropertyName(["plugin_root_id"])) ?? []
        return rootID.starts(with: statsPrefix) ? StatsPlugin.makeRoot(id: id) : MetadataExchangePlugin.makeRoot(id: id)
    }
}
#endif
