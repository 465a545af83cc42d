// Property paths and the byte encodings Envoy uses for property values
// (Envoy `Context::getProperty` / `serializeValue`).
//
// A path is its segments joined by single 0x00 bytes, without a trailing NUL:
// ["xds", "node", "id"] -> "xds\0node\0id". Envoy tolerates a trailing NUL
// (parsing stops at the end) but rejects an empty middle segment.

/// Why a property path was rejected.
public enum PropertyPathError: Error, Sendable, Equatable {
    /// The path has no bytes at all.
    case empty
    /// A segment between two separators (or at the start) is empty.
    case emptySegment(index: Int)
    /// A segment contains a NUL byte and cannot be encoded.
    case nulInSegment(index: Int)

    public var message: String {
        switch self {
        case .empty: return "property path is empty"
        case let .emptySegment(index): return "property path segment \(index) is empty"
        case let .nulInSegment(index): return "property path segment \(index) contains a NUL byte"
        }
    }
}

/// Encoder and decoder for NUL-separated property paths.
public enum PropertyPath {
    /// Joins segments with 0x00. Segments must be non-empty and NUL-free.
    public static func encode(_ segments: [String]) throws(PropertyPathError) -> [UInt8] {
        if segments.isEmpty { throw .empty }
        var bytes: [UInt8] = []
        var capacity = segments.count - 1
        for segment in segments { capacity += segment.utf8.count }
        bytes.reserveCapacity(capacity)
        for (index, segment) in segments.enumerated() {
            if index > 0 { bytes.append(0) }
            var invalid = false
            var isEmpty = true
            var copy = segment
            copy.withUTF8 { utf8 in
                isEmpty = utf8.isEmpty
                for byte in utf8 {
                    if byte == 0 { invalid = true }
                    bytes.append(byte)
                }
            }
            if isEmpty { throw .emptySegment(index: index) }
            if invalid { throw .nulInSegment(index: index) }
        }
        return bytes
    }

    /// Encodes a dotted path (`"xds.node.metadata.NAME"`). Only for paths
    /// whose segments contain no dots; map keys with dots need `encode(_:)`.
    public static func encode(dotted path: String) throws(PropertyPathError) -> [UInt8] {
        var segments: [String] = []
        var current: [UInt8] = []
        var copy = path
        copy.withUTF8 { utf8 in
            for byte in utf8 {
                if byte == UInt8(ascii: ".") {
                    segments.append(String(decoding: current, as: UTF8.self))
                    current.removeAll(keepingCapacity: true)
                } else {
                    current.append(byte)
                }
            }
        }
        segments.append(String(decoding: current, as: UTF8.self))
        return try encode(segments)
    }

    /// Splits a path into raw segments the way Envoy walks it: a single
    /// trailing NUL is tolerated, an empty segment anywhere else is an error.
    public static func decode(_ bytes: [UInt8]) throws(PropertyPathError) -> [[UInt8]] {
        if bytes.isEmpty { throw .empty }
        var end = bytes.count
        if bytes[end - 1] == 0 { end -= 1 }
        var segments: [[UInt8]] = []
        var start = 0
        var index = 0
        while index <= end {
            if index == end || bytes[index] == 0 {
                if index == start { throw .emptySegment(index: segments.count) }
                segments.append(Array(bytes[start..<index]))
                start = index + 1
            }
            index += 1
        }
        return segments
    }

    /// `decode(_:)` with the segments as strings, for display.
    public static func decodeStrings(_ bytes: [UInt8]) throws(PropertyPathError) -> [String] {
        var strings: [String] = []
        for segment in try decode(bytes) { strings.append(String(decoding: segment, as: UTF8.self)) }
        return strings
    }

    /// A human-readable rendering: segments joined by dots.
    public static func display(_ bytes: [UInt8]) -> String {
        var text = ""
        for byte in bytes { text.append(byte == 0 ? "." : Character(Unicode.Scalar(byte))) }
        return text
    }
}

/// Why a property value could not be decoded as the requested type.
public enum PropertyValueError: Error, Sendable, Equatable {
    case wrongSize(expected: Int, actual: Int)

    public var message: String {
        switch self {
        case let .wrongSize(expected, actual):
            return "property value has \(actual) bytes, expected \(expected)"
        }
    }
}

/// Envoy's scalar property encodings: int64/uint64/double/timestamp/duration
/// as 8 bytes little-endian, bool as one byte, strings as raw bytes.
public enum PropertyValue {
    public static func encode(int64 value: Int64) -> [UInt8] { encode(uint64: UInt64(bitPattern: value)) }

    public static func encode(uint64 value: UInt64) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: 8)
        for index in 0..<8 { bytes[index] = UInt8(truncatingIfNeeded: value >> (8 * UInt64(index))) }
        return bytes
    }

    public static func encode(double value: Double) -> [UInt8] { encode(uint64: value.bitPattern) }

    public static func encode(bool value: Bool) -> [UInt8] { [value ? 1 : 0] }

    public static func decodeUInt64(_ bytes: [UInt8]) throws(PropertyValueError) -> UInt64 {
        if bytes.count != 8 { throw .wrongSize(expected: 8, actual: bytes.count) }
        var value: UInt64 = 0
        for index in 0..<8 { value |= UInt64(bytes[index]) << (8 * UInt64(index)) }
        return value
    }

    public static func decodeInt64(_ bytes: [UInt8]) throws(PropertyValueError) -> Int64 {
        Int64(bitPattern: try decodeUInt64(bytes))
    }

    public static func decodeDouble(_ bytes: [UInt8]) throws(PropertyValueError) -> Double {
        Double(bitPattern: try decodeUInt64(bytes))
    }

    public static func decodeBool(_ bytes: [UInt8]) throws(PropertyValueError) -> Bool {
        if bytes.count != 1 { throw .wrongSize(expected: 1, actual: bytes.count) }
        return bytes[0] != 0
    }
}
