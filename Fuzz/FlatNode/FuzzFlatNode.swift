// libFuzzer target: FlatNode bytes in a peer's filter state, as stats reads them.
import TelemetryCore

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzFlatNode(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    if let node = try? FlatNodeCodec.decode(bytes) {
        let encoded = FlatNodeCodec.encode(node)
        precondition((try? FlatNodeCodec.decode(encoded)).map(FlatNodeCodec.encode) == encoded, "re-encoding changed the peer")
    }
    return 0
}
