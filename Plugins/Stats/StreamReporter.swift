import ProxyWasm
import TelemetryCore

/// What one stream or connection reports from: the peer (metadata exchange's
/// filter state, or the endpoint-metadata fallback), the request facts, and
/// attribute values for configured expressions. Values are read when needed
/// and cached for the stream.
final class StreamReporter: ExpressionEnvironment {
    let root: StatsRoot

    init(root: StatsRoot) { self.root = root }

    /// Whether metadata exchange has not decided yet (no peer id, no sentinel)
    /// on the side whose peer the report waits for: upstream for a source
    /// reporter, downstream otherwise.
    var isWaitingForPeer: Bool {
        Properties.withValue(root.role == .source ? StatsProperty.upstreamPeerID : StatsProperty.downstreamPeerID) { $0 == nil }
    }

    static let unknownPeerID = Array(PeerKeys.unknownPeer.utf8)

    /// The downstream peer, from metadata exchange's filter state.
    func downstreamPeer() -> ReportPeer {
        exchangedPeer(id: StatsProperty.downstreamPeerID, peer: StatsProperty.downstreamPeer)
            ?? ReportPeer.none
    }

    /// The upstream peer: from metadata exchange's filter state, else from
    /// the endpoint's `istio.workload` metadata.
    func upstreamPeer() -> ReportPeer {
        if let exchanged = exchangedPeer(id: StatsProperty.upstreamPeerID, peer: StatsProperty.upstreamPeer) { return exchanged }
        if let workload = root.xds.bytes(StatsProperty.endpointWorkload) {
            if let known = root.endpointPeers.known(workload) { return known }
            let labels = Self.endpointPeer(String(decoding: workload, as: UTF8.self)).map { WorkloadLabels($0) } ?? WorkloadLabels()
            return root.endpointPeers.remember(workload, labels: labels)
        }
        return ReportPeer.none
    }

    /// A peer metadata exchange stored (not the unknown-peer sentinel). Every
    /// stream from one peer carries the same metadata-exchange bytes, so they
    /// are decoded once per peer and served from the root's cache while the
    /// bytes stay the same (a peer that changes is decoded again).
    private func exchangedPeer(id idName: PropertyName, peer peerName: PropertyName) -> ReportPeer? {
        let exchanged = Properties.withValue(idName) { id -> Bool in
            guard let id else { return false }
            return !(id.count == Self.unknownPeerID.count && id.elementsEqual(Self.unknownPeerID))
        }
        guard exchanged, let bytes = Properties.bytes(peerName) else { return nil }
        if let known = root.peers.known(bytes) { return known }
        guard let node = try? FlatNodeCodec.decode(bytes) else { return nil }
        return root.peers.remember(bytes, labels: WorkloadLabels(node))
    }

    /// istiod's `workload;namespace;canonical service;canonical revision;cluster`.
    static func endpointPeer(_ text: String) -> PeerNode? {
        let parts = UTF8Text.split(text, on: UInt8(ascii: ";"))
        guard parts.count >= 4 else { return nil }
        var node = PeerNode()
        node.workloadName = parts[0]
        node.namespace = parts[1]
        var labels: [KeyValue] = []
        if !parts[2].isEmpty { labels.append(KeyValue("service.istio.io/canonical-name", parts[2])) }
        if !parts[3].isEmpty { labels.append(KeyValue("service.istio.io/canonical-revision", parts[3])) }
        node.labels = labels
        if parts.count >= 5 { node.clusterID = parts[4] }
        return node
    }

    /// Attributes Envoy serves as 8-byte integers (the rest read as strings).
    static func isIntAttribute(_ path: [String]) -> Bool {
        guard path.count == 2 else { return false }
        let (root, field) = (path[0], path[1])
        if UTF8Text.equal(root, "request") { return UTF8Text.isListed(field, in: "size, total_size, headers_bytes, duration, time") }
        if UTF8Text.equal(root, "response") {
            return UTF8Text.isListed(field, in: "code, size, total_size, grpc_status, headers_bytes, flags")
        }
        if UTF8Text.isListed(root, in: "destination, source, upstream") { return UTF8Text.equal(field, "port") }
        if UTF8Text.equal(root, "connection") { return UTF8Text.equal(field, "id") }
        return false
    }

    /// Attribute values already read for the current report: an expression
    /// (or two dimensions) naming one attribute twice reads it once.
    private var resolvedPaths: [[String]] = []
    private var resolvedValues: [ExpressionValue?] = []

    /// Starts a report: attributes are read afresh.
    func beginReport() {
        resolvedPaths.removeAll(keepingCapacity: true)
        resolvedValues.removeAll(keepingCapacity: true)
    }

