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
    public static let metadataKey = "x-envoy-peer-metadata"
    public static let idKey = "x-envoy-peer-metadata-id"
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

    /// The result of looking for a prefix at the start of `buffer`.
    public enum ParseResult: Equatable {
        /// Fewer bytes than the header, or than the announced payload.
        case needMore
        /// Not a prefix (wrong magic, lying length, bad protobuf): leave the bytes alone.
        case invalid(reason: String)
        /// A prefix of `consumed` bytes: the peer node (nil if the metadata entry is
        /// missing or not a Struct) and its id (nil if absent).
        case complete(node: ProtoStruct?, id: String?, consumed: Int)
    }

    public static func parse(_ buffer: [UInt8], maxPayload: Int = defaultMaxPayload) -> ParseResult {
        if buffer.count >= 4 {
            if buffer[0] != 0x3D || buffer[1] != 0x23 || buffer[2] != 0x04 || buffer[3] != 0x67 {
                return .invalid(reason: "magic mismatch")
            }
        } else {
            // A short buffer can still be ruled out byte by byte.
            let expected: [UInt8] = [0x3D, 0x23, 0x04, 0x67]
            for index in 0..<buffer.count where buffer[index] != expected[index] { return .invalid(reason: "magic mismatch") }
            return .needMore
        }
        if buffer.count < headerSize { return .needMore }
        let length = Int(buffer[4]) << 24 | Int(buffer[5]) << 16 | Int(buffer[6]) << 8 | Int(buffer[7])
        if length > maxPayload { return .invalid(reason: "announced length \(length) exceeds \(maxPayload)") }
        if buffer.count < headerSize + length { return .needMore }
        let payload = Array(buffer[headerSize..<(headerSize + length)])
        let decoded: ProtoStruct?
        do throws(ProtobufError) {
            decoded = try StructCodec.decodeAnyStruct(payload)
        } catch {
            return .invalid(reason: error.message)
        }
        guard let decoded else { return .invalid(reason: "payload is not a google.protobuf.Struct") }
        var node: ProtoStruct? = nil
        if case let .structure(inner) = decoded[metadataKey] { node = inner }
        return .complete(node: node, id: decoded[idKey]?.stringValue, consumed: headerSize + length)
    }
}
