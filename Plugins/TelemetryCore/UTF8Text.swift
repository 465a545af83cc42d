// Byte-wise text helpers for the plugins. Swift's `String` comparison and
// `hasSuffix` work on Unicode characters, which links the stdlib's Unicode
// tables into every module; names, attribute paths and label values are
// compared as UTF-8 bytes instead (CEL compares strings by code point, and
// UTF-8 byte order is code point order).

/// Comparisons of text as UTF-8 bytes.
public enum UTF8Text {
    /// Runs `body` on the bytes of `text`. Every function here reads its text
    /// through this one, with an `Int` result, so that the module holds one
    /// copy of `String.withUTF8` instead of one per result type and caller.
    @inline(never)
    static func withBytes(_ text: String, _ body: (UnsafeBufferPointer<UInt8>) -> Int) -> Int {
        var text = text
        return text.withUTF8(body)
    }

    /// -1, 0 or 1 as `a` orders before, equal to or after `b`, byte by byte.
    public static func compare(_ a: String, _ b: String) -> Int {
        withBytes(a) { left in
            withBytes(b) { right in
                let common = min(left.count, right.count)
                for index in 0..<common where left[index] != right[index] {
                    return left[index] < right[index] ? -1 : 1
                }
                return left.count == right.count ? 0 : (left.count < right.count ? -1 : 1)
            }
        }
    }

    /// Whether `a` and `b` have the same bytes. `==` on `String` compares
    /// canonically equivalent characters as equal, which links Unicode
    /// normalization into the module; names and keys here are exact bytes.
    public static func equal(_ a: String, _ b: String) -> Bool { compare(a, b) == 0 }

    /// Whether `text` has exactly the bytes of `literal`.
    public static func equal(_ text: String, _ literal: StaticString) -> Bool {
        withBytes(text) { bytes in
            let count = literal.utf8CodeUnitCount
            guard bytes.count == count else { return 0 }
            for index in 0..<count where bytes[index] != literal.utf8Start[index] { return 0 }
            return 1
        } == 1
    }

    /// Whether two paths have the same segments, byte for byte.
    public static func equal(_ a: [String], _ b: [String]) -> Bool {
        guard a.count == b.count else { return false }
        for index in 0..<a.count where !equal(a[index], b[index]) { return false }
        return true
    }

    /// The pieces of `text` between each `separator` byte, without trimming
    /// (`""` gives `[""]`). Splitting bytes, not characters: a separator
    /// followed by a combining mark still separates, as in Istio's C++.
    public static func split(_ text: String, on separator: UInt8) -> [String] {
        var parts: [String] = []
        _ = withBytes(text) { bytes in
            var start = 0
            for index in 0..<bytes.count where bytes[index] == separator {
                parts.append(String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<index]), as: UTF8.self))
                start = index + 1
            }
            parts.append(String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<bytes.count]), as: UTF8.self))
            return 0
        }
        return parts
    }

    /// Whether `text` ends with the bytes of `suffix`.
    public static func hasSuffix(_ text: String, _ suffix: StaticString) -> Bool {
        withBytes(text) { bytes in
            let count = suffix.utf8CodeUnitCount
            guard bytes.count >= count else { return 0 }
            for index in 0..<count where bytes[bytes.count - count + index] != suffix.utf8Start[index] { return 0 }
            return 1
        } == 1
    }

    /// Whether `name` is one of the entries of `list`, a `", "`-separated
    /// list of names (which doubles as the text of an error message).
    public static func isListed(_ name: String, in list: StaticString) -> Bool { listIndex(of: name, in: list) != nil }

    /// The position of `name` among the entries of `list` (a `", "`-separated list), if listed.
    public static func listIndex(of name: String, in list: StaticString) -> Int? {
        let found = withBytes(name) { wanted -> Int in
            let entries = list.utf8Start
            let count = list.utf8CodeUnitCount
            var start = 0
            var position = 0
            while start < count {
                var end = start
                while end < count && entries[end] != UInt8(ascii: ",") { end += 1 }
                if end - start == wanted.count {
                    var same = true
                    for index in 0..<wanted.count where entries[start + index] != wanted[index] {
                        same = false
                        break
                    }
                    if same { return position }
                }
                start = end + 2
                position += 1
            }
            return -1
        }
        return found < 0 ? nil : found
    }

    /// The text of a static string.
    public static func string(_ text: StaticString) -> String {
        String(decoding: UnsafeBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount), as: UTF8.self)
    }

    /// Code points of `text` (the bytes that do not continue a UTF-8 sequence).
    public static func codePointCount(_ text: String) -> Int {
        withBytes(text) { bytes in
            var count = 0
            for byte in bytes where byte & 0xC0 != 0x80 { count += 1 }
            return count
        }
    }
}
