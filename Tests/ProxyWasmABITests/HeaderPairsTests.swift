import Testing

@testable import ProxyWasmABI

@Suite("Header pairs codec")
struct HeaderPairsTests {
    /// The worked example from proxy-wasm-cpp-host's pairs_util, field by field.
    static let twoPairs: [UInt8] = [
        0x02, 0x00, 0x00, 0x00,  // N = 2 pairs
        0x01, 0x00, 0x00, 0x00,  // pair 0: key_len = 1
        0x01, 0x00, 0x00, 0x00,  // pair 0: value_len = 1
        0x01, 0x00, 0x00, 0x00,  // pair 1: key_len = 1
        0x02, 0x00, 0x00, 0x00,  // pair 1: value_len = 2
        0x61, 0x00,  // "a" NUL
        0x31, 0x00,  // "1" NUL
        0x62, 0x00,  // "b" NUL
        0x32, 0x32, 0x00,  // "22" NUL
    ]

    @Test func encodesTheWorkedExampleByteForByte() {
        let bytes = HeaderPairs.encode([("a", "1"), ("b", "22")])
        #expect(bytes == Self.twoPairs)
        #expect(bytes.count == 29)
        #expect(HeaderPairs.encodedSize([HeaderPair("a", "1"), HeaderPair("b", "22")]) == 29)
    }

    @Test func decodesTheWorkedExample() throws {
        let pairs = try HeaderPairs.decode(Self.twoPairs)
        #expect(pairs == [HeaderPair("a", "1"), HeaderPair("b", "22")])
        #expect(pairs[1].valueString == "22")
    }

    @Test func emptyMapEncodesAsAZeroCountAndDecodesFromNothing() throws {
        #expect(HeaderPairs.encode([HeaderPair]()) == [0x00, 0x00, 0x00, 0x00])  // N = 0, nothing else
        #expect(try HeaderPairs.decode([UInt8]()) == [])  // hosts send an empty map as (0, 0)
        #expect(try HeaderPairs.decode([0, 0, 0, 0]) == [])
    }

    @Test func emptyKeysAndValuesKeepTheirTerminators() throws {
        let bytes = HeaderPairs.encode([("x-empty", ""), ("", "v")])
        #expect(
            bytes == [
                0x02, 0x00, 0x00, 0x00,  // N = 2
                0x07, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,  // "x-empty" (7), "" (0)
                0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00,  // "" (0), "v" (1)
                0x78, 0x2D, 0x65, 0x6D, 0x70, 0x74, 0x79, 0x00,  // "x-empty" NUL
                0x00,  // "" NUL
                0x00,  // "" NUL
                0x76, 0x00,  // "v" NUL
            ])
        #expect(try HeaderPairs.decode(bytes) == [HeaderPair("x-empty", ""), HeaderPair("", "v")])
    }

    @Test func embeddedNulBytesSurviveBecauseLengthsAreExplicit() throws {
        let pair = HeaderPair(key: [0x6B], value: [0x61, 0x00, 0x62])
        #expect(try HeaderPairs.decode(HeaderPairs.encode([pair])) == [pair])
    }

    static let malformed: [(String, [UInt8], PairsDecodingError)] = [
        ("one byte", [0x00], .truncatedCount(size: 1)),
        ("three bytes", [0x01, 0x00, 0x00], .truncatedCount(size: 3)),
        ("count above 1024", [0x01, 0x04, 0x00, 0x00], .tooManyPairs(count: 1025, limit: 1024)),
        ("count 0xFFFFFFFF", [0xFF, 0xFF, 0xFF, 0xFF], .tooManyPairs(count: 0xFFFF_FFFF, limit: 1024)),
        ("size table cut short", [0x01, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00], .truncatedSizeTable(count: 1, size: 8)),
        (
            "key longer than the buffer",
            [0x01, 0, 0, 0, 0xFF, 0xFF, 0xFF, 0xFF, 0x00, 0, 0, 0, 0x61, 0x00, 0x00], .truncatedData(pair: 0)
        ),
        (
            "value longer than the buffer",
            [0x01, 0, 0, 0, 0x01, 0, 0, 0, 0x05, 0, 0, 0, 0x61, 0x00, 0x62, 0x00], .truncatedData(pair: 0)
        ),
        (
            "key not NUL-terminated",
            [0x01, 0, 0, 0, 0x01, 0, 0, 0, 0x01, 0, 0, 0, 0x61, 0x7A, 0x62, 0x00], .missingTerminator(pair: 0, offset: 13)
        ),
        (
            "value not NUL-terminated",
            [0x01, 0, 0, 0, 0x01, 0, 0, 0, 0x01, 0, 0, 0, 0x61, 0x00, 0x62, 0x7A], .missingTerminator(pair: 0, offset: 15)
        ),
        (
            "trailing bytes",
            [0x01, 0, 0, 0, 0x01, 0, 0, 0, 0x01, 0, 0, 0, 0x61, 0x00, 0x62, 0x00, 0xEE], .trailingBytes(count: 1)
        ),
    ]

    @Test(arguments: malformed.indices)
    func malformedBuffersAreRejectedWithTheReason(_ index: Int) {
        let (_, bytes, expected) = Self.malformed[index]
        #expect(throws: expected) { try HeaderPairs.decode(bytes) }
    }

    @Test func oversizedBuffersAreRejectedBeforeParsing() {
        let bytes = [UInt8](repeating: 0, count: 64)
        #expect(throws: PairsDecodingError.tooLarge(size: 64, limit: 32)) {
            try HeaderPairs.decode(bytes, maxBytes: 32)
        }
    }

    @Test func errorsExplainThemselves() {
        #expect(PairsDecodingError.trailingBytes(count: 3).message == "3 trailing bytes after the last pair")
    }

    @Test(arguments: 0..<50)
    func randomMapsRoundTrip(_ seed: Int) throws {
        var generator = SplitMix64(seed: UInt64(seed))
        var pairs: [HeaderPair] = []
        for _ in 0..<Int(generator.next() % 20) {
            let key = (0..<Int(generator.next() % 12)).map { _ in UInt8(truncatingIfNeeded: generator.next()) }
            let value = (0..<Int(generator.next() % 40)).map { _ in UInt8(truncatingIfNeeded: generator.next()) }
            pairs.append(HeaderPair(key: key, value: value))
        }
        let encoded = HeaderPairs.encode(pairs)
        #expect(encoded.count == HeaderPairs.encodedSize(pairs))
        #expect(try HeaderPairs.decode(encoded) == pairs)
    }

    @Test(arguments: 0..<200)
    func randomBytesNeverCrashTheDecoder(_ seed: Int) {
        var generator = SplitMix64(seed: UInt64(seed) &+ 1000)
        var bytes = (0..<Int(generator.next() % 64)).map { _ in UInt8(truncatingIfNeeded: generator.next()) }
        if bytes.count >= 4 {
            bytes[1] = 0
            bytes[2] = 0
            bytes[3] = 0
            bytes[0] %= 4
        }  // plausible counts
        _ = try? HeaderPairs.decode(bytes)
    }
}

/// A small deterministic generator for property-style tests.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
