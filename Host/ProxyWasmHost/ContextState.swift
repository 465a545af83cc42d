import ProxyWasmABI
import TelemetryCore

/// How each header map can be reached in the current callback (Envoy keeps
/// raw pointers only while the stream holds the map).
public enum MapAccess: Equatable, Sendable {
    /// BadArgument for value calls, empty for `get_header_map_pairs`.
    case unavailable
    /// NotFound (request trailers in the access-log phase).
    case notFound
    case readOnly
    case mutable
}

/// Host-side state of one context.
public final class ContextState {
    public enum Kind: String, Sendable { case root, http, tcp }

    public let id: UInt32
    public let rootID: UInt32
    public let kind: Kind
    /// Header maps by `HeaderMapType`, as the wire sees them.
    public internal(set) var headerMaps: [HeaderMapType: [HeaderPair]] = [:]
    var mapAccess: [HeaderMapType: MapAccess] = [:]
    /// The data a buffer call sees right now (nil: NotFound).
    var buffers: [BufferType: [UInt8]] = [:]
    var mutableBuffers: Set<BufferType> = []
    /// `request.*`, `connection.*`, `xds.cluster_name`, ... for this stream.
    public var streamProperties: PropertyNode?
    /// The stream's shared state (filter state), common to all plugins on the stream.
    public let stream: StreamState
    /// Filter state by full key (`wasm.<name>`).
    public internal(set) var filterState: [String: [UInt8]] {
        get { stream.filterState }
        set { stream.filterState = newValue }
    }
    public internal(set) var localResponse: LocalResponse?
    /// `proxy_continue_stream` / `proxy_close_stream` calls, in order.
    public internal(set) var streamActions: [StreamAction] = []
    /// Root contexts: what `proxy_get_status` reads (set before a failed HTTP
    /// call-out response and before `proxy_on_grpc_close`).
    var statusCode: UInt32 = 0
    var statusMessage: [UInt8] = []

    init(id: UInt32, rootID: UInt32, kind: Kind, stream: StreamState = StreamState()) {
        self.id = id
        self.rootID = rootID
        self.kind = kind
        self.stream = stream
    }

    func access(_ map: HeaderMapType) -> MapAccess { mapAccess[map] ?? .unavailable }
}
