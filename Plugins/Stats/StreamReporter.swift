import ProxyWasm
import TelemetryCore

/// What one stream or connection reports from: the peer (metadata exchange's
/// filter state, or the endpoint-metadata fallback), the request facts, and
/// attribute values for configured expressions. Values are read when needed
/// and cached for the stream.
final class StreamReporter: ExpressionEnvironment {
    let root: StatsRoot
    private var peerCache: (loaded: Bool, node: PeerNode?) = (false, nil)

    init(root: StatsRoot) { self.root = root }

    /// Forgets the cached peer (a TCP connection learns it after opening).
    func resetPeer() { peerCache = (false, nil) }

    /// Whether metadata exchange has not decided yet (no peer id, no sentinel).
    var isWaitingForPeer: Bool { ((try? Properties.bytes([peerKey + "_id"])) ?? nil) == nil }

    var peerKey: String { root.outbound ? "upstream_peer" : "downstream_peer" }

    /// The peer node: from metadata exchange's filter state; for upstream
    /// peers, from the endpoint's `istio.workload` metadata as a fallback.
    func peer() -> PeerNode? {
        if peerCache.loaded { return peerCache.node }
        peerCache.loaded = true
        let id = (try? Properties.string([peerKey + "_id"])) ?? nil
        if let id, id != PeerKeys.unknownPeer, let bytes = try? Properties.bytes([peerKey]) ?? nil,
           let node = try? FlatNodeCodec.decode(bytes) {
            peerCache.node = node
            return node
        }
        if root.outbound, let workload = root.property(["upstream_host_metadata", "filter_metadata", "istio", "workload"]) {
            peerCache.node = Self.endpointPeer(String(decoding: workload, as: UTF8.self))
        }
        return peerCache.node
    }

    /// The peer's workload labels. Every stream from one peer carries the same
    /// metadata-exchange bytes, so they are decoded once per peer and reused
    /// while the bytes stay the same (a peer that changes is decoded again).
    func peerLabels() -> WorkloadLabels {
        let id = (try? Properties.string([peerKey + "_id"])) ?? nil
        if let id, id != PeerKeys.unknownPeer, let bytes = (try? Properties.bytes([peerKey])) ?? nil {
            if let cached = root.peerLabels[id], sameBytes(cached.bytes, bytes) { return cached.labels }
            if let node = try? FlatNodeCodec.decode(bytes) {
                peerCache = (true, node)
                let labels = WorkloadLabels(node)
                root.rememberPeer(id: id, bytes: bytes, labels: labels)
                return labels
            }
        }
        return peer().map { WorkloadLabels($0) } ?? WorkloadLabels()
    }

