import Foundation
import ProxyWasmTestFixtures
import SwiftProtobuf
import Testing

@testable import TelemetryCore

@Suite("Peer metadata codecs")
struct PeerMetadataTests {
    static func localNode(_ file: String) -> PeerNode {
        let metadata = Fixtures.nodeMetadata(file)
        return PeerNode.local(
            strings: { metadata[$0] as? String },
            maps: { key in (metadata[key] as? [String: String]).map { $0.map { KeyValue($0.key, $0.value) } } })
    }

    static let cases: [(vector: String, node: String, id: String)] = [
        ("client", "client_node_metadata.rendered.json", "client"),
        ("server", "server_node_metadata.rendered.json", "server"),
        ("minimal", "minimal_node_metadata.json", "id1"),
    ]

    @Test(arguments: cases.indices)
    func headerValueMatchesTheComputedVectorByteForByte(_ index: Int) {
        let (vector, file, _) = Self.cases[index]
        let expected = Fixtures.vector(vector)
        let structBytes = StructCodec.encode(Self.localNode(file).exchangeStruct())
        #expect(structBytes == hexBytes(expected["struct_hex"]!))
        #expect(String(decoding: Base64.encode(structBytes), as: UTF8.self) == expected["header_b64"])
    }

    @Test(arguments: cases.indices)
    func tcpPrefixMatchesTheComputedVectorByteForByte(_ index: Int) {
        let (vector, file, id) = Self.cases[index]
        let prefix = TCPPrefix.encode(node: Self.localNode(file).tcpExchangeStruct(), id: id)
        #expect(prefix == hexBytes(Fixtures.vector(vector)["tcp_prefix_hex"]!))
    }

    @Test(arguments: cases.indices)
    func swiftProtobufReadsOurStructAndWritesTheSameBytes(_ index: Int) throws {
        let (vector, file, _) = Self.cases[index]
        let ours = StructCodec.encode(Self.localNode(file).exchangeStruct())
        var options = BinaryDecodingOptions()
        options.discardUnknownFields = false
        let parsed = try Google_Protobuf_Struct(serializedBytes: ours, options: options)
        #expect(parsed.fields["NAMESPACE"]?.stringValue == Self.localNode(file).namespace)
        var encoding = BinaryEncodingOptions()
        encoding.useDeterministicOrdering = true
        let theirs: [UInt8] = try parsed.serializedBytes(options: encoding)
        #expect(theirs == ours, "vector \(vector)")
        // And we read what swift-protobuf writes.
        #expect(try StructCodec.decodeStruct(theirs) == Self.localNode(file).exchangeStruct())
    }

    @Test func receivedHeadersBecomeTheSameNode() throws {
        let local = Self.localNode("client_node_metadata.rendered.json")
        let decoded = try StructCodec.decodeStruct(Base64.decode(Array(Fixtures.vector("client")["header_b64"]!.utf8))!)
        let peer = PeerNode.fromStruct(decoded)
        #expect(peer == local)
        #expect(peer.label("app") == "productpage")
        #expect(peer.appContainers == ["test", "bonzai"])
    }

    @Test func flatNodeRoundTripsAndKeepsLabelsSorted() throws {
        var node = Self.localNode("server_node_metadata.rendered.json")
        node.instanceIPs = ["10.0.0.2", "fe80::1"]
        let bytes = FlatNodeCodec.encode(node)
        #expect(bytes.count % 4 == 0)
        let decoded = try FlatNodeCodec.decode(bytes)
        #expect(decoded == node)
        let keys = decoded.labels!.map(\.key)
        #expect(keys == keys.sorted { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) })
        // Absent stays absent; an empty node is a table with no fields.
        let empty = try FlatNodeCodec.decode(FlatNodeCodec.encode(PeerNode()))
        #expect(empty == PeerNode() && empty.name == nil && empty.labels == nil)
    }

    @Test(arguments: 0..<300)
    func hostileFlatNodeBytesNeverCrashTheReader(_ seed: Int) {
        var bytes = FlatNodeCodec.encode(Self.localNode("client_node_metadata.rendered.json"))
        var state = UInt64(seed) &* 0x9E37_79B9_7F4A_7C15 &+ 1
        for _ in 0..<4 {
            state ^= state << 13
            state ^= state >> 7
            state ^= state << 17
            bytes[Int(state % UInt64(bytes.count))] = UInt8(truncatingIfNeeded: state >> 32)
        }
        if seed % 3 == 0 { bytes = Array(bytes.prefix(Int(state % UInt64(bytes.count)))) }
        _ = try? FlatNodeCodec.decode(bytes)
    }

    @Test func base64IsStrictButAcceptsMissingPadding() {
        #expect(Base64.encode(Array("ab".utf8)) == Array("YWI=".utf8))
        #expect(Base64.decode(Array("YWI=".utf8)) == Array("ab".utf8))
        #expect(Base64.decode(Array("YWI".utf8)) == Array("ab".utf8))
        #expect(Base64.decode(Array("YQ".utf8)) == Array("a".utf8))
        #expect(Base64.decode(Array("YR".utf8)) == nil)  // non-zero trailing bits
        #expect(Base64.decode(Array("Y".utf8)) == nil)
        #expect(Base64.decode(Array("YW-=".utf8)) == nil)  // not in the alphabet
        #expect(Base64.decode(Array("YWI==".utf8)) == nil)  // padding past the quantum
        #expect(Base64.decode([]) == [])
        for length in 0..<40 {
            let bytes = (0..<length).map { UInt8(truncatingIfNeeded: $0 &* 37 &+ 11) }
            #expect(Base64.decode(Base64.encode(bytes)) == bytes)
            #expect(Base64.encode(bytes) == Array(Data(bytes).base64EncodedString().utf8))
        }
    }

