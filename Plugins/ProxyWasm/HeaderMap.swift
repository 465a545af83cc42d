// Header maps: request/response headers and trailers, gRPC metadata and
// call-out responses, through the `proxy_*_header_map_*` calls.

/// One of the host's header maps. Keys are sent as given; Envoy lower-cases them.
public struct HeaderMap: Sendable {
    public let type: HeaderMapType

    public init(_ type: HeaderMapType) { self.type = type }

    public static let requestHeaders = HeaderMap(.httpRequestHeaders)
    public static let requestTrailers = HeaderMap(.httpRequestTrailers)
    public static let responseHeaders = HeaderMap(.httpResponseHeaders)
    public static let responseTrailers = HeaderMap(.httpResponseTrailers)

    /// The first value of `key`, or `nil` if absent.
    public func valueBytes(_ key: String) throws(HostError) -> [UInt8]? {
        let result: Result<[UInt8], HostError> = withUTF8Bytes(key) { keyBuffer in
            do throws(HostError) {
                return .success(
                    try hostBytes {
                        proxy_get_header_map_value(type.rawValue, keyBuffer.baseAddress, keyBuffer.count, $0, $1)
                    })
            } catch {
                return .failure(error)
            }
        }
        switch result {
        case let .success(bytes): return bytes
        case let .failure(error):
            if error.isNotFound { return nil }
            throw error
        }
    }

    /// The first value of the header named by the bytes `name`, nil if absent or refused
    /// (for names used on every request: no string is bridged).
    public func valueBytes(name: [UInt8]) -> [UInt8]? {
        name.withUnsafeBufferPointer { key in
            try? hostBytes { proxy_get_header_map_value(type.rawValue, key.baseAddress, key.count, $0, $1) }
        }
    }

    /// Sets the header named by the bytes `name` to `value`, replacing every existing value.
    public func replace(name: [UInt8], value: [UInt8]) throws(HostError) {
        try check(
            name.withUnsafeBufferPointer { k in
                value.withUnsafeBufferPointer { v in
                    proxy_replace_header_map_value(type.rawValue, k.baseAddress, k.count, v.baseAddress, v.count)
                }
            })
    }

    /// Removes every value of the header named by the bytes `name`.
    public func remove(name: [UInt8]) throws(HostError) {
        try check(name.withUnsafeBufferPointer { k in proxy_remove_header_map_value(type.rawValue, k.baseAddress, k.count) })
    }

    /// The first value of `key` as a string, or `nil` if absent.
    public func value(_ key: String) throws(HostError) -> String? {
        guard let bytes = try valueBytes(key) else { return nil }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Appends a value (duplicates allowed).
    public func add(_ key: String, _ value: String) throws(HostError) {
        try check(
            withUTF8Bytes(key) { k in
                withUTF8Bytes(value) { v in
                    proxy_add_header_map_value(type.rawValue, k.baseAddress, k.count, v.baseAddress, v.count)
                }
            })
    }

    /// Appends a value given as raw bytes.
    public func add(_ key: String, bytes value: [UInt8]) throws(HostError) {
        try check(
            withUTF8Bytes(key) { k in
                withBytes(value) { v in
                    proxy_add_header_map_value(type.rawValue, k.baseAddress, k.count, v.baseAddress, v.count)
                }
            })
    }

    /// Sets `key` to `value`, replacing every existing value (adds if absent).
    public func replace(_ key: String, _ value: String) throws(HostError) {
        try check(
            withUTF8Bytes(key) { k in
                withUTF8Bytes(value) { v in
                    proxy_replace_header_map_value(type.rawValue, k.baseAddress, k.count, v.baseAddress, v.count)
                }
            })
    }

    /// Removes every value of `key` (no error if absent).
    public func remove(_ key: String) throws(HostError) {
        try check(
            withUTF8Bytes(key) { k in
                proxy_remove_header_map_value(type.rawValue, k.baseAddress, k.count)
            })
    }

    /// All entries, in the host's order (pseudo-headers included).
    public func pairs() throws(HostError) -> [HeaderPair] {
        let bytes = try hostBytes { proxy_get_header_map_pairs(type.rawValue, $0, $1) }
        do throws(PairsDecodingError) {
            return try HeaderPairs.decode(bytes)
        } catch {
            throw HostError(.serializationFailure)
        }
    }

    /// Replaces the whole map with `pairs`.
    public func setPairs(_ pairs: [HeaderPair]) throws(HostError) {
        let bytes = HeaderPairs.encode(pairs)
        try check(withBytes(bytes) { proxy_set_header_map_pairs(type.rawValue, $0.baseAddress, $0.count) })
    }

    /// The host's size of the map (Envoy: sum of key and value byte lengths).
    public func byteSize() throws(HostError) -> Int {
        var size = 0
        try check(proxy_get_header_map_size(type.rawValue, &size))
        return size
    }
}
