import Testing

@testable import TelemetryCore

/// Property-style round trips over generated values (deterministic seeds).
@Suite("Codec round trips")
struct RoundTripTests {
    struct Generator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        mutating func int(_ bound: Int) -> Int { Int(next() % UInt64(bound)) }
        mutating func string() -> String {
            let alphabet = Array("abcXYZ09-_./:=;é😀 ")
            return String((0..<int(12)).map { _ in alphabet[int(alphabet.count)] })
        }
        mutating func value(depth: Int) -> StructValue {
            switch int(depth > 3 ? 4 : 6) {
            case 0: return .null
            case 1: return .number(Double(int(100_000)) / 7)
            case 2: return .string(string())
            case 3: return .bool(int(2) == 1)
            case 4: return .structure(structure(depth: depth + 1))
            default: return .list((0..<int(4)).map { _ in value(depth: depth + 1) })
            }
        }
        mutating func structure(depth: Int) -> ProtoStruct {
            var fields: [(key: String, value: StructValue)] = []
            for _ in 0..<int(6) {
                let key = string()
                if !fields.contains(where: { $0.key == key }) { fields.append((key, value(depth: depth))) }
            }
            return ProtoStruct(fields)
        }
        mutating func node() -> PeerNode {
            var node = PeerNode()
            if int(2) == 0 { node.name = string() }
            if int(2) == 0 { node.namespace = string() }
            if int(2) == 0 { node.clusterID = string() }
            if int(2) == 0 { node.labels = (0..<int(5)).map { _ in KeyValue(string(), string()) } }
            if int(2) == 0 { node.appContainers = (0..<int(3)).map { _ in string() } }
            if int(2) == 0 { node.instanceIPs = (0..<int(3)).map { _ in string() } }
            return node
        }
    }

    @Test(arguments: 0..<100)
    func structsSurviveEncodeDecode(_ seed: Int) throws {
        var generator = Generator(state: UInt64(seed))
        let value = generator.structure(depth: 0)
        let bytes = StructCodec.encode(value)
        #expect(try StructCodec.decodeStruct(bytes) == value)
        #expect(StructCodec.encode(try StructCodec.decodeStruct(bytes)) == bytes)  // deterministic
    }

    @Test(arguments: 0..<100)
    func flatNodesSurviveEncodeDecode(_ seed: Int) throws {
        var generator = Generator(state: UInt64(seed) &+ 7)
        var node = generator.node()
        let decoded = try FlatNodeCodec.decode(FlatNodeCodec.encode(node))
        node.labels = node.labels.map { $0.sorted { Array($0.key.utf8).lexicographicallyPrecedes(Array($1.key.utf8)) } }
        #expect(decoded.name == node.name && decoded.namespace == node.namespace && decoded.clusterID == node.clusterID)
        #expect(decoded.appContainers == node.appContainers && decoded.instanceIPs == node.instanceIPs)
        #expect(decoded.labels?.count == node.labels?.count)
    }

    @Test(arguments: 0..<200)
    func base64RoundTripsAnyBytes(_ seed: Int) {
        var generator = Generator(state: UInt64(seed) &+ 99)
        let bytes = (0..<generator.int(300)).map { _ in UInt8(truncatingIfNeeded: generator.next()) }
        let encoded = Base64.encode(bytes)
        #expect(Base64.decode(encoded) == bytes)
        #expect(Base64.decode(Array(encoded.prefix { $0 != UInt8(ascii: "=") })) == bytes)  // unpadded
    }
}
