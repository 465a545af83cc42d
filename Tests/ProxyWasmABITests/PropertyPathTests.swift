import Testing

@testable import ProxyWasmABI

@Suite("Property paths and values")
struct PropertyPathTests {
    @Test func segmentsAreJoinedWithSingleNulBytes() throws {
        let bytes = try PropertyPath.encode(["xds", "node", "id"])
        #expect(
            bytes == [
                0x78, 0x64, 0x73,  // "xds"
                0x00,  // separator
                0x6E, 0x6F, 0x64, 0x65,  // "node"
                0x00,  // separator
                0x69, 0x64,  // "id" (no trailing NUL)
            ])
        #expect(try PropertyPath.encode(dotted: "xds.node.id") == bytes)
    }

    @Test func decodingToleratesOneTrailingNul() throws {
        #expect(try PropertyPath.decodeStrings(Array("a\0b\0".utf8)) == ["a", "b"])
        #expect(try PropertyPath.decodeStrings(Array("plugin_name".utf8)) == ["plugin_name"])
    }

    @Test func emptySegmentsAreRejected() {
        #expect(throws: PropertyPathError.emptySegment(index: 1)) { try PropertyPath.decode(Array("a\0\0b".utf8)) }
        #expect(throws: PropertyPathError.emptySegment(index: 0)) { try PropertyPath.decode([0x00, 0x61]) }
        #expect(throws: PropertyPathError.empty) { try PropertyPath.decode([]) }
        #expect(throws: PropertyPathError.emptySegment(index: 1)) { try PropertyPath.encode(["a", "", "b"]) }
        #expect(throws: PropertyPathError.nulInSegment(index: 0)) { try PropertyPath.encode(["a\0b"]) }
        #expect(throws: PropertyPathError.empty) { try PropertyPath.encode([]) }
    }

    @Test func displayJoinsWithDots() {
        #expect(PropertyPath.display(Array("xds\0node\0metadata\0NAME".utf8)) == "xds.node.metadata.NAME")
    }

    @Test func envoyScalarEncodings() throws {
        // response.code = 200 as int64 little-endian.
        #expect(PropertyValue.encode(int64: 200) == [0xC8, 0, 0, 0, 0, 0, 0, 0])
        #expect(try PropertyValue.decodeInt64([0xC8, 0, 0, 0, 0, 0, 0, 0]) == 200)
        #expect(try PropertyValue.decodeInt64([0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF]) == -1)
        // A Struct number 42 is a double: 0x4045000000000000.
        #expect(PropertyValue.encode(double: 42) == [0, 0, 0, 0, 0, 0, 0x45, 0x40])
        #expect(try PropertyValue.decodeDouble([0, 0, 0, 0, 0, 0, 0x45, 0x40]) == 42)
        // connection.mtls is one byte.
        #expect(PropertyValue.encode(bool: true) == [1])
        #expect(try PropertyValue.decodeBool([0]) == false)
        #expect(throws: PropertyValueError.wrongSize(expected: 8, actual: 3)) { try PropertyValue.decodeUInt64([1, 2, 3]) }
        #expect(throws: PropertyValueError.wrongSize(expected: 1, actual: 2)) { try PropertyValue.decodeBool([1, 1]) }
    }
}
