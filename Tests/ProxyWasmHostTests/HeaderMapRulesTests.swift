import ProxyWasmABI
import ProxyWasmHost
import Testing

/// Envoy's header-map rules on plain pairs, without a module or guest memory.
@Suite struct HeaderMapRulesTests {
    func pairs(_ list: [(String, String)]) -> [HeaderPair] { list.map { HeaderPair($0.0, $0.1) } }
    func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }

    @Test func lookupsIgnoreCaseAndAnswerTheFirstPair() {
        let map = pairs([("x-a", "1"), ("x-b", "2"), ("x-a", "3")])
        #expect(HeaderMapRules.value(of: bytes("X-A"), in: map) == bytes("1"))
        #expect(HeaderMapRules.value(of: bytes("x-c"), in: map) == nil)
    }

    @Test func replaceKeepsTheFirstPlaceAndDropsLaterDuplicates() {
        var map = pairs([("x-a", "1"), ("x-b", "2"), ("x-a", "3")])
        HeaderMapRules.replace(bytes("X-A"), bytes("new"), in: &map)
        #expect(map == pairs([("x-a", "new"), ("x-b", "2")]))
        HeaderMapRules.replace(bytes("X-C"), bytes("c"), in: &map)
        #expect(map == pairs([("x-a", "new"), ("x-b", "2"), ("x-c", "c")]))
    }

    @Test func addAppendsAndRemoveDropsEveryPairWithTheKey() {
        var map = pairs([("x-a", "1")])
        HeaderMapRules.add(bytes("X-A"), bytes("2"), to: &map)
        #expect(map == pairs([("x-a", "1"), ("x-a", "2")]))
        HeaderMapRules.remove(bytes("x-A"), from: &map)
        #expect(map.isEmpty)
    }

    @Test func decodedPairsAreLowerCasedAndMalformedBytesAreAnEmptyMap() {
        let encoded = HeaderPairs.encode(pairs([("Content-Type", "text/plain"), ("X-\u{C9}", "v")]))
        // Only ASCII letters change case, as Envoy's LowerCaseString.
        #expect(HeaderMapRules.decode(encoded) == pairs([("content-type", "text/plain"), ("x-\u{C9}", "v")]))
        #expect(HeaderMapRules.decode([0xFF, 0xFF, 0xFF, 0x7F]) == [])
        #expect(HeaderMapRules.byteSize(pairs([("ab", "c"), ("d", "")])) == 4)
    }
}
