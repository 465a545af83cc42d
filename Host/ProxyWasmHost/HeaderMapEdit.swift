import ProxyWasmABI

/// One change a plugin asks of a header or trailer map, as a value: the three
/// host calls that change single headers differ only in this.
enum HeaderMapEdit {
    case add(key: [UInt8], value: [UInt8])
    case replace(key: [UInt8], value: [UInt8])
    case remove(key: [UInt8])

    /// The host call that asks for this edit, as traces name it.
    var callName: String {
        switch self {
        case .add: "proxy_add_header_map_value"
        case .replace: "proxy_replace_header_map_value"
        case .remove: "proxy_remove_header_map_value"
        }
    }

    var key: [UInt8] {
        switch self {
        case .add(let key, _), .replace(let key, _), .remove(let key): key
        }
    }

    /// The value the edit writes; nil for a removal.
    var value: [UInt8]? {
        switch self {
        case .add(_, let value), .replace(_, let value): value
        case .remove: nil
        }
    }

    /// The edit under Envoy's rules (`HeaderMapRules`).
    func apply(to pairs: inout [HeaderPair]) {
        switch self {
        case .add(let key, let value): HeaderMapRules.add(key, value, to: &pairs)
        case .replace(let key, let value): HeaderMapRules.replace(key, value, in: &pairs)
        case .remove(let key): HeaderMapRules.remove(key, from: &pairs)
        }
    }
}
