import Foundation

/// How values read from guest memory, peers and properties are written into
/// a trace: printable text stays as it is, everything else is escaped, so a
/// trace line never holds a control byte (a terminal, `grep` and a diff tool
/// read it as text), and typed values read as what they mean.
public enum TraceText {
    /// Bytes recorded per value; longer values end with `...(N bytes)`.
    public static let recordedBytes = 256

    /// `bytes` as text: valid UTF-8 printable scalars as they are; `\n`, `\r`,
    /// `\t`, `\0`, `\\`; other control scalars as `\u{..}`; bytes that are
    /// not UTF-8 as `\xNN`. Longer than `limit` bytes: the first `limit`,
    /// then `...(N bytes)`.
    public static func bytes(_ bytes: [UInt8], limit: Int = recordedBytes) -> String {
        let shown = bytes.count > limit ? Array(bytes.prefix(limit)) : bytes
        var text = escaped(shown)
        if bytes.count > limit { text += "...(\(bytes.count) bytes)" }
        return text
    }

    /// Text with its control scalars escaped (as `bytes(_:)` does).
    public static func escaped(_ text: String) -> String { escaped(Array(text.utf8)) }

    static func escaped(_ bytes: [UInt8]) -> String {
        var text = ""
        var index = 0
        while index < bytes.count {
            let byte = bytes[index]
            if byte < 0x80 {
                text += escape(ascii: byte)
                index += 1
                continue
            }
            let length = byte >= 0xF0 ? 4 : byte >= 0xE0 ? 3 : byte >= 0xC0 ? 2 : 1
            if length > 1, index + length <= bytes.count,
                let scalar = String(validating: bytes[index..<index + length], as: UTF8.self)?.unicodeScalars.first
            {
                text += isControl(scalar) ? "\\u{\(String(scalar.value, radix: 16))}" : String(scalar)
                index += length
            } else {
                text += "\\x" + hex(byte)
                index += 1
            }
        }
        return text
    }

    /// Text with only its control characters escaped (backslashes kept): for
    /// values already written by `bytes(_:)`, and a safety net for traces
    /// written by other tools.
    public static func controlsEscaped(_ text: String) -> String {
        guard text.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F || isControl($0) }) else { return text }
        var result = ""
        for scalar in text.unicodeScalars {
            if scalar.value < 0x80, scalar != "\\" {
                result += escape(ascii: UInt8(scalar.value))
            } else if isControl(scalar) {
                result += "\\u{\(String(scalar.value, radix: 16))}"
            } else {
                result.unicodeScalars.append(scalar)
            }
        }
        return result
    }

    static func escape(ascii byte: UInt8) -> String {
        switch byte {
        case 0x0A: return "\\n"
        case 0x0D: return "\\r"
        case 0x09: return "\\t"
        case 0x00: return "\\0"
        case 0x5C: return "\\\\"
        case 0x20..<0x7F: return String(UnicodeScalar(byte))
        default: return "\\x" + hex(byte)
        }
    }

    /// C1 controls and the line and paragraph separators break lines in some readers.
    static func isControl(_ scalar: Unicode.Scalar) -> Bool {
        (0x80...0x9F).contains(scalar.value) || scalar.value == 0x2028 || scalar.value == 0x2029
    }

    static func hex(_ byte: UInt8) -> String {
        let digits = Array("0123456789abcdef")
        return String(digits[Int(byte >> 4)]) + String(digits[Int(byte & 0xF)])
    }

    /// A property value as its type reads: `200`, `true`, `1.5ms`,
    /// `2026-12-02T13:00:00.000000001Z`, `{mtls: true, sni: reviews}`,
    /// `[a, b]`; strings and bytes escaped.
    public static func value(_ node: PropertyNode) -> String {
        switch node {
        case let .string(text): return bytes(Array(text.utf8))
        case let .bytes(raw): return bytes(raw)
        case let .int(number): return String(number)
        case let .uint(number): return String(number)
        case let .double(number): return String(number)
        case let .bool(flag): return String(flag)
        case let .timestamp(nanos): return timestamp(nanos)
        case let .duration(nanos): return duration(nanos)
        case let .map(entries), let .message(_, entries):
            return "{" + entries.map { "\(escaped($0.key)): \(value($0.value))" }.joined(separator: ", ") + "}"
        case let .list(elements): return "[" + elements.map(value).joined(separator: ", ") + "]"
        }
    }

    /// Nanoseconds in the largest unit that keeps them readable: `250ns`, `1.5us`, `12ms`, `2.25s`.
    public static func duration(_ nanos: Int64) -> String {
        let magnitude = nanos.magnitude
        let sign = nanos < 0 ? "-" : ""
        let units: [(UInt64, String)] = [(1_000_000_000, "s"), (1_000_000, "ms"), (1_000, "us")]
        for (size, unit) in units where magnitude >= size {
            let whole = magnitude / size
            let fraction = magnitude % size
            guard fraction > 0 else { return "\(sign)\(whole)\(unit)" }
            var digits = String(fraction)
            digits = String(repeating: "0", count: String(size).count - 1 - digits.count) + digits
            while digits.hasSuffix("0") { digits.removeLast() }
            return "\(sign)\(whole).\(digits)\(unit)"
        }
        return "\(sign)\(magnitude)ns"
    }

    /// Nanoseconds since the epoch as UTC, RFC 3339 with nanoseconds.
    public static func timestamp(_ nanos: Int64) -> String {
        let seconds = nanos >= 0 ? nanos / 1_000_000_000 : (nanos - 999_999_999) / 1_000_000_000
        let fraction = nanos - seconds * 1_000_000_000
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let parts = calendar.dateComponents(
            [.year, .month, .day, .hour, .minute, .second],
            from: Date(timeIntervalSince1970: TimeInterval(seconds)))
        func two(_ value: Int?) -> String {
            let text = String(value ?? 0)
            return text.count < 2 ? "0" + text : text
        }
        let nanosText = String(fraction)
        return "\(parts.year ?? 1970)-\(two(parts.month))-\(two(parts.day))T\(two(parts.hour)):\(two(parts.minute)):\(two(parts.second))."
            + String(repeating: "0", count: 9 - nanosText.count) + nanosText + "Z"
    }

    /// `text` cut to `limit` characters: the start, then `...(+N chars)`
    /// (kept whole when cutting would save less than the note takes).
    public static func shortened(_ text: String, limit: Int) -> String {
        guard limit > 0, text.count > limit + 16 else { return text }
        return String(text.prefix(limit)) + "...(+\(text.count - limit) chars)"
    }
}