    func resolve(_ path: [String]) -> ExpressionValue? {
        for index in resolvedPaths.indices where UTF8Text.equal(resolvedPaths[index], path) { return resolvedValues[index] }
        let value = read(path)
        resolvedPaths.append(path)
        resolvedValues.append(value)
        return value
    }

    private func read(_ path: [String]) -> ExpressionValue? {
        guard let first = path.first else { return nil }
        if UTF8Text.equal(first, "node") {
            return Self.nodeValue(root.property(path), path: path)
        } else if UTF8Text.equal(first, "xds") {
            // Envoy 1.33+ names; `root.property` falls back to the bare name on older Envoy.
            let field = Array(path.dropFirst())
            guard let name = field.first else { return nil }
            let bytes = root.property(field)
            if UTF8Text.equal(name, "node") { return Self.nodeValue(bytes, path: field) }
            if UTF8Text.equal(name, "listener_direction") {
                guard let bytes, let number = try? PropertyValue.decodeInt64(bytes) else { return nil }
                return .int(number)
            }
            // A metadata message, its filter_metadata map and each filter's
            // Struct are not labels; the fields of a filter's Struct are.
            if field.count < 4, UTF8Text.hasSuffix(name, "_metadata") { return nil }
            return bytes.map { .string(String(decoding: $0, as: UTF8.self)) }
        } else if UTF8Text.equal(first, PeerExchange.upstreamPeer) || UTF8Text.equal(first, PeerExchange.downstreamPeer) {
            guard let bytes = (try? Properties.bytes([first])) ?? nil, let node = try? FlatNodeCodec.decode(bytes) else { return nil }
            var value = Self.peerValue(node)
            for segment in path.dropFirst() {
                guard let next = value.member(segment) else { return nil }
                value = next
            }
            return value
        } else if UTF8Text.isListed(first, in: "request, response, connection, source, destination, upstream, filter_state") {
            guard let bytes = (try? Properties.bytes(path)) ?? nil else { return nil }
            if Self.isIntAttribute(path) {
                guard let number = try? PropertyValue.decodeInt64(bytes) else { return nil }
                return .int(number)
            }
            if path.count == 2 && UTF8Text.equal(path[0], "connection") && UTF8Text.equal(path[1], "mtls") {
                return (try? PropertyValue.decodeBool(bytes)).map { .bool($0) }
            }
            return .string(String(decoding: bytes, as: UTF8.self))
        } else if UTF8Text.isListed(first, in: "route_name, cluster_name") {
            return root.property(path).map { .string(String(decoding: $0, as: UTF8.self)) }
        } else {
            guard path.count == 1, let bytes = (try? Properties.bytes(path)) ?? nil else { return nil }
            return .string(String(decoding: bytes, as: UTF8.self))
        }
    }

    /// `node...` as CEL sees it: the metadata maps (pairs-encoded) as maps,
    /// other fields as strings.
    static func nodeValue(_ bytes: [UInt8]?, path: [String]) -> ExpressionValue? {
        guard let bytes else { return nil }
        if path.count <= 3, let last = path.last, UTF8Text.isListed(last, in: "LABELS, PLATFORM_METADATA, metadata") {
            guard let pairs = try? HeaderPairs.decode(bytes) else { return nil }
            return .map(pairs.map { (key: $0.keyString, value: ExpressionValue.string($0.valueString)) })
        }
        return .string(String(decoding: bytes, as: UTF8.self))
    }

    /// A FlatNode as CEL sees it: fields by name; labels indexable by key, each a `{key, value}` map.
    static func peerValue(_ node: PeerNode) -> ExpressionValue {
        func keyVals(_ pairs: [KeyValue]?) -> ExpressionValue? {
            guard let pairs else { return nil }
            return .map(
                pairs.map {
                    (key: $0.key, value: ExpressionValue.map([(key: "key", value: .string($0.key)), (key: "value", value: .string($0.value))]))
                })
        }
        var fields: [(key: String, value: ExpressionValue)] = []
        let strings: [(String, String?)] = [
            ("name", node.name), ("namespace", node.namespace), ("owner", node.owner),
            ("workload_name", node.workloadName), ("istio_version", node.istioVersion),
            ("mesh_id", node.meshID), ("cluster_id", node.clusterID),
        ]
        for (key, value) in strings { if let value { fields.append((key, .string(value))) } }
        if let labels = keyVals(node.labels) { fields.append(("labels", labels)) }
        if let platform = keyVals(node.platformMetadata) { fields.append(("platform_metadata", platform)) }
        if let containers = node.appContainers { fields.append(("app_containers", .list(containers.map { .string($0) }))) }
        return .map(fields)
    }
}
