import ProxyWasmABI
import TelemetryCore

/// What Envoy keeps per stream across all its filters: the filter state.
/// Every plugin on the same stream of a proxy shares one (metadata exchange
/// writes `wasm.upstream_peer`, stats reads it).
public final class StreamState {
    public var filterState: [String: [UInt8]] = [:]
    /// How each `wasm.<name>` entry was declared by the plugin that set it
    /// (Envoy keeps the prototype with the filter-state object, so every
    /// plugin reading it sees the declared type).
    public var declarations: [String: DeclaredProperty] = [:]
    /// Envoy's id of the downstream connection (one per stream or connection
    /// here), shared by every plugin that sees it; given by the proxy on first use.
    public var connectionID: UInt64?
    public init() {}
}
