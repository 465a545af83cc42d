// The proxy-wasm "pairs" serialization used for header maps, gRPC metadata,
// local-reply headers and map-valued properties:
//
//     u32 N                                   (little-endian)
//     N x { u32 key_len, u32 value_len }      (the whole size table first)
//     N x { key bytes, 0x00, value bytes, 0x00 }
//
// Total size = 4 + sum(8 + key_len + 1 + value_len + 1). Keys and values are
// raw bytes: lengths are explicit, so the NUL terminators are checked but
// embedded NULs are allowed.

/// One key/value entry of a pairs buffer, as raw bytes.
public struct HeaderPair: Sendable, Equatable {
    public var key: [UInt8]
    public var value: [UInt8]

    public init(key: [UInt8], value: [UInt8]) {
        self.key = key
        self.value = value
    }

    public init(_ key: String, _ value: String) {
        self.key = Array(key.utf8)
        self.value = Array(value.utf8)
    }

    /// The key decoded as UTF-8 (invalid sequences become U+FFFD).
    public var keyString: String { String(decoding: key, as: UTF8.self) }
    /// The value decoded as UTF-8 (invalid sequences become U+FFFD).
    public var valueString: String { String(decoding: value, as: UTF8.self) }
}

/// Why a pairs buffer was rejected.
public enum PairsDecodingError: Error, Sendable, Equatable {
    /// Fewer than 4 bytes: no room for the count.
    case truncatedCount(size: Int)
    /// More entries than the host limit (Envoy: 1024).
    case tooManyPairs(count: UInt32, limit: Int)
    /// The buffer is bigger than the host limit (Envoy: 1 MiB).
    case tooLarge(size: Int, limit: Int)
    /// The size table runs past the end of the buffer.
    case truncatedSizeTable(count: UInt32, size: Int)
    /// A key or value runs past the end of the buffer.
    case truncatedData(pair: Int)
    /// The byte after a key or value is not 0x00.
    case missingTerminator(pair: Int, offset: Int)
    /// Bytes remain after the last pair.
    case trailingBytes(count: Int)

    /// A one-line explanation for logs and traces.
    public var message: String {
        switch self {
        case let .truncatedCount(size):
            return "pairs buffer of \(size) bytes is too short for its 4-byte count"
        case let .tooManyPairs(count, limit):
            return "pairs buffer declares \(count) pairs, more than the limit of \(limit)"
        case let .tooLarge(size, limit):
            return "pairs buffer of \(size) bytes exceeds the limit of \(limit) bytes"
        case let .truncatedSizeTable(count, size):
            return "size table of \(count) pairs does not fit in \(size) bytes"
        case let .truncatedData(pair):
            return "pair \(pair) runs past the end of the buffer"
        case let .missingTerminator(pair, offset):
            return "pair \(pair) is not NUL-terminated at offset \(offset)"
        case let .trailingBytes(count):
            return "\(count) trailing bytes after the last pair"
        }
    }
}

/// Encoder and decoder for the pairs format.
public enum HeaderPairs {
    /// proxy-wasm-cpp-host's `PROXY_WASM_HOST_PAIRS_MAX_BYTES`.
    public static let envoyMaxBytes = 1 << 20
    /// proxy-wasm-cpp-host's `PROXY_WASM_HOST_PAIRS_MAX_COUNT`.
    public static let envoyMaxCount = 1024

    /// The exact serialized size of `pairs`.
    public static func encodedSize(_ pairs: [HeaderPair]) -> Int {
        var size = 4
        for pair in pairs { size += 8 + pair.key.count + 1 + pair.value.count + 1 }
        return size
    }

    /// Serializes `pairs`. An empty list encodes as the 4-byte zero count
    /// (hosts send an empty map as a null pointer instead; both decode as empty).
    public static func encode(_ pairs: [HeaderPair]) -> [UInt8] {
        let size = encodedSize(pairs)
        return [UInt8](unsafeUninitializedCapacity: size) { buffer, initialized in
            var offset = 0
            func put32(_ value: Int) {
                let v = UInt32(truncatingIfNeeded: value)
                buffer[offset] = UInt8(truncatingIfNeeded: v)
                buffer[offset + 1] = UInt8(truncatingIfNeeded: v >> 8)
                buffer[offset + 2] = UInt8(truncatingIfNeeded: v >> 16)
                buffer[offset + 3] = UInt8(truncatingIfNeeded: v >> 24)
                offset += 4
            }
            func putBytes(_ bytes: [UInt8]) {
                bytes.withUnsafeBufferPointer { source in
                    for index in 0..<source.count { buffer[offset + index] = source[index] }
                }
                offset += bytes.count
                buffer[offset] = 0
                offset += 1
            }
            put32(pairs.count)
            for pair in pairs {
                put32(pair.key.count)
                put32(pair.value.count)
            }
            for pair in pairs {
                putBytes(pair.key)
                putBytes(pair.value)
            }
            initialized = size
        }
    }

