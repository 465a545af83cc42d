/// One place in a scenario document: the YAML value found there (nil when
/// absent) and the field path that names it in errors, built as the reader
/// walks down (`proxies[0].plugins[1].module`), so no error names its field by hand.
struct ScenarioField {
    let value: Any?
    /// Dotted keys and `[index]`es from the document root; empty at the root.
    let path: String
    let file: String

    /// The root of a document read from `file`.
    init(document: Any?, file: String) {
        self.init(value: document, path: "", file: file)
    }

    private init(value: Any?, path: String, file: String) {
        self.value = value
        self.path = path
        self.file = file
    }

    /// The path as errors show it; the root is `(document)`.
    var name: String { path.isEmpty ? "(document)" : path }

    /// This field when the document has it, nil when absent.
    var ifPresent: ScenarioField? { value == nil ? nil : self }

    /// The member `key` of a mapping (absent when this is no mapping or has no such key).
    subscript(key: String) -> ScenarioField {
        ScenarioField(value: (value as? [String: Any])?[key], path: path.isEmpty ? key : "\(path).\(key)", file: file)
    }

    func fail(_ message: String) -> ScenarioError {
        ScenarioError(file: file, field: name, message: message)
    }

    /// What a YAML value is, in words.
    static func describe(_ value: Any?) -> String {
        switch value {
        case nil: return "nothing"
        case is String: return "a string"
        case is Bool: return "a boolean"
        case is Int, is Double: return "a number"
        case is [Any]: return "a list"
        case is [String: Any]: return "a mapping"
        default: return "\(type(of: value!))"
        }
    }

    var typeName: String { Self.describe(value) }

    func mapping() throws -> [String: Any] {
        guard let map = value as? [String: Any] else { throw fail("expected a mapping, found \(typeName)") }
        return map
    }

    /// A mapping whose keys must all be `known`.
    @discardableResult
    func mapping(known: [String]) throws -> [String: Any] {
        let map = try mapping()
        for key in map.keys.sorted() where !known.contains(key) {
            throw self[key].fail("unknown field (known: \(known.joined(separator: ", ")))")
        }
        return map
    }

    /// A mapping's members, sorted by key.
    func members() throws -> [(key: String, field: ScenarioField)] {
        try mapping().keys.sorted().map { ($0, self[$0]) }
    }

    /// A list's elements, each with its `[index]` path.
    func elements() throws -> [ScenarioField] {
        guard let items = value as? [Any] else { throw fail("expected a list, found \(typeName)") }
        return items.enumerated().map { ScenarioField(value: $0.element, path: "\(path)[\($0.offset)]", file: file) }
    }

    /// `elements()`, or none when the field is absent.
    func elementsIfPresent() throws -> [ScenarioField] {
        value == nil ? [] : try elements()
    }

    /// A string; an integer reads as its decimal digits (YAML `9080` for a port name).
    func string() throws -> String {
        switch value {
        case let text as String: return text
        case let number as Int: return String(number)
        default: throw fail("expected a string, found \(typeName)")
        }
    }

    func int(minimum: Int = 0) throws -> Int {
        guard let number = value as? Int else { throw fail("expected an integer, found \(typeName)") }
        guard number >= minimum else { throw fail("expected an integer >= \(minimum), found \(number)") }
        return number
    }

    func bool() throws -> Bool {
        guard let flag = value as? Bool else { throw fail("expected true or false, found \(typeName)") }
        return flag
    }
}
