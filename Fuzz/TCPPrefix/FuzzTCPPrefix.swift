// libFuzzer target: the first bytes of a TCP connection, as a peer sends them.
import TelemetryCore

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTCPPrefix(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    for limit in [TCPPrefix.defaultMaxPayload, 16] {
        if case let .complete(node, _, consumed) = TCPPrefix.parse(bytes, maxPayload: limit) {
            precondition(consumed >= TCPPrefix.headerSize && consumed <= bytes.count, "consumed \(consumed) of \(bytes.count)")
            _ = FlatNodeCodec.encode(PeerNode.fromStruct(node ?? ProtoStruct()))
        }
    }
    return 0
}
