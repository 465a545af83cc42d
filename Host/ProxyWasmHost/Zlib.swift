import CZlib
import ProxyWasmABI

/// Envoy's `compress` / `uncompress` foreign functions: zlib's one-shot
/// `compress` (zlib format, default level) and `uncompress`.
enum Zlib {
    static func compress(_ input: [UInt8]) -> (WasmResult, [UInt8]) {
        var length = compressBound(uLong(input.count))
        var output = [UInt8](repeating: 0, count: Int(length))
        let status = output.withUnsafeMutableBufferPointer { out in
            input.withUnsafeBufferPointer { CZlib.compress(out.baseAddress, &length, $0.baseAddress, uLong(input.count)) }
        }
        guard status == Z_OK else { return (.serializationFailure, []) }
        return (.ok, Array(output.prefix(Int(length))))
    }

    /// Envoy sizes the output at `2 * input + 2` bytes and grows it only when
    /// zlib reports Z_MEM_ERROR. An output that does not fit gives Z_BUF_ERROR,
    /// which Envoy answers with SerializationFailure like corrupt input: data
    /// that compressed better than about 2:1 cannot be uncompressed through
    /// Envoy, and a plugin tested here learns that before production does.
    static func uncompress(_ input: [UInt8]) -> (WasmResult, [UInt8]) {
        var capacity = uLong(input.count) * 2 + 2
        while true {
            var length = capacity
            var output = [UInt8](repeating: 0, count: Int(capacity))
            let status = output.withUnsafeMutableBufferPointer { out in
                input.withUnsafeBufferPointer { CZlib.uncompress(out.baseAddress, &length, $0.baseAddress, uLong(input.count)) }
            }
            if status == Z_OK { return (.ok, Array(output.prefix(Int(length)))) }
            guard status == Z_MEM_ERROR else { return (.serializationFailure, []) }
            capacity *= 2
        }
    }
}
