// The peer metadata Istio exchanges (`FlatNode` in Istio's node_info.fbs) and
// the conversions between node metadata, the exchanged protobuf Struct and
// the model, with Istio 1.12's exact rules.

/// One key/value pair of LABELS or PLATFORM_METADATA.
public struct KeyValue: Equatable {
    public var key: String
    public var value: String

    public init(_ key: String, _ value: String) {
        self.key = key
        self.value = value
    }
}

/// A workload's identity as exchanged between proxies. `nil` means absent
/// (FlatBuffers readers distinguish absent from empty).
public struct PeerNode: Equatable {
    public var name: String?
    public var namespace: String?
    public var labels: [KeyValue]?
    public var owner: String?
    public var workloadName: String?
    public var platformMetadata: [KeyValue]?
    public var istioVersion: String?
    public var meshID: String?
    public var appContainers: [String]?
    public var clusterID: String?
    /// Istio 1.17+; exchanged only when enabled.
    public var instanceIPs: [String]?

    public init() {}

    /// The string fields, in Istio's order, with their node-metadata keys.
    enum StringField: Int, CaseIterable, NamedByBytes {
        case name, namespace, owner, workloadName, istioVersion, meshID, clusterID

        static let names: StaticString = "NAME, NAMESPACE, OWNER, WORKLOAD_NAME, ISTIO_VERSION, MESH_ID, CLUSTER_ID"
    }

    func string(_ field: StringField) -> String? {
        switch field {
        case .name: return name
        case .namespace: return namespace
        case .owner: return owner
        case .workloadName: return workloadName
        case .istioVersion: return istioVersion
        case .meshID: return meshID
        case .clusterID: return clusterID
        }
    }

    mutating func setString(_ value: String?, _ field: StringField) {
        switch field {
        case .name: name = value
        case .namespace: namespace = value
        case .owner: owner = value
        case .workloadName: workloadName = value
        case .istioVersion: istioVersion = value
        case .meshID: meshID = value
        case .clusterID: clusterID = value
        }
    }

    /// The value of label `key`, if present.
    public func label(_ key: String) -> String? {
        labels?.first { UTF8Text.equal($0.key, key) }?.value
    }
}

/// Splits on ',' without trimming, as Istio does ("" -> [""]).
func splitCommas(_ text: String) -> [String] { UTF8Text.split(text, on: UInt8(ascii: ",")) }

func joinCommas(_ parts: [String]) -> String {
    var text = ""
    for (index, part) in parts.enumerated() {
        if index > 0 { text += "," }
        text += part
    }
    return text
}

func sortedByKey(_ pairs: [KeyValue]) -> [KeyValue] {
    var sorted = pairs
    StableSort.sort(&sorted) { lexicographicallyLess(Array($0.key.utf8), Array($1.key.utf8)) }
    return sorted
}

extension PeerNode {
    /// The local node from its metadata (Istio `extractLocalNodeFlatBuffer`):
    /// string keys only if present; LABELS, PLATFORM_METADATA and
    /// APP_CONTAINERS always present, possibly empty.
    public static func local(
        strings: (String) -> String?, maps: (String) -> [KeyValue]?,
        includeInstanceIPs: Bool = false
    ) -> PeerNode {
        var node = PeerNode()
        for field in StringField.allCases { node.setString(strings(field.name), field) }
        node.labels = sortedByKey(maps("LABELS") ?? [])
        node.platformMetadata = sortedByKey(maps("PLATFORM_METADATA") ?? [])
        if let containers = strings("APP_CONTAINERS") { node.appContainers = splitCommas(containers) } else { node.appContainers = [] }
        if includeInstanceIPs, let ips = strings("INSTANCE_IPS") { node.instanceIPs = splitCommas(ips) }
        return node
    }

    /// The exchanged Struct (Istio `extractStructFromNodeFlatBuffer`): every
    /// present field with its upper-case key; label maps as nested Structs;
    /// lists re-joined with ','.
    public func exchangeStruct() -> ProtoStruct {
        var fields: [(key: String, value: StructValue)] = []
        for field in StringField.allCases {
            if let value = string(field) { fields.append((field.name, .string(value))) }
        }
        if let labels { fields.append(("LABELS", .structure(ProtoStruct(labels.map { ($0.key, StructValue.string($0.value)) })))) }
        if let platformMetadata {
            fields.append(("PLATFORM_METADATA", .structure(ProtoStruct(platformMetadata.map { ($0.key, StructValue.string($0.value)) }))))
        }
        if let appContainers { fields.append(("APP_CONTAINERS", .string(joinCommas(appContainers)))) }
        if let instanceIPs { fields.append(("INSTANCE_IPS", .string(joinCommas(instanceIPs)))) }
        return ProtoStruct(fields)
    }

    /// A received Struct as a node (Istio `extractNodeFlatBufferFromStruct`):
    /// strings via string_value (other kinds become ""); maps keep string
    /// values; vectors only when non-empty; unknown keys ignored.
    public static func fromStruct(_ value: ProtoStruct) -> PeerNode {
        var node = PeerNode()
        for field in value.fields {
            if UTF8Text.equal(field.key, "LABELS") || UTF8Text.equal(field.key, "PLATFORM_METADATA") {
                guard case let .structure(inner) = field.value else { continue }
                var pairs: [KeyValue] = []
                for entry in inner.sortedFields { pairs.append(KeyValue(entry.key, entry.value.stringValue ?? "")) }
                if pairs.isEmpty { continue }
                if UTF8Text.equal(field.key, "LABELS") { node.labels = pairs } else { node.platformMetadata = pairs }
            } else if UTF8Text.equal(field.key, "APP_CONTAINERS") {
                node.appContainers = splitCommas(field.value.stringValue ?? "")
            } else if UTF8Text.equal(field.key, "INSTANCE_IPS") {
                node.instanceIPs = splitCommas(field.value.stringValue ?? "")
            } else if let stringField = StringField(name: field.key) {
                node.setString(field.value.stringValue ?? "", stringField)
            }
        }
        return node
    }

    /// The same node as the TCP prefix carries it (Istio's TCP filter
    /// converts the local Struct, so empty label maps are omitted).
    public func tcpExchangeStruct() -> ProtoStruct {
        var node = self
        if node.labels?.isEmpty == true { node.labels = nil }
        if node.platformMetadata?.isEmpty == true { node.platformMetadata = nil }
        if node.appContainers?.isEmpty == true { node.appContainers = nil }
        return node.exchangeStruct()
    }
}
