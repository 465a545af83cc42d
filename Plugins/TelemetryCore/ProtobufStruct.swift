// google.protobuf.Struct / Value / ListValue / Any on the wire, written by
// hand for Embedded Swift. Encoding is deterministic (map entries sorted by
// key bytes, nested too, both key and value always written), matching
// protobuf's `SetSerializationDeterministic(true)` output. Decoding is strict
// about wire types and bounded in depth, and skips unknown fields as protobuf
// readers do.

/// A `google.protobuf.Value`.
public indirect enum StructValue: Equatable {
    case null
    case number(Double)
    case string(String)
    case bool(Bool)
    case structure(ProtoStruct)
    case list([StructValue])

    /// The string inside, or nil for other kinds.
    public var stringValue: String? {
        if case let .string(text) = self { return text }
        return nil
    }
}

/// A `google.protobuf.Struct`: fields in insertion order, encoded sorted.
public struct ProtoStruct: Equatable {
    public var fields: [(key: String, value: StructValue)]

    public init(_ fields: [(key: String, value: StructValue)] = []) { self.fields = fields }

    public subscript(key: String) -> StructValue? {
        var found: StructValue? = nil
        for field in fields where UTF8Text.equal(field.key, key) { found = field.value }
        return found
    }

    public static func == (lhs: ProtoStruct, rhs: ProtoStruct) -> Bool {
        let left = lhs.sortedFields
        let right = rhs.sortedFields
        if left.count != right.count { return false }
        for index in 0..<left.count where !UTF8Text.equal(left[index].key, right[index].key) || left[index].value != right[index].value {
            return false
        }
        return true
    }

    /// Fields by ascending key bytes, the last of duplicate keys winning.
    var sortedFields: [(key: String, value: StructValue)] {
        var unique: [(key: [UInt8], text: String, value: StructValue)] = []
        for field in fields {
            let bytes = Array(field.key.utf8)
            if let index = unique.firstIndex(where: { $0.key == bytes }) {
                unique[index].value = field.value
            } else {
                unique.append((bytes, field.key, field.value))
            }
        }
        StableSort.sort(&unique) { lexicographicallyLess($0.key, $1.key) }
        return unique.map { (key: $0.text, value: $0.value) }
    }
}

@inline(__always)
func lexicographicallyLess(_ a: [UInt8], _ b: [UInt8]) -> Bool {
    let count = min(a.count, b.count)
    var index = 0
    while index < count {
        if a[index] != b[index] { return a[index] < b[index] }
        index += 1
    }
    return a.count < b.count
}

/// Why protobuf bytes were rejected.
public enum ProtobufError: Error, Equatable {
    case truncated(offset: Int)
    case badVarint(offset: Int)
    case wrongWireType(field: Int, wireType: Int)
    case tooDeep(limit: Int)
    case invalidUTF8(offset: Int)

    public var message: String {
        switch self {
        case let .truncated(offset): return "protobuf truncated at byte \(offset)"
        case let .badVarint(offset): return "malformed varint at byte \(offset)"
        case let .wrongWireType(field, wireType): return "field \(field) has unexpected wire type \(wireType)"
        case let .tooDeep(limit): return "nesting deeper than \(limit)"
        case let .invalidUTF8(offset): return "invalid UTF-8 in a string at byte \(offset)"
        }
    }
}

/// Protobuf writer.
public struct ProtobufWriter {
    public private(set) var bytes: [UInt8] = []

    public init() {}

    public mutating func varint(_ value: UInt64) {
        var v = value
        while v >= 0x80 {
            bytes.append(UInt8(truncatingIfNeeded: v) | 0x80)
            v >>= 7
        }
        bytes.append(UInt8(v))
    }

    public mutating func tag(_ field: Int, _ wireType: Int) { varint(UInt64(field << 3 | wireType)) }

    public mutating func lengthDelimited(_ field: Int, _ payload: [UInt8]) {
        tag(field, 2)
        varint(UInt64(payload.count))
        bytes.append(contentsOf: payload)
    }

    public mutating func string(_ field: Int, _ text: String) { lengthDelimited(field, Array(text.utf8)) }
}

/// Protobuf reader over a byte array.
public struct ProtobufReader {
    let bytes: [UInt8]
    var offset: Int
    let end: Int

    public init(_ bytes: [UInt8]) {
        self.bytes = bytes
        self.offset = 0
        self.end = bytes.count
    }