    static let hostileStructs: [(String, [UInt8])] = [
        ("truncated entry", [0x0A, 0x05, 0x0A, 0x01]),
        ("length past the end", [0x0A, 0xFF, 0xFF, 0x03]),
        ("key with wire type 0", [0x0A, 0x02, 0x08, 0x01]),
        ("value string with wire type 0", [0x0A, 0x04, 0x12, 0x02, 0x18, 0x01]),
        ("varint too long", [0x0A, 0x0B] + [UInt8](repeating: 0xFF, count: 11)),
        ("invalid UTF-8 key", [0x0A, 0x03, 0x0A, 0x01, 0xFF]),
    ]

    @Test(arguments: hostileStructs.indices)
    func malformedProtobufIsRejected(_ index: Int) {
        #expect(throws: ProtobufError.self) { try StructCodec.decodeStruct(Self.hostileStructs[index].1) }
    }

    @Test func nestingIsBounded() {
        var value = StructValue.string("x")
        for _ in 0..<40 { value = .structure(ProtoStruct([("k", value)])) }
        let bytes = StructCodec.encode(ProtoStruct([("deep", value)]))
        #expect(throws: ProtobufError.tooDeep(limit: StructCodec.maxDepth)) { try StructCodec.decodeStruct(bytes) }
    }

    @Test func nonStringValuesBecomeEmptyStrings() throws {
        let received = ProtoStruct([
            ("NAME", .number(3)), ("LABELS", .structure(ProtoStruct([("app", .bool(true))]))),
            ("UNKNOWN", .string("ignored")),
        ])
        let node = PeerNode.fromStruct(try StructCodec.decodeStruct(StructCodec.encode(received)))
        #expect(node.name == "")
        #expect(node.labels == [KeyValue("app", "")])
    }

    /// Keys are bytes, as in Istio's C++: a key that only looks like one we know (the same
    /// characters, decomposed) is another key, and an exact key matches.
    @Test func keysAndLabelsMatchByBytesNotByCanonicalEquivalence() throws {
        let composed = "caf\u{E9}"
        let decomposed = "cafe\u{301}"
        #expect(composed == decomposed)  // what String's == says
        #expect(!UTF8Text.equal(composed, decomposed))
        #expect(UTF8Text.equal(composed, "caf\u{E9}"))
        let received = ProtoStruct([
            ("LABELS", .structure(ProtoStruct([(decomposed, .string("v"))]))),
            ("NA\u{200B}ME", .string("zero-width space")), ("NAMESPACE", .string("ns")),
        ])
        let node = PeerNode.fromStruct(try StructCodec.decodeStruct(StructCodec.encode(received)))
        #expect(node.label(composed) == nil)
        #expect(node.label(decomposed) == "v")
        #expect(node.name == nil)
        #expect(node.namespace == "ns")
        #expect(ProtoStruct([(decomposed, .null)])[composed] == nil)
        #expect(ProtoStruct([(decomposed, .null)])[decomposed] == .null)
    }

    /// Lists split on the separator byte, also where a combining mark follows it
    /// (iterating characters would see one character there and not split).
    @Test func listsSplitOnTheSeparatorByte() {
        #expect(UTF8Text.split("", on: UInt8(ascii: ";")) == [""])
        #expect(UTF8Text.split("a;;b;", on: UInt8(ascii: ";")) == ["a", "", "b", ""])
        #expect(UTF8Text.split("w;\u{301}ns;svc", on: UInt8(ascii: ";")) == ["w", "\u{301}ns", "svc"])
        #expect(PeerNode.fromStruct(ProtoStruct([("APP_CONTAINERS", .string("a,\u{301}b"))])).appContainers == ["a", "\u{301}b"])
    }

    @Test func tcpPrefixParsingHandlesEveryShapeOfInput() {
        let prefix = TCPPrefix.encode(node: ProtoStruct([("NAME", .string("a"))]), id: "peer")
        #expect(TCPPrefix.parse([]) == .needMore)
        #expect(TCPPrefix.parse([0x3D, 0x23]) == .needMore)
        #expect(TCPPrefix.parse(Array("GET /".utf8)) == .invalid(.magicMismatch))
        #expect(TCPPrefix.parse([0x3D, 0x00]) == .invalid(.magicMismatch))
        for cut in 0..<prefix.count { #expect(TCPPrefix.parse(Array(prefix.prefix(cut))) == .needMore) }
        let complete = TCPPrefix.parse(prefix + Array("payload".utf8))
        #expect(complete == .complete(node: ProtoStruct([("NAME", .string("a"))]), id: "peer", consumed: prefix.count))
        #expect(TCPPrefix.parse([0x3D, 0x23, 0x04, 0x67, 0x7F, 0xFF, 0xFF, 0xFF]) == .invalid(.oversized(announced: 0x7FFF_FFFF, limit: 65536)))
        // Lengths with the top bit set are negative as a 32-bit Int: still rejected, never a trap.
        for top: UInt8 in [0x80, 0xC0, 0xFF] {
            let header: [UInt8] = [0x3D, 0x23, 0x04, 0x67, top, 0x00, 0x00, 0x10]
            #expect(
                TCPPrefix.parse(header + [UInt8](repeating: 0, count: 32)) == .invalid(.oversized(announced: UInt32(top) << 24 | 0x10, limit: 65536)))
        }
        #expect(TCPPrefix.parse(prefix, maxPayload: 4) == .invalid(.oversized(announced: UInt32(prefix.count - 8), limit: 4)))
        var wrongType = [UInt8](prefix)
        wrongType[20] = UInt8(ascii: "X")
        if case .invalid = TCPPrefix.parse(wrongType) {} else { Issue.record("wrong type URL accepted") }
    }
}
