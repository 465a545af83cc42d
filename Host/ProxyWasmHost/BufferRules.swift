/// Envoy's rules for reading and rewriting a buffer (a body, TCP data, a
/// call-out answer, a configuration), on plain bytes with no guest memory or
/// context. The host-call handlers in `BufferCalls.swift` apply them to the
/// active context's buffers.
public enum BufferRules {
    /// What `proxy_get_buffer_bytes(start, maxSize)` answers: at most `maxSize`
    /// bytes from `start`, clamped to the buffer; nothing from past its end.
    public static func bytes(of buffer: [UInt8], start: UInt32, maxSize: UInt32) -> [UInt8] {
        let begin = UInt64(start)
        let count = UInt64(buffer.count)
        guard begin < count, maxSize > 0 else { return [] }
        let end = min(count, begin + UInt64(maxSize))
        return Array(buffer[Int(begin)..<Int(end)])
    }

    /// `proxy_set_buffer_bytes(start, length, data)` as Envoy's `copyFrom` does it:
    /// start 0 replaces the first `length` bytes (all of them, if fewer) with
    /// `data`; a start at or past the end appends `data`; any other start is
    /// refused (nil: `BadArgument`).
    public static func replacing(_ buffer: [UInt8], start: UInt32, length: UInt32, with data: [UInt8]) -> [UInt8]? {
        if start == 0 { return data + buffer.dropFirst(min(Int(length), buffer.count)) }
        if UInt64(start) >= UInt64(buffer.count) { return buffer + data }
        return nil
    }
}
