// Properties: Envoy's attribute namespace (`request.*`, `connection.*`,
// `xds.*`, filter state via `wasm.` keys...) read and written through
// `proxy_get_property` / `proxy_set_property`, with typed decoding of Envoy's
// value encodings.

/// A property value could not be read as the requested type.
public enum PropertyError: Error, Equatable {
    /// The host refused the call (other than NotFound, which reads as `nil`).
    case host(HostError)
    /// The value exists but its bytes are not the requested encoding.
    case malformed(PropertyValueError)
    /// The value is not a valid pairs map.
    case malformedMap(PairsDecodingError)
}

/// Typed access to proxy properties. Paths are lists of segments
/// (`["xds", "node", "metadata", "NAME"]`), sent NUL-separated.
public enum Properties {
    /// The raw bytes of the property at `path`, or `nil` if the host has none.
    public static func bytes(_ path: [String]) throws(HostError) -> [UInt8]? {
        let encoded: [UInt8]
        do throws(PropertyPathError) {
            encoded = try PropertyPath.encode(path)
        } catch {
            throw HostError(.badArgument)
        }
        return try bytes(encodedPath: encoded)
    }

    /// The raw bytes of a property whose path is already NUL-separated
    /// (precompute hot paths once with `PropertyPath.encode`).
    public static func bytes(encodedPath: [UInt8]) throws(HostError) -> [UInt8]? {
        do throws(HostError) {
            return try encodedPath.withUnsafeBufferPointer { (path) throws(HostError) -> [UInt8] in
                try hostBytes { proxy_get_property(path.baseAddress, path.count, $0, $1) }
            }
        } catch {
            if error.isNotFound { return nil }
            throw error
        }
    }

    /// A string property (raw bytes decoded as UTF-8), `nil` if absent.
    public static func string(_ path: [String]) throws(HostError) -> String? {
        guard let value = try bytes(path) else { return nil }
        return String(decoding: value, as: UTF8.self)
    }

    /// An int64 property (8 bytes little-endian), `nil` if absent.
    public static func int64(_ path: [String]) throws(PropertyError) -> Int64? {
        guard let value = try read(path) else { return nil }
        do throws(PropertyValueError) { return try PropertyValue.decodeInt64(value) } catch { throw .malformed(error) }
    }

    /// A uint64 property (8 bytes little-endian), `nil` if absent.
    public static func uint64(_ path: [String]) throws(PropertyError) -> UInt64? {
        guard let value = try read(path) else { return nil }
        do throws(PropertyValueError) { return try PropertyValue.decodeUInt64(value) } catch { throw .malformed(error) }
    }

    /// A double property (8 bytes IEEE-754 little-endian), `nil` if absent.
    public static func double(_ path: [String]) throws(PropertyError) -> Double? {
        guard let value = try read(path) else { return nil }
        do throws(PropertyValueError) { return try PropertyValue.decodeDouble(value) } catch { throw .malformed(error) }
    }

    /// A bool property (1 byte), `nil` if absent.
    public static func bool(_ path: [String]) throws(PropertyError) -> Bool? {
        guard let value = try read(path) else { return nil }
        do throws(PropertyValueError) { return try PropertyValue.decodeBool(value) } catch { throw .malformed(error) }
    }

    /// A timestamp property, in nanoseconds since the Unix epoch.
    public static func timestampNanoseconds(_ path: [String]) throws(PropertyError) -> Int64? {
        try int64(path)
    }

    /// A duration property, in nanoseconds.
    public static func durationNanoseconds(_ path: [String]) throws(PropertyError) -> Int64? {
        try int64(path)
    }

    /// A map-valued property (Envoy serializes maps, and Structs reached by
    /// field access, as a pairs buffer). `nil` if absent; empty if empty.
    public static func map(_ path: [String]) throws(PropertyError) -> [HeaderPair]? {
        guard let value = try read(path) else { return nil }
        do throws(PairsDecodingError) { return try HeaderPairs.decode(value) } catch { throw .malformedMap(error) }
    }

