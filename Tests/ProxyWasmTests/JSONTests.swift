import Testing

@testable import PluginJSON

@Suite("Plugin JSON parser")
struct JSONTests {
    @Test func parsesEveryKindOfValue() throws {
        let value = try JSONParser.parse(#" {"a": [1, -2.5e3, true, false, null], "b": {"c": "d\n\u00e9\ud83d\ude00"}} "#)
        #expect(value["a"] == .array([.number("1"), .number("-2.5e3"), .bool(true), .bool(false), .null]))
        #expect(value["b"]?["c"] == .string("d\n\u{E9}\u{1F600}"))
    }

    @Test func keepsMemberOrderAndLastDuplicateWins() throws {
        let value = try JSONParser.parse(#"{"z": 1, "a": 2, "z": 3}"#)
        guard case let .object(members) = value else {
            Issue.record("not an object")
            return
        }
        #expect(members.map(\.key) == ["z", "a", "z"])
        #expect(value["z"] == .number("3"))
    }

    static let invalid: [(String, Int, String)] = [
        ("", 0, "expected a value, found the end of input"),
        ("{", 1, "expected a member name in quotes"),
        (#"{"a" 1}"#, 5, "expected ':' after a member name"),
        (#"{"a": 1,}"#, 8, "expected a member name in quotes"),
        ("[1 2]", 3, "expected ',' or ']' in an array"),
        ("01", 1, "unexpected data after the document"),
        ("-", 1, "expected a digit"),
        ("1.", 2, "expected a digit after '.'"),
        ("tru", 0, "truncated literal"),
        ("nul!", 0, "invalid literal"),
        (#""abc"#, 4, "unterminated string"),
        (#""\x""#, 2, "invalid escape"),
        (#""\ud800""#, 7, "unpaired surrogate"),
        ("\"a\u{01}\"", 2, "control character in a string"),
        ("{} {}", 3, "unexpected data after the document"),
    ]

    @Test(arguments: invalid.indices)
    func syntaxErrorsNameTheOffsetAndTheReason(_ index: Int) {
        let (text, offset, reason) = Self.invalid[index]
        #expect(throws: JSONError(offset: offset, reason: reason)) { try JSONParser.parse(text) }
    }

    @Test func nestingAndSizeAreBounded() {
        let deep = String(repeating: "[", count: 100) + String(repeating: "]", count: 100)
        #expect(throws: JSONError.self) { try JSONParser.parse(deep) }
        #expect((try? JSONParser.parse(Array(deep.utf8), maxDepth: 100)) != nil)
        #expect(throws: JSONError(offset: 0, reason: "document of 10 bytes exceeds the limit of 5")) {
            try JSONParser.parse(Array("[1,2,3,4,5]".utf8.prefix(10)), maxBytes: 5)
        }
    }

    @Test func errorMessagesReadWell() {
        #expect(JSONError(offset: 3, reason: "invalid literal").message == "invalid JSON at byte 3: invalid literal")
    }
}
