// The `istio-peer-exchange` TCP prefix, byte for byte:
//
//   offset 0  u32 magic 0x3D230467 (big-endian: 3D 23 04 67)
//   offset 4  u32 length of the Any below (big-endian)
//   offset 8  google.protobuf.Any {
//               type_url = "type.googleapis.com/google.protobuf.Struct"
//               value    = Struct { "x-envoy-peer-metadata":    struct_value(node),
//                                   "x-envoy-peer-metadata-id": string_value(id) } }
//
// The id entry is omitted when the id is empty.

public enum TCPPrefix {
    public static let magic: UInt32 = 0x3D23_0467
    public static let headerSize = 8
    @inlinable public static var metadataKey: String { PeerExchange.metadataHeader }
    @inlinable public static var idKey: String { PeerExchange.idHeader }
    /// Largest Any a peer may announce; larger lengths are treated as a lie.
    public static let defaultMaxPayload = 64 * 1024

    public static func encode(node: ProtoStruct, id: String) -> [UInt8] {
        var fields: [(key: String, value: StructValue)] = [(metadataKey, .structure(node))]
        if !id.isEmpty { fields.append((idKey, .string(id))) }
        let any = StructCodec.encodeAny(ProtoStruct(fields))
        var bytes: [UInt8] = [0x3D, 0x23, 0x04, 0x67]
        let length = UInt32(any.count)
        bytes.append(UInt8(truncatingIfNeeded: length >> 24))
        bytes.append(UInt8(truncatingIfNeeded: length >> 16))
        bytes.append(UInt8(truncatingIfNeeded: length >> 8))
        bytes.append(UInt8(truncatingIfNeeded: length))
        bytes.append(contentsOf: any)
        return bytes
    }

    /// Why the bytes at the start of a connection are not a prefix. The cases
    /// are a fixed set (no peer-chosen number makes a new one), so callers can
    /// key "log once" notes by `kind`.
    public enum Rejection: Equatable {
        case magicMismatch
        /// The header announces more than the reader accepts.
        case oversized(announced: UInt32, limit: Int)
        case malformedPayload(ProtobufError)
        case notAStruct

        /// A fixed name per case.
        public var kind: String {
            switch self {
            case .magicMismatch: return "magic-mismatch"
            case .oversized: return "oversized"
            case .malformedPayload: return "malformed-payload"
            case .notAStruct: return "not-a-struct"
            }
        }

        public var reason: String {
            switch self {
            case .magicMismatch: return "magic mismatch"
            case let .oversized(announced, limit): return "announced length \(announced) exceeds \(limit)"
            case let .malformedPayload(error): return error.message
            case .notAStruct: return "payload is not a google.protobuf.Struct"
            }
        }
    }

    /// The result of looking for a prefix at the start of `buffer`.
    public enum ParseResult: Equatable {
        /// Fewer bytes than the header, or than the announced payload.
        case needMore
        /// Not a prefix (wrong magic, lying length, bad protobuf): leave the bytes alone.
        case invalid(Rejection)
        /// A prefix of `consumed` bytes: the peer node (nil if the metadata entry is
        /// missing or not a Struct) and its id (nil if absent).
        case complete(node: ProtoStruct?, id: String?, consumed: Int)
    }

    /// Where a prefix's payload is, before it is decoded.
    public enum FrameResult: Equatable {
        case needMore
        case invalid(Rejection)
        /// The payload occupies `payload`; the whole prefix is `consumed` bytes.
        case complete(payload: Range<Int>, consumed: Int)
    }

    /// Finds a prefix at the start of `buffer`: magic and bounded length, no decoding
    /// (a connection from a known peer carries the same payload bytes as the last one).
    public static func frame(_ buffer: [UInt8], maxPayload: Int = defaultMaxPayload) -> FrameResult {
        if buffer.count >= 4 {
            if buffer[0] != 0x3D || buffer[1] != 0x23 || buffer[2] != 0x04 || buffer[3] != 0x67 {
                return .invalid(.magicMismatch)
            }
        } else {
            // A short buffer can still be ruled out byte by byte.
            let expected: [UInt8] = [0x3D, 0x23, 0x04, 0x67]
            for index in 0..<buffer.count where buffer[index] != expected[index] { return .invalid(.magicMismatch) }
            return .needMore
        }
        if buffer.count < headerSize { return .needMore }
        // The length is a u32 on the wire: read it as one and bound it before it
        // becomes an `Int` (32 bits on wasm32, where 0x80000000 would go negative).
        let announced = UInt32(buffer[4]) << 24 | UInt32(buffer[5]) << 16 | UInt32(buffer[6]) << 8 | UInt32(buffer[7])
        if maxPayload < 0 || UInt64(announced) > UInt64(maxPayload) {
            return .invalid(.oversized(announced: announced, limit: maxPayload))
        }
        let length = Int(announced)
        if buffer.count < headerSize + length { return .needMore }
        return .complete(payload: headerSize..<(headerSize + length), consumed: headerSize + length)
    }

    /// Decodes a payload `frame` found: `.complete` with the peer node (nil
    /// if the metadata entry is missing or not a Struct), its id (nil if
    /// absent) and the payload's length; or `.invalid`.
    public static func decode(payload: [UInt8]) -> ParseResult {
        let decoded: ProtoStruct?
        do throws(ProtobufError) {
            decoded = try StructCodec.decodeAnyStruct(payload)
        } catch {
            return .invalid(.malformedPayload(error))
        }
        guard let decoded else { return .invalid(.notAStruct) }
        var node: ProtoStruct? = nil
        if case let .structure(inner) = decoded[metadataKey] { node = inner }
        return .complete(node: node, id: decoded[idKey]?.stringValue, consumed: payload.count)
    }

    public static func parse(_ buffer: [UInt8], maxPayload: Int = defaultMaxPayload) -> ParseResult {
        switch frame(buffer, maxPayload: maxPayload) {
        case .needMore: return .needMore
        case let .invalid(rejection): return .invalid(rejection)
        case let .complete(range, consumed):
            switch decode(payload: Array(buffer[range])) {
            case let .complete(node, id, _): return .complete(node: node, id: id, consumed: consumed)
            case let .invalid(rejection): return .invalid(rejection)
            case .needMore: return .needMore
            }
        }
    }
}