    init(_ bytes: [UInt8], from start: Int, to end: Int) {
        self.bytes = bytes
        self.offset = start
        self.end = end
    }

    public var isAtEnd: Bool { offset >= end }

    public mutating func varint() throws(ProtobufError) -> UInt64 {
        let start = offset
        var value: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            if offset >= end { throw .truncated(offset: offset) }
            let byte = bytes[offset]
            offset += 1
            if shift == 63 && byte > 1 { throw .badVarint(offset: start) }
            value |= UInt64(byte & 0x7F) << shift
            if byte & 0x80 == 0 { return value }
            shift += 7
            if shift > 63 { throw .badVarint(offset: start) }
        }
    }

    /// Reads a tag: (field number, wire type).
    public mutating func tag() throws(ProtobufError) -> (field: Int, wireType: Int) {
        let key = try varint()
        if key >> 3 > UInt64(Int32.max) { throw .badVarint(offset: offset) }
        return (Int(key >> 3), Int(key & 7))
    }

    /// The bounds of a length-delimited payload (after its tag).
    public mutating func lengthDelimited() throws(ProtobufError) -> (start: Int, end: Int) {
        let length = try varint()
        if length > UInt64(end - offset) { throw .truncated(offset: offset) }
        let start = offset
        offset += Int(length)
        return (start, offset)
    }

    public mutating func skip(wireType: Int, field: Int) throws(ProtobufError) {
        switch wireType {
        case 0: _ = try varint()
        case 1:
            if end - offset < 8 { throw .truncated(offset: offset) }
            offset += 8
        case 2: _ = try lengthDelimited()
        case 5:
            if end - offset < 4 { throw .truncated(offset: offset) }
            offset += 4
        default: throw .wrongWireType(field: field, wireType: wireType)
        }
    }

    func slice(_ range: (start: Int, end: Int)) -> [UInt8] { Array(bytes[range.start..<range.end]) }

    func string(_ range: (start: Int, end: Int)) throws(ProtobufError) -> String {
        let slice = bytes[range.start..<range.end]
        guard let text = String(validating: slice, as: UTF8.self) else { throw .invalidUTF8(offset: range.start) }
        return text
    }
}

/// Encoding and decoding of Struct, Value, ListValue and Any.
public enum StructCodec {
    /// Nesting Istio metadata never needs more than a few levels; bound what a peer can send.
    public static let maxDepth = 16
    public static let structTypeURL = "type.googleapis.com/google.protobuf.Struct"

    public static func encode(_ value: ProtoStruct) -> [UInt8] {
        var writer = ProtobufWriter()
        for field in value.sortedFields {
            var entry = ProtobufWriter()
            entry.string(1, field.key)
            entry.lengthDelimited(2, encode(field.value))
            writer.lengthDelimited(1, entry.bytes)
        }
        return writer.bytes
    }

    public static func encode(_ value: StructValue) -> [UInt8] {
        var writer = ProtobufWriter()
        switch value {
        case .null:
            writer.tag(1, 0)
            writer.varint(0)
        case let .number(number):
            writer.tag(2, 1)
            let bits = number.bitPattern
            for shift in stride(from: 0, to: 64, by: 8) { writer.bytesAppend(UInt8(truncatingIfNeeded: bits >> UInt64(shift))) }
        case let .string(text):
            writer.string(3, text)
        case let .bool(flag):
            writer.tag(4, 0)
            writer.varint(flag ? 1 : 0)
        case let .structure(inner):
            writer.lengthDelimited(5, encode(inner))
        case let .list(items):
            var list = ProtobufWriter()
            for item in items { list.lengthDelimited(1, encode(item)) }
            writer.lengthDelimited(6, list.bytes)
        }
        return writer.bytes
    }

    /// `Any { type_url = Struct, value = struct }`.
    public static func encodeAny(_ value: ProtoStruct) -> [UInt8] {
        var writer = ProtobufWriter()
        writer.string(1, structTypeURL)
        writer.lengthDelimited(2, encode(value))
        return writer.bytes
    }

    public static func decodeStruct(_ bytes: [UInt8]) throws(ProtobufError) -> ProtoStruct {
        var reader = ProtobufReader(bytes)
        return try decodeStruct(&reader, depth: 0)
    }

