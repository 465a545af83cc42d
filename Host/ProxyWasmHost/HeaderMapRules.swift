import ProxyWasmABI

/// Envoy's rules for a header or trailer map, on plain pairs (no guest
/// memory, no context): keys are stored and matched lower-cased, a lookup
/// answers the first pair with the key, `add` appends another pair,
/// `replace` sets the first pair's value and drops later ones with the same
/// key (or appends), `remove` drops every pair with the key. The host-call
/// handlers in `HeaderMapCalls.swift` only move bytes between the guest and these.
public enum HeaderMapRules {
    /// ASCII upper case to lower case; other bytes as they are (Envoy's `LowerCaseString`).
    public static func lowercased(_ bytes: [UInt8]) -> [UInt8] {
        bytes.map { $0 >= 0x41 && $0 <= 0x5A ? $0 + 0x20 : $0 }
    }

    /// Pairs as Envoy's header maps hold them: keys lower-cased.
    public static func lowercasedKeys(_ pairs: [HeaderPair]) -> [HeaderPair] {
        pairs.map { HeaderPair(key: lowercased($0.key), value: $0.value) }
    }

    /// Serialized pairs from a guest as Envoy reads them (`toPairs`): keys
    /// lower-cased; malformed bytes read as an empty map.
    public static func decode(_ bytes: [UInt8]) -> [HeaderPair] {
        lowercasedKeys((try? HeaderPairs.decode(bytes)) ?? [])
    }

    /// The value of the first pair whose key is `key` (any case), nil if none.
    public static func value(of key: [UInt8], in pairs: [HeaderPair]) -> [UInt8]? {
        let lowered = lowercased(key)
        return pairs.first(where: { $0.key == lowered })?.value
    }

    /// `proxy_add_header_map_value`: one more pair, after the others.
    public static func add(_ key: [UInt8], _ value: [UInt8], to pairs: inout [HeaderPair]) {
        pairs.append(HeaderPair(key: lowercased(key), value: value))
    }

    /// `proxy_replace_header_map_value`: the first pair with the key takes the
    /// value and keeps its place, later ones go; without one, the pair is appended.
    public static func replace(_ key: [UInt8], _ value: [UInt8], in pairs: inout [HeaderPair]) {
        let lowered = lowercased(key)
        guard let index = pairs.firstIndex(where: { $0.key == lowered }) else {
            pairs.append(HeaderPair(key: lowered, value: value))
            return
        }
        pairs[index].value = value
        pairs = pairs.enumerated().filter { $0.offset == index || $0.element.key != lowered }.map(\.element)
    }

    /// `proxy_remove_header_map_value`: every pair with the key goes.
    public static func remove(_ key: [UInt8], from pairs: inout [HeaderPair]) {
        let lowered = lowercased(key)
        pairs.removeAll { $0.key == lowered }
    }

    /// `proxy_get_header_map_size`: the bytes of every key and value.
    public static func byteSize(_ pairs: [HeaderPair]) -> Int {
        pairs.reduce(0) { $0 + $1.key.count + $1.value.count }
    }
}
