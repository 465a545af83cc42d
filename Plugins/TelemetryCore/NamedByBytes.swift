/// A closed set of names (configuration fields, attribute roots, enum
/// spellings) matched as exact bytes. `switch` on a `String` compares with
/// `==`, which treats canonically equivalent text as equal and links the
/// standard library's Unicode normalization into the module; a conforming
/// enum is matched with one byte scan of `names` instead.
public protocol NamedByBytes: RawRepresentable where RawValue == Int {
    /// The names of the cases in raw-value order, `", "`-separated (so the
    /// list doubles as the text of an error message).
    static var names: StaticString { get }
}

extension NamedByBytes {
    /// The case called `name`, byte for byte, if there is one.
    public init?(name: String) {
        guard let index = UTF8Text.listIndex(of: name, in: Self.names) else { return nil }
        self.init(rawValue: index)
    }

    /// The case's name, as `names` lists it.
    public var name: String {
        let entries = Self.names.utf8Start
        let count = Self.names.utf8CodeUnitCount
        var start = 0
        var position = 0
        while start < count {
            var end = start
            while end < count && entries[end] != UInt8(ascii: ",") { end += 1 }
            if position == rawValue { return String(decoding: UnsafeBufferPointer(start: entries + start, count: end - start), as: UTF8.self) }
            start = end + 2
            position += 1
        }
        return ""
    }
}
