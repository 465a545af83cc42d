import ProxyWasmHost
import Testing

@Suite("Buffer rules")
struct BufferRulesTests {
    let body = Array("0123456789".utf8)

    @Test func readsAreClampedToTheBuffer() {
        #expect(BufferRules.bytes(of: body, start: 0, maxSize: 4) == Array("0123".utf8))
        #expect(BufferRules.bytes(of: body, start: 7, maxSize: 100) == Array("789".utf8))
        #expect(BufferRules.bytes(of: body, start: 10, maxSize: 4) == [])
        #expect(BufferRules.bytes(of: body, start: 3, maxSize: 0) == [])
        // sizes near 2^32 neither wrap nor trap
        #expect(BufferRules.bytes(of: body, start: 8, maxSize: .max) == Array("89".utf8))
        #expect(BufferRules.bytes(of: body, start: .max, maxSize: .max) == [])
    }

    @Test func writesReplaceThePrefixOrAppend() {
        #expect(BufferRules.replacing(body, start: 0, length: 3, with: Array("ab".utf8)) == Array("ab3456789".utf8))
        #expect(BufferRules.replacing(body, start: 0, length: 99, with: Array("ab".utf8)) == Array("ab".utf8))
        #expect(BufferRules.replacing(body, start: 0, length: 0, with: Array("ab".utf8)) == Array("ab0123456789".utf8))
        #expect(BufferRules.replacing(body, start: 10, length: 0, with: Array("ab".utf8)) == Array("0123456789ab".utf8))
        #expect(BufferRules.replacing(body, start: .max, length: 5, with: Array("ab".utf8)) == Array("0123456789ab".utf8))
        #expect(BufferRules.replacing(body, start: 4, length: 1, with: Array("ab".utf8)) == nil)
    }
}
