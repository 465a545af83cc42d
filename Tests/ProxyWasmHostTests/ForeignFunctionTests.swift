import ProxyWasmABI
import ProxyWasmTestFixtures
import ProxyWasmTestSupport
import Testing

@testable import ProxyWasmHost

/// `proxy_call_foreign_function` and the foreign functions Envoy registers.
@Suite("Foreign functions")
struct ForeignFunctionTests {
    /// Calls `name(arguments)` through the ABI; returns the status and, on success, the result bytes.
    func callForeign(_ vm: PluginVM, _ memory: ArrayGuestMemory, _ name: String, _ arguments: [UInt8]) throws -> (WasmResult, [UInt8]) {
        memory.place(Array(name.utf8), at: 0x1000)
        memory.place(arguments, at: 0x2000)
        memory.place([0xAA, 0xAA, 0xAA, 0xAA, 0xAA, 0xAA, 0xAA, 0xAA], at: 0x0F00)
        let raw = try vm.call(
            "proxy_call_foreign_function", 0x1000, UInt64(name.utf8.count), 0x2000,
            UInt64(arguments.count), 0x0F00, 0x0F04)!
        let status = try #require(WasmResult(rawValue: raw))
        guard status == .ok else { return (status, []) }
        let size = memory.readUInt32(0x0F04)!
        let result = size == 0 ? [] : memory.read(memory.readUInt32(0x0F00)!, size)!
        return (status, result)
    }

    // zlib's output is deterministic for a given level: these are Python's `zlib.compress(...)`.
    @Test func compressProducesZlibsFormat() throws {
        let (vm, memory, _) = hostCallFixture()
        #expect(try callForeign(vm, memory, "compress", Array("hello".utf8)) == (.ok, hexBytes("789ccb48cdc9c90700062c0215")))
        #expect(try callForeign(vm, memory, "compress", []) == (.ok, hexBytes("789c030000000001")))
    }

    @Test func uncompressRoundTripsAndRejectsCorruptInput() throws {
        let (vm, memory, _) = hostCallFixture()
        #expect(try callForeign(vm, memory, "uncompress", hexBytes("789ccb48cdc9c90700062c0215")) == (.ok, Array("hello".utf8)))
        let payload = (0..<300).map { UInt8(truncatingIfNeeded: $0 &* 7919 >> 3) }
        let (status, compressed) = try callForeign(vm, memory, "compress", payload)
        #expect(status == .ok)
        #expect(try callForeign(vm, memory, "uncompress", compressed) == (.ok, payload))
        #expect(try callForeign(vm, memory, "uncompress", Array("not zlib".utf8)) == (.serializationFailure, []))
        var truncated = hexBytes("789ccb48cdc9c90700062c0215")
        truncated.removeLast(3)
        #expect(try callForeign(vm, memory, "uncompress", truncated) == (.serializationFailure, []))
    }

    /// Envoy allots `2 * input + 2` bytes and only retries on Z_MEM_ERROR: 40 bytes of
    /// "abab..." compress to 13, need 40 > 28, and fail as Envoy fails them.
    @Test func uncompressFailsLikeEnvoyWhenTheOutputIsOverTwiceTheInput() throws {
        let (vm, memory, _) = hostCallFixture()
        let compressed = hexBytes("789c4b4c4a240a0200387b0f3d")
        #expect(Zlib.uncompress(compressed).0 == .serializationFailure)
        #expect(try callForeign(vm, memory, "uncompress", compressed) == (.serializationFailure, []))
    }

    @Test func declarePropertyAcceptsEachNameOnce() throws {
        let (vm, memory, _) = hostCallFixture()
        // DeclarePropertyArguments{name: "peer", readonly: true, type: BYTES(0), span: FilterState(0)}
        let arguments: [UInt8] = [0x0A, 0x04] + Array("peer".utf8) + [0x10, 0x01]
        #expect(try callForeign(vm, memory, "declare_property", arguments).0 == .ok)
        #expect(try callForeign(vm, memory, "declare_property", arguments).0 == .badArgument)
        #expect(try callForeign(vm, memory, "declare_property", [0x0A, 0x09, 0x41]).0 == .badArgument)  // length past the end
        #expect(try callForeign(vm, memory, "declare_property", [0x10, 0x01]).0 == .badArgument)  // no name
    }

    @Test func unknownFunctionsAndBadMemoryAreEnvoysStatuses() throws {
        let (vm, memory, _) = hostCallFixture()
        #expect(try callForeign(vm, memory, "sign", []).0 == .notFound)
        #expect(try vm.call("proxy_call_foreign_function", 0xFFFF_0000, 8, 0x2000, 0, 0x0F00, 0x0F04) == WasmResult.invalidMemoryAccess.rawValue)
        #expect(try vm.call("proxy_call_foreign_function", 0x1000, 8, 0xFFFF_0000, 4, 0x0F00, 0x0F04) == WasmResult.invalidMemoryAccess.rawValue)
    }

    @Test func pluginsCanRegisterTheirOwnFunctions() throws {
        let (vm, memory, _) = hostCallFixture()
        vm.registerForeignFunction("reverse") { _, arguments in (.ok, arguments.reversed()) }
        #expect(try callForeign(vm, memory, "reverse", [1, 2, 3]) == (.ok, [3, 2, 1]))
    }
}

/// Envoy's CEL foreign functions: tokens, deletion and unknown tokens
/// (Tests/Envoy/test_cel_foreign_functions.py compares the answers with Envoy's).
@Suite("CEL foreign functions")
struct CELForeignFunctionTests {
    @Test func tokensCountFromZeroAndDeletedTokensAreUnknown() throws {
        let vm = PluginVM(proxy: Proxy(name: "p"), vmID: "v")
        func call(_ name: String, _ arguments: [UInt8]) -> (WasmResult, [UInt8]) {
            vm.foreignFunctions[name]!(vm, arguments)
        }
        #expect(call("expr_create", Array("1 + 2".utf8)) == (.ok, [0, 0, 0, 0]))
        #expect(call("expr_create", Array("'a' + 'b'".utf8)) == (.ok, [1, 0, 0, 0]))
        #expect(call("expr_create", Array("((".utf8)).0 == .badArgument)
        #expect(call("expr_evaluate", [0, 0, 0, 0]) == (.ok, PropertyValue.encode(int64: 3)))
        #expect(call("expr_evaluate", [1, 0, 0, 0]) == (.ok, Array("ab".utf8)))
        #expect(call("expr_evaluate", [7, 0, 0, 0]).0 == .notFound)
        #expect(call("expr_evaluate", [0, 0]).0 == .notFound)
        #expect(call("expr_delete", [0, 0, 0, 0]).0 == .ok)
        #expect(call("expr_evaluate", [0, 0, 0, 0]).0 == .notFound)
        #expect(call("expr_delete", [0, 0, 0, 0]).0 == .notFound)
        #expect(call("expr_create", Array("true".utf8)) == (.ok, [2, 0, 0, 0]))  // tokens are not reused
    }
}
