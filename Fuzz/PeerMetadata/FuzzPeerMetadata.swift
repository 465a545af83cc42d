// libFuzzer target: an `x-envoy-peer-metadata` header value, decoded as
// metadata_exchange does (base64 -> Struct -> PeerNode -> FlatNode), and the
// raw bytes as a protobuf Struct. What decodes must survive the FlatNode round trip.
import TelemetryCore

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzPeerMetadata(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    for candidate in [Base64.decode(bytes), bytes] {
        guard let candidate, let value = try? StructCodec.decodeStruct(candidate) else { continue }
        let encoded = FlatNodeCodec.encode(PeerNode.fromStruct(value))
        let decoded = try? FlatNodeCodec.decode(encoded)
        precondition(decoded.map(FlatNodeCodec.encode) == encoded, "FlatNode round trip changed the peer")
        _ = StructCodec.encode(value)
    }
    return 0
}
