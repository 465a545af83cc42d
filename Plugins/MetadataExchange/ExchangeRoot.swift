import ProxyWasm
import TelemetryCore

/// Names shared by the HTTP and TCP exchanges.
enum Exchange {
    static let metadataHeader = Array(PeerExchange.metadataHeader.utf8)
    static let idHeader = Array(PeerExchange.idHeader.utf8)
    static let downstreamPeer = PropertyName([PeerExchange.downstreamPeer])
    static let downstreamPeerID = PropertyName([PeerExchange.downstreamPeerID])
    static let upstreamPeer = PropertyName([PeerExchange.upstreamPeer])
    static let upstreamPeerID = PropertyName([PeerExchange.upstreamPeerID])
    /// Istio's value for a peer id that could not be learned (TCP).
    static let unknownPeer = Array("envoy.wasm.metadata_exchange.peer_unknown".utf8)
    static let listenerDirection = XDSPropertyName(["listener_direction"])
    static let clusterName = XDSPropertyName(["cluster_name"])
    static let clusterExternal = XDSPropertyName(["cluster_metadata", "filter_metadata", "istio", "external"])
    static let passthroughCluster = Array("PassthroughCluster".utf8)
    /// The URI SAN prefix of mesh workload certificates.
    static let spiffePrefix: [UInt8] = Array("spiffe://".utf8)
    /// Headers larger than this are not decoded (Envoy's default header limit is 60 KiB).
    static let maxHeaderBytes = 64 * 1024
}

/// The kinds of problem a peer or a connection can cause. Logged once each
/// per configuration; a fixed set, whatever peers send.
enum ExchangeProblem: Int, CaseIterable {
    case unknownDirection, plaintext, notAMeshUpstream, serverSpokeFirst, writePrefix, readData, earlyClose, drainPrefix
    /// The first bytes of a connection are not a prefix (one kind per `TCPPrefix.Rejection` case).
    case magicMismatch, oversizedPrefix, malformedPrefix, prefixNotAStruct
    case oversizedHeader, base64Header, protobufHeader

    init(_ rejection: TCPPrefix.Rejection) {
        switch rejection {
        case .magicMismatch: self = .magicMismatch
        case .oversized: self = .oversizedPrefix
        case .malformedPayload: self = .malformedPrefix
        case .notAStruct: self = .prefixNotAStruct
        }
    }
}

/// One plugin instance: the local node, its encoded forms (computed once per
/// configuration), the peer cache and the TCP counters. Serves HTTP filter
/// streams and network filter connections alike (`.automatic`).
final class ExchangeRoot: RootContext {
    var configuration = ExchangeConfiguration()
    var nodeID = ""
    var localNode = PeerNode()
    /// `x-envoy-peer-metadata` value: base64 of the deterministic Struct.
    var headerValue: [UInt8] = []
    /// The node id, as the `x-envoy-peer-metadata-id` value.
    var nodeIDBytes: [UInt8] = []
    /// The TCP `istio-peer-exchange` prefix.
    var tcpPrefix: [UInt8] = []
    /// Decoded peers: HTTP by peer id (checked against the header bytes),
    /// TCP by the exact prefix payload.
    var cache = PeerCache(capacity: 500)
    private let metrics = MetricCache()
    var alpnProtocolFound: Metric?
    var initialHeaderNotFound: Metric?
    var headerNotFound: Metric?
    var metadataAdded: Metric?
    private let xds = XDSAttributes()
    /// Problems already logged: each kind once per configuration, so peers
    /// cannot flood the log; the kinds are a fixed set, so this stays bounded.
    private var loggedProblems = [Bool](repeating: false, count: ExchangeProblem.allCases.count)

    override var streamKind: StreamKind { .automatic }

    override func onVmStart(vmConfigurationSize: Int) -> Bool {
        Log.info("metadata_exchange \(ProjectVersion.text) starting")
        return true
    }

    override func onConfigure(pluginConfigurationSize: Int) -> Bool {
        let bytes: [UInt8]
        do throws(HostError) {
            bytes = pluginConfigurationSize == 0 ? [] : try pluginConfiguration()
        } catch {
            Log.error("metadata_exchange: cannot read the plugin configuration: \(error.status.name)")
            return false
        }
        do throws(ExchangeConfigurationError) {
            configuration = try ExchangeConfiguration.parse(bytes)
        } catch {
            Log.error("metadata_exchange: invalid configuration: \(error.message)")
            return false
        }
        cache = PeerCache(capacity: configuration.maxPeerCacheSize)
        loggedProblems = [Bool](repeating: false, count: ExchangeProblem.allCases.count)
        nodeID = nodeString(["id"]) ?? ""
        localNode = PeerNode.local(
            strings: { self.nodeString(["metadata", $0]) },
            maps: { self.nodeMap(["metadata", $0]) },
            includeInstanceIPs: configuration.exchangeInstanceIPs)
        headerValue = Base64.encode(StructCodec.encode(localNode.exchangeStruct()))
        nodeIDBytes = Array(nodeID.utf8)
        tcpPrefix = TCPPrefix.encode(node: localNode.tcpExchangeStruct(), id: nodeID)
        do throws(HostError) {
            alpnProtocolFound = try metrics.metric(.counter, "metadata_exchange.alpn_protocol_found")
            initialHeaderNotFound = try metrics.metric(.counter, "metadata_exchange.initial_header_not_found")
            headerNotFound = try metrics.metric(.counter, "metadata_exchange.header_not_found")
            metadataAdded = try metrics.metric(.counter, "metadata_exchange.metadata_added")
        } catch {
            Log.error("metadata_exchange: cannot define metrics: \(error.status.name)")
            return false
        }
        if nodeID.isEmpty && localNode.name == nil {
            Log.warn("metadata_exchange: the node has no id and no metadata NAME; peers will see an empty identity")
        }
        if !declaredPeers {
            PeerPropertyDeclaration.declarePeers()
            declaredPeers = true
        }
        return true
    }

