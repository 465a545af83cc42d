import ProxyWasmABI
import Testing

@testable import ProxyWasmHost

/// Envoy's WASI subset, call by call, with its errno values and quirks.
@Suite("WASI as Envoy provides it")
struct WASITests {
    /// Places iovecs for `chunks` at 0x100 (data from 0x400); returns the iovec count.
    func iovecs(_ memory: ArrayGuestMemory, _ chunks: [String]) -> UInt64 {
        var data: UInt32 = 0x400
        for (index, chunk) in chunks.enumerated() {
            let bytes = Array(chunk.utf8)
            memory.place(bytes, at: data)
            _ = memory.writeUInt32(0x100 + UInt32(index) * 8, data)
            _ = memory.writeUInt32(0x104 + UInt32(index) * 8, UInt32(bytes.count))
            data += UInt32(bytes.count)
        }
        return UInt64(chunks.count)
    }

    @Test func writesToStdoutAndStderrBecomeLogLinesUnderBothModuleNames() throws {
        let (vm, memory, _) = hostCallFixture()
        let count = iovecs(memory, ["hello ", "world\n"])
        #expect(try vm.wasi("fd_write", 1, 0x100, count, 0x80) == WASI.success)
        #expect(memory.readUInt32(0x80) == 12)  // every byte counts as written, the newline too
        #expect(try vm.wasi("fd_write", module: "wasi_unstable", 2, 0x100, count, 0x80) == WASI.success)
        #expect(vm.proxy.logs.map(\.message) == ["hello world", "hello world"])
        #expect(vm.proxy.logs.map(\.level) == [.info, .error])
    }

    @Test func writeErrorsAreErrnos() throws {
        let (vm, memory, _) = hostCallFixture()
        let count = iovecs(memory, ["x"])
        #expect(try vm.wasi("fd_write", 3, 0x100, count, 0x80) == WASI.badf)
        _ = memory.writeUInt32(0x100, 0xFFFF_FFF0)  // iovec pointing outside memory
        #expect(try vm.wasi("fd_write", 1, 0x100, count, 0x80) == WASI.fault)
        #expect(try vm.wasi("fd_write", 1, 0xFFFF_FFF8, 1, 0x80) == WASI.fault)
        let fine = iovecs(memory, ["y"])
        #expect(try vm.wasi("fd_write", 1, 0x100, fine, 0xFFFF_FFFE) == WASI.fault)  // result slot out of bounds
        #expect(vm.proxy.logs.map(\.message) == ["y"])  // the text is logged before the slot write fails, as in Envoy
    }

    @Test func clocksReadTheVirtualClock() throws {
        let (vm, memory, _) = hostCallFixture()
        vm.proxy.advanceClock(byMilliseconds: 5)
        #expect(try vm.wasi("clock_time_get", 0, 0, 0x80) == WASI.success)
        #expect(memory.readUInt64(0x80) == VirtualClock.defaultStart + 5_000_000)
        #expect(try vm.wasi("clock_time_get", 1, 0, 0x80) == WASI.success)
        #expect(memory.readUInt64(0x80) == 5_000_000)
        #expect(try vm.wasi("clock_time_get", 2, 0, 0x80) == WASI.notsup)
        #expect(try vm.wasi("clock_time_get", 0, 0, 0xFFFF_FFFC) == WASI.fault)
        #expect(try vm.wasi("clock_res_get", 1, 0x88) == WASI.success && memory.readUInt64(0x88) == 1)
        #expect(try vm.wasi("clock_res_get", 3, 0x88) == WASI.notsup)
    }

    @Test func randomBytesAreCappedAndReproducible() throws {
        let (first, memory, _) = hostCallFixture()
        #expect(try first.wasi("random_get", 0x100, 16) == WASI.success)
        let bytes = memory.read(0x100, 16)
        let (second, other, _) = hostCallFixture()
        #expect(try second.wasi("random_get", 0x100, 16) == WASI.success)
        #expect(other.read(0x100, 16) == bytes && bytes != [UInt8](repeating: 0, count: 16))
        #expect(try first.wasi("random_get", 0x100, 65537) == WASI.inval)
        #expect(try first.wasi("random_get", 0x100, 0) == WASI.success)
        #expect(try first.wasi("random_get", 0xFFFF_FFF0, 32) == WASI.fault)
    }

    @Test func noFilesNoEnvironmentNoArguments() throws {
        let (vm, memory, _) = hostCallFixture()
        memory.place([UInt8](repeating: 0xAA, count: 8), at: 0x80)
        #expect(try vm.wasi("environ_sizes_get", 0x80, 0x84) == WASI.success)
        #expect(memory.readUInt32(0x80) == 0 && memory.readUInt32(0x84) == 0)
        #expect(try vm.wasi("args_sizes_get", 0x80, 0xFFFF_FFFE) == WASI.fault)
        #expect(try vm.wasi("path_open", 3, 0, 0, 0, 0, 0, 0, 0, 0x80) == WASI.noent)
        #expect(try vm.wasi("fd_read", 0, 0x100, 1, 0x80) == WASI.nosys)
        #expect(try vm.wasi("fd_prestat_get", 3, 0x80) == WASI.badf)
        #expect(try vm.wasi("fd_fdstat_get", 1, 0x200) == WASI.success)
        #expect(memory.read(0x208, 1) == [64])  // rights: FD_WRITE
        #expect(try vm.wasi("fd_fdstat_get", 0, 0x200) == WASI.badf)
        #expect(try vm.wasi("fd_tell", 2, 0x80) == WASI.success && memory.readUInt64(0x80) == 0)
        #expect(try vm.wasi("fd_renumber", 1, 2) == WASI.notsup)
        #expect(try vm.wasi("path_link", 0, 0, 0, 0, 0, 0) == WASI.notsup)
    }

    @Test func quirksEnvoyHas() throws {
        let (vm, _, _) = hostCallFixture()
        // proc_exit returns instead of trapping; fd_seek/fd_close succeed and write nothing.
        #expect(try vm.wasi("proc_exit", 3) == nil)
        #expect(try vm.wasi("fd_seek", 1, 0, 0, 0x80) == WASI.success)
        #expect(try vm.wasi("fd_close", 1) == WASI.success)
        #expect(vm.proxy.logs.map(\.message) == ["wasi_unstable proc_exit", "wasi_unstable fd_seek", "wasi_unstable fd_close"])
        #expect(vm.proxy.logs.allSatisfy { $0.level == .trace })
        // preview1's proc_raise is not provided: a module importing it does not load.
        #expect(PluginVM.handler(module: "wasi_snapshot_preview1", name: "proc_raise") == nil)
        #expect(PluginVM.handler(module: "wasi_unstable", name: "fd_write") != nil)
        #expect(PluginVM.handler(module: "wasi", name: "fd_write") == nil)
    }

    @Test func everyCallIsTracedWithItsErrno() throws {
        let (vm, _, _) = hostCallFixture()
        _ = try vm.wasi("fd_read", 0, 0, 0, 0)
        let event = try #require(vm.trace.events.last)
        #expect(event.kind == .hostcall && event.name == "fd_read" && event.status == "errno 52")
    }
}