    /// Decodes an `Any` and its Struct payload; a type URL other than Struct's is an error.
    public static func decodeAnyStruct(_ bytes: [UInt8]) throws(ProtobufError) -> ProtoStruct? {
        var reader = ProtobufReader(bytes)
        var typeURL = ""
        var payload: (start: Int, end: Int)? = nil
        while !reader.isAtEnd {
            let (field, wireType) = try reader.tag()
            switch (field, wireType) {
            case (1, 2): typeURL = try reader.string(try reader.lengthDelimited())
            case (2, 2): payload = try reader.lengthDelimited()
            case (1, _), (2, _): throw .wrongWireType(field: field, wireType: wireType)
            default: try reader.skip(wireType: wireType, field: field)
            }
        }
        guard UTF8Text.equal(typeURL, structTypeURL) else { return nil }
        guard let payload else { return ProtoStruct() }
        var inner = ProtobufReader(bytes, from: payload.start, to: payload.end)
        return try decodeStruct(&inner, depth: 0)
    }

    static func decodeStruct(_ reader: inout ProtobufReader, depth: Int) throws(ProtobufError) -> ProtoStruct {
        if depth > maxDepth { throw .tooDeep(limit: maxDepth) }
        var result = ProtoStruct()
        while !reader.isAtEnd {
            let (field, wireType) = try reader.tag()
            guard field == 1 else {
                try reader.skip(wireType: wireType, field: field)
                continue
            }
            guard wireType == 2 else { throw .wrongWireType(field: field, wireType: wireType) }
            let entryRange = try reader.lengthDelimited()
            var entry = ProtobufReader(reader.bytes, from: entryRange.start, to: entryRange.end)
            var key = ""
            var value = StructValue.null
            while !entry.isAtEnd {
                let (entryField, entryWire) = try entry.tag()
                switch (entryField, entryWire) {
                case (1, 2): key = try entry.string(try entry.lengthDelimited())
                case (2, 2):
                    let range = try entry.lengthDelimited()
                    var inner = ProtobufReader(entry.bytes, from: range.start, to: range.end)
                    value = try decodeValue(&inner, depth: depth + 1)
                case (1, _), (2, _): throw .wrongWireType(field: entryField, wireType: entryWire)
                default: try entry.skip(wireType: entryWire, field: entryField)
                }
            }
            result.fields.append((key: key, value: value))
        }
        return result
    }

    static func decodeValue(_ reader: inout ProtobufReader, depth: Int) throws(ProtobufError) -> StructValue {
        if depth > maxDepth { throw .tooDeep(limit: maxDepth) }
        var value = StructValue.null
        while !reader.isAtEnd {
            let (field, wireType) = try reader.tag()
            switch (field, wireType) {
            case (1, 0):
                _ = try reader.varint()
                value = .null
            case (2, 1):
                if reader.end - reader.offset < 8 { throw .truncated(offset: reader.offset) }
                var bits: UInt64 = 0
                for index in 0..<8 { bits |= UInt64(reader.bytes[reader.offset + index]) << UInt64(8 * index) }
                reader.offset += 8
                value = .number(Double(bitPattern: bits))
            case (3, 2): value = .string(try reader.string(try reader.lengthDelimited()))
            case (4, 0): value = .bool(try reader.varint() != 0)
            case (5, 2):
                let range = try reader.lengthDelimited()
                var inner = ProtobufReader(reader.bytes, from: range.start, to: range.end)
                value = .structure(try decodeStruct(&inner, depth: depth + 1))
            case (6, 2):
                let range = try reader.lengthDelimited()
                var inner = ProtobufReader(reader.bytes, from: range.start, to: range.end)
                var items: [StructValue] = []
                while !inner.isAtEnd {
                    let (itemField, itemWire) = try inner.tag()
                    guard itemField == 1 else {
                        try inner.skip(wireType: itemWire, field: itemField)
                        continue
                    }
                    guard itemWire == 2 else { throw .wrongWireType(field: itemField, wireType: itemWire) }
                    let itemRange = try inner.lengthDelimited()
                    var item = ProtobufReader(inner.bytes, from: itemRange.start, to: itemRange.end)
                    items.append(try decodeValue(&item, depth: depth + 1))
                }
                value = .list(items)
            case (1...6, _): throw .wrongWireType(field: field, wireType: wireType)
            default: try reader.skip(wireType: wireType, field: field)
            }
        }
        return value
    }
}

extension ProtobufWriter {
    mutating func bytesAppend(_ byte: UInt8) { bytes.append(byte) }
}