    /// Whether this root declared the peer properties (once: Envoy keeps declarations per root).
    private var declaredPeers = false

    override func createHttpContext(id: UInt32) -> HttpContext? { HttpExchange(id: id, root: self) }

    override func createTcpContext(id: UInt32) -> TcpContext? { TcpExchange(id: id, root: self) }

    // MARK: properties, `xds.` first, bare names as fallback

    /// `xds.<path>` on current Envoy, `<path>` on older Envoy.
    func property(_ path: [String]) -> [UInt8]? { xds.bytes(path) }

    func nodeString(_ path: [String]) -> String? { xds.string(["node"] + path) }

    func nodeMap(_ path: [String]) -> [KeyValue]? {
        xds.map(["node"] + path).map { $0.map { KeyValue($0.keyString, $0.valueString) } }
    }

    /// The listener direction of the current stream.
    func direction() -> TrafficDirection {
        guard let raw = xds.int64(Exchange.listenerDirection) else { return .unspecified }
        return TrafficDirection(rawValue: raw) ?? .unspecified
    }

    /// Whether the current stream goes to a destination outside the mesh:
    /// Istio's PassthroughCluster, or a cluster istiod marked
    /// `filter_metadata.istio.external: true`. Our metadata is not sent there.
    func upstreamIsExternal() -> Bool {
        if let name = xds.bytes(Exchange.clusterName), name == Exchange.passthroughCluster { return true }
        guard let external = xds.bytes(Exchange.clusterExternal) else { return false }
        return external == [1] || external == Array("true".utf8)
    }

    /// Logs `problem` at debug level the first time a problem of this kind happens.
    func noteOnce(_ kind: ExchangeProblem, _ problem: @autoclosure () -> String) {
        if loggedProblems[kind.rawValue] { return }
        loggedProblems[kind.rawValue] = true
        Self.note(problem())
    }

    /// Logs a problem noted once. Out of line, so that each `noteOnce` call
    /// site (which the optimizer specializes for its message) does not copy it.
    @inline(never)
    private static func note(_ problem: String) {
        Log.debug("metadata_exchange: \(problem) (further occurrences are not logged)")
    }

    /// A peer-chosen id as it may appear in a log line: at most 64 bytes.
    static func loggable(_ id: [UInt8]) -> String {
        id.count <= 64 ? String(decoding: id, as: UTF8.self) : String(decoding: id.prefix(64), as: UTF8.self) + "..."
    }

    /// Stores a peer received as a header value: from the cache when these
    /// exact bytes were decoded before for this id, else decoded (base64 -> Struct ->
    /// FlatNode). Undecodable metadata stores nothing.
    func storePeer(_ key: PropertyName, id: [UInt8], headerValue: [UInt8]) {
        if headerValue.count > Exchange.maxHeaderBytes {
            noteOnce(.oversizedHeader, "ignored a \(headerValue.count)-byte peer metadata header from \(Self.loggable(id))")
            return
        }
        if let cached = cache.lookup(id: id, metadata: headerValue) {
            try? Properties.set(key, cached)
            return
        }
        guard let decoded = Base64.decode(headerValue) else {
            noteOnce(.base64Header, "peer metadata from \(Self.loggable(id)) is not valid base64")
            return
        }
        let peer: ProtoStruct
        do throws(ProtobufError) {
            peer = try StructCodec.decodeStruct(decoded)
        } catch {
            noteOnce(.protobufHeader, "peer metadata from \(Self.loggable(id)) is not a protobuf Struct: \(error.message)")
            return
        }
        let node = FlatNodeCodec.encode(PeerNode.fromStruct(peer))
        try? Properties.set(key, node)
        cache.insert(id: id, metadata: headerValue, node: node)
    }
}

/// The plugin's entry points, for the module that links it
/// (Plugins/Modules: alone, or with the other plugin in one module).
public enum MetadataExchangePlugin {
    /// The callbacks the plugin handles (`ModuleExports`): both header phases
    /// and a connection's. Its module exports no body, trailer, `on_log` or
    /// `on_done` callback: between creating and deleting a stream's context,
    /// Envoy enters it only for the two header phases.
    public static let callbacks: Set<String> = ModuleExports.connectionCallbacks.union([
        "proxy_on_request_headers", "proxy_on_response_headers",
    ])

    /// A root context for one plugin configuration.
    public static func makeRoot(id: UInt32) -> RootContext { ExchangeRoot(id: id) }

    /// Registers the plugin as the module's only one.
    public static func register() {
        ProxyWasm.setRootContextFactory { makeRoot(id: $0) }
    }
}
