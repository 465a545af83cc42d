import Foundation
import ProxyWasmABI
import ProxyWasmHost
import ProxyWasmTools
import ProxyWasmWasmKit
import TelemetryCore

/// stats.wasm alone on a sidecar with Istio's server (or client) node
/// metadata and no cluster metadata: the Host header is the destination service.
public struct StatsSidecar {
    public let proxy: Proxy
    public let vm: PluginVM
    public let root: UInt32

    /// The tag rules `envoy-config` generates for Istio's default configuration.
    public static let istioTagRules = try! EnvoyStatsConfig.tagRules(pluginConfigurations: [])

    /// Starts stats.wasm as `stats_inbound` (or `stats_outbound`) with `configuration`.
    public init(inbound: Bool = true, configuration: String = "") throws {
        proxy = Sidecar.proxy(
            inbound ? "server" : "client", metadata: inbound ? "server_node_metadata.rendered.json" : "client_node_metadata.rendered.json",
            direction: inbound ? .inbound : .outbound)
        vm = try Sidecar.load("stats", on: proxy, vmID: "stats").vm
        root = try vm.startPlugin(
            PluginConfiguration(
                name: "stats", rootID: inbound ? "stats_inbound" : "stats_outbound",
                configuration: Array(configuration.utf8)))
    }

    /// One GET with `authority` (bytes: a peer may send anything) and a 200, with the stream's filter state.
    @discardableResult
    public func request(authority: [UInt8] = Array("reviews".utf8), state: StreamState = StreamState()) -> HttpStream {
        Self.request(vm, root, authority: authority, state: state)
    }

    /// The same request to any root of any VM.
    @discardableResult
    public static func request(
        _ vm: PluginVM, _ root: UInt32, authority: [UInt8] = Array("reviews".utf8),
        state: StreamState = StreamState()
    ) -> HttpStream {
        let stream = HttpStream(vm: vm, root: root, streamState: state)
        stream.sendRequestHeaders([
            HeaderPair(":method", "GET"), HeaderPair(":path", "/"), HeaderPair(key: Array(":authority".utf8), value: authority),
        ])
        stream.sendResponseHeaders([HeaderPair(":status", "200")])
        stream.complete()
        return stream
    }

    /// The values of every `istio_requests_total` series, added up.
    public var requestsTotal: UInt64 { proxy.stats.stats.filter { $0.name.hasSuffix("istio_requests_total") }.map(\.value).reduce(0, +) }

    /// This proxy's `/stats/prometheus` text under Istio's tag rules.
    public func prometheus() throws -> String {
        try PrometheusRenderer(configuration: EnvoyStatsConfiguration(tags: Self.istioTagRules)).render(proxy.stats)
    }

    /// A peer's filter state as metadata_exchange leaves it on an inbound stream.
    public static func downstreamPeer(_ bytes: [UInt8], id: String = "client") -> StreamState {
        let state = StreamState()
        state.filterState["wasm.downstream_peer_id"] = Array(id.utf8)
        state.filterState["wasm.downstream_peer"] = bytes
        return state
    }
}