    /// Convenience for string pairs.
    public static func encode(_ pairs: [(String, String)]) -> [UInt8] {
        var list: [HeaderPair] = []
        list.reserveCapacity(pairs.count)
        for (key, value) in pairs { list.append(HeaderPair(key, value)) }
        return encode(list)
    }

    /// Parses a pairs buffer with the same rules as Envoy's `toPairs`:
    /// anything malformed is an error (Envoy silently treats it as an empty
    /// map; callers that emulate Envoy do the same with the error).
    /// A zero-length buffer is an empty map (that is how hosts send one).
    public static func decode(
        _ bytes: UnsafeRawBufferPointer,
        maxBytes: Int = envoyMaxBytes,
        maxCount: Int = envoyMaxCount
    ) throws(PairsDecodingError) -> [HeaderPair] {
        let size = bytes.count
        if size == 0 { return [] }
        if size > maxBytes { throw .tooLarge(size: size, limit: maxBytes) }
        if size < 4 { throw .truncatedCount(size: size) }
        let count = readUInt32(bytes, 0)
        // Compared as 64-bit: `Int(count)` would trap on wasm32 for counts >= 2^31.
        if maxCount < 0 || UInt64(count) > UInt64(maxCount) { throw .tooManyPairs(count: count, limit: maxCount) }
        let n = Int(count)
        let tableEnd = 4 + n * 8
        if tableEnd > size { throw .truncatedSizeTable(count: count, size: size) }
        var pairs: [HeaderPair] = []
        pairs.reserveCapacity(n)
        var data = tableEnd
        for index in 0..<n {
            // Lengths are compared as UInt32 before any conversion: on wasm32
            // `Int` is 32 bits and a hostile length must not trap.
            let keyLength32 = readUInt32(bytes, 4 + index * 8)
            let valueLength32 = readUInt32(bytes, 8 + index * 8)
            // Each string needs its bytes plus one terminator.
            if keyLength32 >= UInt32(size - data) { throw .truncatedData(pair: index) }
            let keyLength = Int(keyLength32)
            let key = copy(bytes, data, keyLength)
            data += keyLength
            if bytes[data] != 0 { throw .missingTerminator(pair: index, offset: data) }
            data += 1
            if valueLength32 >= UInt32(size - data) { throw .truncatedData(pair: index) }
            let valueLength = Int(valueLength32)
            let value = copy(bytes, data, valueLength)
            data += valueLength
            if bytes[data] != 0 { throw .missingTerminator(pair: index, offset: data) }
            data += 1
            pairs.append(HeaderPair(key: key, value: value))
        }
        if data != size { throw .trailingBytes(count: size - data) }
        return pairs
    }

    /// Array convenience for `decode(_:maxBytes:maxCount:)`.
    public static func decode(
        _ bytes: [UInt8],
        maxBytes: Int = envoyMaxBytes,
        maxCount: Int = envoyMaxCount
    ) throws(PairsDecodingError) -> [HeaderPair] {
        let result: Result<[HeaderPair], PairsDecodingError> = bytes.withUnsafeBytes { raw in
            do throws(PairsDecodingError) {
                return .success(try decode(raw, maxBytes: maxBytes, maxCount: maxCount))
            } catch {
                return .failure(error)
            }
        }
        return try result.get()
    }

    @inline(__always)
    static func readUInt32(_ bytes: UnsafeRawBufferPointer, _ offset: Int) -> UInt32 {
        UInt32(bytes[offset]) | UInt32(bytes[offset + 1]) << 8
            | UInt32(bytes[offset + 2]) << 16 | UInt32(bytes[offset + 3]) << 24
    }

    @inline(__always)
    static func copy(_ bytes: UnsafeRawBufferPointer, _ offset: Int, _ count: Int) -> [UInt8] {
        if count == 0 { return [] }
        return [UInt8](UnsafeRawBufferPointer(rebasing: bytes[offset..<(offset + count)]))
    }
}
