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
}