    /// Writes filter state `wasm.<path>` (Envoy stores the value as bytes
    /// unless the property was declared with `declare_property`).
    public static func set(_ path: [String], _ value: [UInt8]) throws(HostError) {
        let encoded: [UInt8]
        do throws(PropertyPathError) {
            encoded = try PropertyPath.encode(path)
        } catch {
            throw HostError(.badArgument)
        }
        let status = encoded.withUnsafeBufferPointer { pathBuffer in
            value.withUnsafeBufferPointer { valueBuffer in
                proxy_set_property(pathBuffer.baseAddress, pathBuffer.count, valueBuffer.baseAddress, valueBuffer.count)
            }
        }
        try check(status)
    }

    /// Writes a string-valued filter state entry.
    public static func set(_ path: [String], _ value: String) throws(HostError) {
        try set(path, Array(value.utf8))
    }

    private static func read(_ path: [String]) throws(PropertyError) -> [UInt8]? {
        do throws(HostError) { return try bytes(path) } catch { throw .host(error) }
    }
}

/// A property path encoded once: for properties read on every request, where
/// encoding the segments again would cost more than the host call.
public struct PropertyName: Sendable {
    /// The NUL-separated path (empty when the segments cannot be encoded:
    /// the host then answers BadArgument, which reads as absent).
    public let encoded: [UInt8]

    public init(_ segments: [String]) {
        encoded = (try? PropertyPath.encode(segments)) ?? []
    }
}

extension Properties {
    /// The raw bytes of `name`, nil if absent or refused.
    public static func bytes(_ name: PropertyName) -> [UInt8]? {
        (try? bytes(encodedPath: name.encoded)) ?? nil
    }

    /// Runs `body` on the host's buffer for `name` (nil if absent or refused)
    /// without copying it into an array; the buffer is freed afterwards.
    public static func withValue<R>(_ name: PropertyName, _ body: (UnsafeBufferPointer<UInt8>?) -> R) -> R {
        var pointer: UnsafeMutablePointer<UInt8>? = nil
        var size = 0
        let status = name.encoded.withUnsafeBufferPointer { path in
            proxy_get_property(path.baseAddress, path.count, &pointer, &size)
        }
        defer { pointer?.deallocate() }
        guard status == 0 else { return body(nil) }
        return body(UnsafeBufferPointer(start: pointer, count: pointer == nil ? 0 : max(0, size)))
    }

    /// An int64 property (8 bytes little-endian), nil if absent or malformed.
    public static func int64(_ name: PropertyName) -> Int64? {
        withValue(name) { value in
            guard let value, value.count == 8 else { return nil }
            return Int64(bitPattern: UInt64(littleEndianBytes: value))
        }
    }

    /// A uint64 property (8 bytes little-endian), nil if absent or malformed.
    public static func uint64(_ name: PropertyName) -> UInt64? {
        withValue(name) { value in
            guard let value, value.count == 8 else { return nil }
            return UInt64(littleEndianBytes: value)
        }
    }

    /// A bool property (1 byte), nil if absent or malformed.
    public static func bool(_ name: PropertyName) -> Bool? {
        withValue(name) { value in
            guard let value, value.count == 1 else { return nil }
            return value[0] != 0
        }
    }
}

extension UInt64 {
    /// The first 8 bytes of `bytes` as a little-endian integer.
    @inline(__always)
    init(littleEndianBytes bytes: UnsafeBufferPointer<UInt8>) {
        var value: UInt64 = 0
        for index in 0..<8 { value |= UInt64(bytes[index]) << (8 * UInt64(index)) }
        self = value
    }
}

extension Properties {
    /// Writes filter state at a precomputed `name` (see `set(_:_:)`).
    public static func set(_ name: PropertyName, _ value: [UInt8]) throws(HostError) {
        let status = name.encoded.withUnsafeBufferPointer { path in
            value.withUnsafeBufferPointer { bytes in
                proxy_set_property(path.baseAddress, path.count, bytes.baseAddress, bytes.count)
            }
        }
        try check(status)
    }
}
