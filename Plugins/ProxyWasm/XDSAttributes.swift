// Envoy 1.33 moved the Wasm-only attributes (`node`, `listener_direction`,
// `cluster_name`, `cluster_metadata`, `route_name`, `upstream_host_metadata`,
// ...) under `xds.`; older Envoy (and Istio's proxies built on it) answer only
// the bare names. This reader asks for `xds.<path>` first, falls back to
// `<path>`, and remembers which one the host answers so later reads cost one
// host call.

/// Reads Envoy's renamed attributes on old and new Envoy alike.
public final class XDSAttributes {
    /// nil until a read succeeds; then whether the host uses `xds.` names.
    public private(set) var usesXDSNames: Bool?

    public init() {}

    /// The raw value of `xds.<path>` (or `<path>` on older Envoy), nil if absent.
    public func bytes(_ path: [String]) -> [UInt8]? { bytes(XDSPropertyName(path)) }

    /// The raw value of a precomputed `XDSPropertyName` (paths read on every request).
    public func bytes(_ name: XDSPropertyName) -> [UInt8]? { read(name, Properties.bytes) }

    /// An int64 attribute (8 bytes little-endian), nil if absent or malformed.
    public func int64(_ name: XDSPropertyName) -> Int64? { read(name, Properties.int64) }

    /// `xds.<path>` first unless the host is known to use bare names, then `<path>`.
    private func read<Value>(_ name: XDSPropertyName, _ get: (PropertyName) -> Value?) -> Value? {
        if usesXDSNames != false, let value = get(name.current) {
            usesXDSNames = true
            return value
        }
        if usesXDSNames != true, let value = get(name.legacy) {
            usesXDSNames = false
            return value
        }
        return nil
    }

    /// A string attribute.
    public func string(_ path: [String]) -> String? {
        bytes(path).map { String(decoding: $0, as: UTF8.self) }
    }

    /// A map attribute (pairs-encoded), nil if absent or malformed.
    public func map(_ path: [String]) -> [HeaderPair]? {
        guard let bytes = bytes(path) else { return nil }
        return try? HeaderPairs.decode(bytes)
    }
}

/// An attribute's path encoded once under both names, for attributes read on
/// every request.
public struct XDSPropertyName: Sendable {
    /// `xds.<path>` (Envoy 1.33 and later).
    public let current: PropertyName
    /// `<path>` (older Envoy).
    public let legacy: PropertyName

    public init(_ path: [String]) {
        current = PropertyName(["xds"] + path)
        legacy = PropertyName(path)
    }
}
