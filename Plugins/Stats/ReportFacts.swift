import ProxyWasm
import TelemetryCore

/// The properties one report reads, encoded once.
enum StatsProperty {
    static let routeName = XDSPropertyName(["route_name"])
    static let clusterName = XDSPropertyName(["cluster_name"])
    static let serviceName = XDSPropertyName(["cluster_metadata", "filter_metadata", "istio", "services", "0", "name"])
    static let serviceHost = XDSPropertyName(["cluster_metadata", "filter_metadata", "istio", "services", "0", "host"])
    static let serviceNamespace = XDSPropertyName(["cluster_metadata", "filter_metadata", "istio", "services", "0", "namespace"])
    static let endpointWorkload = XDSPropertyName(["upstream_host_metadata", "filter_metadata", "istio", "workload"])
    static let upstreamLocalPrincipal = PropertyName(["upstream", "uri_san_local_certificate"])
    static let upstreamPeerPrincipal = PropertyName(["upstream", "uri_san_peer_certificate"])
    static let connectionPeerPrincipal = PropertyName(["connection", "uri_san_peer_certificate"])
    static let connectionLocalPrincipal = PropertyName(["connection", "uri_san_local_certificate"])
    static let connectionMTLS = PropertyName(["connection", "mtls"])
    static let responseCode = PropertyName(["response", "code"])
    static let responseFlags = PropertyName(["response", "flags"])
    static let grpcStatus = PropertyName(["response", "grpc_status"])
    static let requestHost = PropertyName(["request", "host"])
    static let requestDuration = PropertyName(["request", "duration"])
    static let requestTotalSize = PropertyName(["request", "total_size"])
    static let responseTotalSize = PropertyName(["response", "total_size"])
    static let grpcMessageCounts = PropertyName(["filter_state", "envoy.filters.http.grpc_stats"])
    static let upstreamPeer = PropertyName([PeerExchange.upstreamPeer])
    static let upstreamPeerID = PropertyName([PeerExchange.upstreamPeerID])
    static let downstreamPeer = PropertyName([PeerExchange.downstreamPeer])
    static let downstreamPeerID = PropertyName([PeerExchange.downstreamPeerID])
}

/// One report's facts as the host returned them, before any string is made:
/// with the peer, everything the report's labels depend on. Two reports with
/// equal facts and the same peer get the same labels, so the facts' bytes
/// (`appendKey`) key the plugin's cache of defined metrics.
struct ReportFacts {
    var isTCP = false
    var isGRPC = false
    var host: [UInt8]?
    var routeName: [UInt8]?
    var clusterName: [UInt8]?
    var serviceName: [UInt8]?
    var serviceHost: [UInt8]?
    var serviceNamespace: [UInt8]?
    var sourcePrincipal: [UInt8]?
    var destinationPrincipal: [UInt8]?
    var mtls: Bool?
    var responseCode: Int64 = 0
    var responseFlags: UInt64 = 0
    var grpcStatus: Int64?

    /// Reads the facts every report has (not the protocol, host or gRPC status).
    /// The principals come from the connection whose peer each label names:
    /// a client sidecar's from its upstream connection, a server sidecar's
    /// from its downstream one; a waypoint's source from downstream and
    /// destination from upstream.
    static func read(role: ReporterRole, xds: XDSAttributes, services: ClusterServices) -> ReportFacts {
        var facts = ReportFacts()
        facts.routeName = xds.bytes(StatsProperty.routeName)
        facts.clusterName = xds.bytes(StatsProperty.clusterName)
        let service = services.service(ofCluster: facts.clusterName, xds: xds)
        facts.serviceName = service.name
        facts.serviceHost = service.host
        facts.serviceNamespace = service.namespace
        switch role {
        case .source:
            facts.sourcePrincipal = Properties.bytes(StatsProperty.upstreamLocalPrincipal)
            facts.destinationPrincipal = Properties.bytes(StatsProperty.upstreamPeerPrincipal)
        case .destination:
            facts.sourcePrincipal = Properties.bytes(StatsProperty.connectionPeerPrincipal)
            facts.destinationPrincipal = Properties.bytes(StatsProperty.connectionLocalPrincipal)
            facts.mtls = Properties.bool(StatsProperty.connectionMTLS)
        case .waypoint:
            facts.sourcePrincipal = Properties.bytes(StatsProperty.connectionPeerPrincipal)
            facts.destinationPrincipal = Properties.bytes(StatsProperty.upstreamPeerPrincipal)
            facts.mtls = Properties.bool(StatsProperty.connectionMTLS)
        }
        facts.responseCode = Properties.int64(StatsProperty.responseCode) ?? 0
        facts.responseFlags = Properties.uint64(StatsProperty.responseFlags) ?? 0
        return facts
    }

    /// The facts as the label rules take them.
    var requestFacts: RequestFacts {
        func text(_ bytes: [UInt8]?) -> String? { bytes.map { String(decoding: $0, as: UTF8.self) } }
        var facts = RequestFacts()
        facts.isTCP = isTCP
        facts.isGRPC = isGRPC
        facts.host = text(host)
        facts.routeName = text(routeName)
        facts.clusterName = text(clusterName)
        facts.serviceName = text(serviceName)
        facts.serviceHost = text(serviceHost)
        facts.serviceNamespace = text(serviceNamespace)
        facts.sourcePrincipal = text(sourcePrincipal) ?? ""
        facts.destinationPrincipal = text(destinationPrincipal) ?? ""
        facts.mtls = mtls
        facts.responseCode = responseCode
        facts.responseFlags = responseFlags
        facts.grpcStatus = grpcStatus
        return facts
    }

    /// Appends an unambiguous encoding of every fact: each byte string with
    /// its length (or a marker for absent), each number in eight bytes.
    func appendKey(to key: inout [UInt8]) {
        key.append((isTCP ? 1 : 0) | (isGRPC ? 2 : 0) | (mtls == nil ? 0 : (mtls! ? 4 : 8)) | (grpcStatus == nil ? 0 : 16))
        for field in [host, routeName, clusterName, serviceName, serviceHost, serviceNamespace, sourcePrincipal, destinationPrincipal] {
            ReportKey.append(field, to: &key)
        }
        ReportKey.append(UInt64(bitPattern: responseCode), to: &key)
        ReportKey.append(responseFlags, to: &key)
        if let grpcStatus { ReportKey.append(UInt64(bitPattern: grpcStatus), to: &key) }
    }
}

/// What a report's labels depend on, as the bytes of a `BytesKey`: the
/// encoded facts and expression values, then the peer's cache slot. Every
/// part has a fixed size or its length in front, so two keys are equal only
/// when all their parts are. (One byte string rather than a struct of the
/// slot and the bytes: the label-set cache then shares the Dictionary code of
/// the module's other byte-keyed caches.)
enum ReportKey {

    static func append(_ bytes: [UInt8]?, to key: inout [UInt8]) {
        guard let bytes else {
            append(UInt64.max, to: &key)
            return
        }
        append(UInt64(bytes.count), to: &key)
        key.append(contentsOf: bytes)
    }

    static func append(_ text: String, to key: inout [UInt8]) {
        var copy = text
        copy.withUTF8 { utf8 in
            append(UInt64(utf8.count), to: &key)
            key.append(contentsOf: utf8)
        }
    }

    static func append(_ number: UInt64, to key: inout [UInt8]) {
        withUnsafeBytes(of: number.littleEndian) { key.append(contentsOf: $0) }
    }
}
