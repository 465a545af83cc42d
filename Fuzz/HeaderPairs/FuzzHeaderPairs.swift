// libFuzzer target: a serialized header map or map-valued property, as the
// SDK decodes what the host hands it.
import ProxyWasmABI

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzHeaderPairs(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    if let pairs = try? HeaderPairs.decode(bytes) {
        precondition(pairs.count <= bytes.count, "more pairs than bytes")
    }
    return 0
}
