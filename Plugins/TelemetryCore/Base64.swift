// Standard base64 (RFC 4648 alphabet `A-Z a-z 0-9 + /`), as Istio's metadata
// exchange uses it: padded on output; on input up to two trailing `=` are
// accepted but not required, every other byte must be in the alphabet and the
// unused trailing bits must be zero. Byte-buffer based: no String iteration,
// which is slow in Embedded Swift inside an interpreter.

public enum Base64 {
    static let alphabet: [UInt8] = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)

    /// Encodes `bytes` with `=` padding.
    public static func encode(_ bytes: [UInt8]) -> [UInt8] {
        let count = (bytes.count + 2) / 3 * 4
        return [UInt8](unsafeUninitializedCapacity: count) { out, initialized in
            alphabet.withUnsafeBufferPointer { table in
                bytes.withUnsafeBufferPointer { input in
                    var i = 0
                    var o = 0
                    while i + 3 <= input.count {
                        let v = UInt32(input[i]) << 16 | UInt32(input[i + 1]) << 8 | UInt32(input[i + 2])
                        out[o] = table[Int(v >> 18)]
                        out[o + 1] = table[Int(v >> 12 & 63)]
                        out[o + 2] = table[Int(v >> 6 & 63)]
                        out[o + 3] = table[Int(v & 63)]
                        i += 3
                        o += 4
                    }
                    let rest = input.count - i
                    if rest > 0 {
                        var v = UInt32(input[i]) << 16
                        if rest == 2 { v |= UInt32(input[i + 1]) << 8 }
                        out[o] = table[Int(v >> 18)]
                        out[o + 1] = table[Int(v >> 12 & 63)]
                        out[o + 2] = rest == 2 ? table[Int(v >> 6 & 63)] : UInt8(ascii: "=")
                        out[o + 3] = UInt8(ascii: "=")
                    }
                }
            }
            initialized = count
        }
    }

    @inline(__always)
    static func value(_ byte: UInt8) -> UInt32? {
        switch byte {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"): return UInt32(byte - UInt8(ascii: "A"))
        case UInt8(ascii: "a")...UInt8(ascii: "z"): return UInt32(byte - UInt8(ascii: "a") + 26)
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return UInt32(byte - UInt8(ascii: "0") + 52)
        case UInt8(ascii: "+"): return 62
        case UInt8(ascii: "/"): return 63
        default: return nil
        }
    }

    /// Decodes padded or unpadded base64; `nil` for anything malformed.
    public static func decode(_ text: [UInt8]) -> [UInt8]? {
        var end = text.count
        if end > 0 && text[end - 1] == UInt8(ascii: "=") { end -= 1 }
        if end > 0 && text[end - 1] == UInt8(ascii: "=") { end -= 1 }
        let remainder = end % 4
        if remainder == 1 { return nil }
        // Padding, when present, must complete the last quantum.
        if end != text.count && (end + (text.count - end)) % 4 != 0 { return nil }
        var out: [UInt8] = []
        out.reserveCapacity(end / 4 * 3 + 2)
        var index = 0
        while index + 4 <= end {
            guard let a = value(text[index]), let b = value(text[index + 1]),
                let c = value(text[index + 2]), let d = value(text[index + 3])
            else { return nil }
            let v = a << 18 | b << 12 | c << 6 | d
            out.append(UInt8(truncatingIfNeeded: v >> 16))
            out.append(UInt8(truncatingIfNeeded: v >> 8))
            out.append(UInt8(truncatingIfNeeded: v))
            index += 4
        }
        if remainder == 2 {
            guard let a = value(text[index]), let b = value(text[index + 1]), b & 0x0F == 0 else { return nil }
            out.append(UInt8(truncatingIfNeeded: (a << 18 | b << 12) >> 16))
        } else if remainder == 3 {
            guard let a = value(text[index]), let b = value(text[index + 1]), let c = value(text[index + 2]),
                c & 0x03 == 0
            else { return nil }
            let v = a << 18 | b << 12 | c << 6
            out.append(UInt8(truncatingIfNeeded: v >> 16))
            out.append(UInt8(truncatingIfNeeded: v >> 8))
        }
        return out
    }
}
