import ProxyWasmHost
import Testing

/// How values are written into traces and read back (`TraceText`, `TraceDiff`).
@Suite("trace text")
struct TraceTextTests {
    @Test func bytesAreEscapedNeverRaw() {
        #expect(TraceText.bytes(Array("plain text: é, ✓".utf8)) == "plain text: é, ✓")
        #expect(TraceText.bytes([0x00, 0x0A, 0x0D, 0x09, 0x1B, 0x7F, 0x5C]) == #"\0\n\r\t\x1b\x7f\\"#)
        // Not UTF-8: a lone continuation byte, a truncated sequence, an overlong encoding.
        #expect(TraceText.bytes([0x61, 0x80, 0x62]) == #"a\x80b"#)
        #expect(TraceText.bytes([0xE2, 0x9C]) == #"\xe2\x9c"#)
        #expect(TraceText.bytes([0xC0, 0xAF]) == #"\xc0\xaf"#)
        // C1 controls and the line/paragraph separators break lines in some readers.
        #expect(TraceText.bytes(Array("a\u{85}b\u{2028}c".utf8)) == #"a\u{85}b\u{2028}c"#)
        let long = TraceText.bytes([UInt8](repeating: 0x41, count: 300))
        #expect(long == String(repeating: "A", count: 256) + "...(300 bytes)")
        #expect(TraceText.controlsEscaped("keep \\ and é\nbreak") == #"keep \ and é\nbreak"#)
    }

    @Test func valuesReadAsTheirTypes() {
        #expect(TraceText.value(.int(-3)) == "-3")
        #expect(TraceText.value(.bool(true)) == "true")
        #expect(TraceText.value(.duration(1_500_000)) == "1.5ms")
        #expect(TraceText.value(.duration(250)) == "250ns")
        #expect(TraceText.value(.duration(2_000_000_000)) == "2s")
        #expect(TraceText.value(.duration(-1_234)) == "-1.234us")
        #expect(TraceText.value(.timestamp(1_764_680_400_000_000_001)) == "2025-12-02T13:00:00.000000001Z")
        #expect(TraceText.value(.timestamp(-1)) == "1969-12-31T23:59:59.999999999Z")
        #expect(
            TraceText.value(.map([PropertyEntry("mtls", .bool(true)), PropertyEntry("sni", .string("a\u{0}b"))]))
                == #"{mtls: true, sni: a\0b}"#)
        #expect(TraceText.value(.list([.int(1), .string("x")])) == "[1, x]")
        #expect(TraceText.value(.bytes([0x28, 0x00])) == #"(\0"#)
    }

    @Test func shorteningSaysHowMuchIsLeftOut() {
        #expect(TraceText.shortened(String(repeating: "x", count: 200), limit: 100) == String(repeating: "x", count: 100) + "...(+100 chars)")
        #expect(TraceText.shortened(String(repeating: "x", count: 110), limit: 100).count == 110)  // cutting would save nothing
    }

    static func event(_ name: String, _ args: [String: String] = [:], result: String? = nil, status: String? = "Ok") -> TraceEvent {
        TraceEvent(seq: 0, kind: .hostcall, depth: 1, source: "p/plugin", context: 2, name: name, args: args, result: result, status: status)
    }

    @Test func diffAlignsInsertionsAndMarksChangedFields() {
        let expected = [
            Self.event("a"), Self.event("proxy_get_property", ["path": "response.code"], result: "int 200"),
            Self.event("b"), Self.event("c"),
        ]
        var actual = expected
        actual.insert(contentsOf: [Self.event("extra"), Self.event("extra")], at: 1)
        actual[3] = Self.event("proxy_get_property", ["path": "response.code"], result: "int 503")
        actual.remove(at: 4)  // "b"
        let changes = TraceDiff.compare(expected, actual)
        #expect(
            changes == [
                .inserted(actual: 1), .inserted(actual: 2),
                .changed(expected: 1, actual: 3, fields: [TraceDiff.FieldChange(field: "result", expected: "int 200", actual: "int 503")]),
                .deleted(expected: 2),
            ])
        #expect(TraceDiff.compare(expected, expected).isEmpty)
        // Sequence numbers never count.
        var renumbered = expected
        for index in renumbered.indices { renumbered[index].seq = index + 40 }
        #expect(TraceDiff.compare(expected, renumbered).isEmpty)
    }

    @Test func longDifferingValuesAreShownWhereTheyDiffer() {
        let prefix = String(repeating: "label=.=value;.;", count: 30)
        let change = TraceDiff.Change.changed(
            expected: 0, actual: 0,
            fields: [
                TraceDiff.FieldChange(field: "args.metric", expected: prefix + "code=.=200", actual: prefix + "code=.=503")
            ])
        let text = TraceDiff.describe(change, [Self.event("m")], [Self.event("m")], valueLimit: 60)
        let line = text.split(separator: "\n").last.map(String.init) ?? ""
        #expect(line.hasPrefix("    args.metric: ...") && line.contains("code=.=200 -> ...") && line.hasSuffix("code=.=503"))
    }
}