    /// istiod's `workload;namespace;canonical service;canonical revision;cluster`.
    static func endpointPeer(_ text: String) -> PeerNode? {
        var parts: [String] = []
        var current = ""
        for character in text {
            if character == ";" { parts.append(current); current = "" } else { current.append(character) }
        }
        parts.append(current)
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

    func string(_ path: [String]) -> String? { (try? Properties.string(path)) ?? nil }

    func facts() -> RequestFacts {
        var facts = RequestFacts()
        facts.routeName = root.property(["route_name"]).map { String(decoding: $0, as: UTF8.self) }
        facts.clusterName = root.property(["cluster_name"]).map { String(decoding: $0, as: UTF8.self) }
        let service = ["cluster_metadata", "filter_metadata", "istio", "services", "0"]
        facts.serviceName = root.property(service + ["name"]).map { String(decoding: $0, as: UTF8.self) }
        facts.serviceHost = root.property(service + ["host"]).map { String(decoding: $0, as: UTF8.self) }
        if root.outbound {
            facts.sourcePrincipal = string(["upstream", "uri_san_local_certificate"]) ?? ""
            facts.destinationPrincipal = string(["upstream", "uri_san_peer_certificate"]) ?? ""
        } else {
            facts.sourcePrincipal = string(["connection", "uri_san_peer_certificate"]) ?? ""
            facts.destinationPrincipal = string(["connection", "uri_san_local_certificate"]) ?? ""
            facts.mtls = (try? Properties.bool(["connection", "mtls"])) ?? nil
        }
        facts.responseCode = ((try? Properties.int64(["response", "code"])) ?? nil) ?? 0
        facts.responseFlags = ((try? Properties.uint64(["response", "flags"])) ?? nil) ?? 0
        return facts
    }


    static let intAttributes: Set<String> = [
        "request.size", "request.total_size", "request.headers_bytes", "request.duration", "request.time",
        "response.code", "response.size", "response.total_size", "response.grpc_status", "response.headers_bytes",
        "destination.port", "source.port", "upstream.port", "connection.id", "response.flags",
    ]

    func resolve(_ path: [String]) -> ExpressionValue? {
        guard let first = path.first else { return nil }
        switch first {
        case "node":
            guard let bytes = root.property(path) else { return nil }
            if path.count <= 3 && (path.last == "LABELS" || path.last == "PLATFORM_METADATA" || path.last == "metadata") {
                guard let pairs = try? HeaderPairs.decode(bytes) else { return nil }
                return .map(pairs.map { (key: $0.keyString, value: ExpressionValue.string($0.valueString)) })
            }
            return .string(String(decoding: bytes, as: UTF8.self))
        case "upstream_peer", "downstream_peer":
            guard let bytes = (try? Properties.bytes([first])) ?? nil, let node = try? FlatNodeCodec.decode(bytes) else { return nil }
            var value = Self.peerValue(node)
            for segment in path.dropFirst() {
                guard let next = value.member(segment) else { return nil }
                value = next
            }
            return value
        case "request", "response", "connection", "source", "destination", "upstream", "filter_state":
            guard let bytes = (try? Properties.bytes(path)) ?? nil else { return nil }
            var dotted = ""
            for (index, segment) in path.enumerated() { dotted += (index > 0 ? "." : "") + segment }
            if Self.intAttributes.contains(dotted) {
                guard let number = try? PropertyValue.decodeInt64(bytes) else { return nil }
                return .int(number)
            }
            if dotted == "connection.mtls" { return (try? PropertyValue.decodeBool(bytes)).map { .bool($0) } }
            return .string(String(decoding: bytes, as: UTF8.self))
        case "route_name", "cluster_name":
            return root.property(path).map { .string(String(decoding: $0, as: UTF8.self)) }
        default:
            guard path.count == 1, let bytes = (try? Properties.bytes(path)) ?? nil else { return nil }
            return .string(String(decoding: bytes, as: UTF8.self))
        }
    }

    /// A FlatNode as CEL sees it: fields by name; labels indexable by key, each a `{key, value}` map.
    static func peerValue(_ node: PeerNode) -> ExpressionValue {
        func keyVals(_ pairs: [KeyValue]?) -> ExpressionValue? {
            guard let pairs else { return nil }
            return .map(pairs.map { (key: $0.key, value: ExpressionValue.map([(key: "key", value: .string($0.key)), (key: "value", value: .string($0.value))])) })
        }
        var fields: [(key: String, value: ExpressionValue)] = []
        let strings: [(String, String?)] = [("name", node.name), ("namespace", node.namespace), ("owner", node.owner),
                                            ("workload_name", node.workloadName), ("istio_version", node.istioVersion),
                                            ("mesh_id", node.meshID), ("cluster_id", node.clusterID)]
        for (key, value) in strings { if let value { fields.append((key, .string(value))) } }
        if let labels = keyVals(node.labels) { fields.append(("labels", labels)) }
        if let platform = keyVals(node.platformMetadata) { fields.append(("platform_metadata", platform)) }
        if let containers = node.appContainers { fields.append(("app_containers", .list(containers.map { .string($0) }))) }
        return .map(fields)
    }
}
