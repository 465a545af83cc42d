import Foundation
import ProxyWasmABI
import ProxyWasmTools
import ProxyWasmWasmKit

@testable import ProxyWasmHost

/// A guest with plain memory and no code: exercises host calls directly.
final class MemoryOnlyGuest: GuestInstance {
    let plain = ArrayGuestMemory()
    var memory: GuestMemory { plain }
    func hasExport(_ name: String) -> Bool { false }
    func call(_ name: String, _ arguments: [UInt32]) throws -> UInt32? { nil }
}

/// A VM on a fresh proxy with a memory-only guest and one live HTTP context
/// (id 2, root 1), for host-call tests.
func hostCallFixture(dialect: PropertyDialect = .current) -> (PluginVM, ArrayGuestMemory, ContextState) {
    let proxy = Proxy(name: "test", dialect: dialect)
    let vm = PluginVM(proxy: proxy, vmID: "vm", trace: TraceRecorder())
    let guest = MemoryOnlyGuest()
    vm.guest = guest
    let root = vm.registry.addRoot(PluginConfiguration(name: "plugin"))
    let stream = vm.registry.addStream(root: root.id, kind: .http, stream: StreamState())
    vm.frame.currentContextID = 2
    return (vm, guest.plain, stream)
}

extension PluginVM {
    /// Calls a host function by name with raw arguments.
    func call(_ name: String, _ arguments: UInt64...) throws -> UInt32? {
        try dispatchHostCall(module: "env", name: name, ArrayArguments(arguments))
    }

    /// Calls a WASI function by name (preview1 unless `module` says otherwise).
    func wasi(_ name: String, module: String = "wasi_snapshot_preview1", _ arguments: UInt64...) throws -> UInt32? {
        try dispatchHostCall(module: module, name: name, ArrayArguments(arguments))
    }
}

/// A guest whose callbacks are Swift closures over plain memory: drives the
/// host's delivery paths (call-out answers, ticks) without writing WAT.
final class ScriptedGuest: GuestInstance {
    let plain = ArrayGuestMemory()
    var memory: GuestMemory { plain }
    /// Callback name -> what it does; its arguments; its i32 result.
    var callbacks: [String: ([UInt32]) throws -> UInt32?] = [:]
    /// Every callback run, in order, with its arguments.
    private(set) var calls: [(name: String, arguments: [UInt32])] = []

    func hasExport(_ name: String) -> Bool { callbacks[name] != nil }

    func call(_ name: String, _ arguments: [UInt32]) throws -> UInt32? {
        calls.append((name, arguments))
        return try callbacks[name]?(arguments)
    }
}

extension ArrayGuestMemory {
    /// Places `data` at `address`; returns (address, size) as host-call arguments.
    func put(_ data: [UInt8], at address: UInt32) -> (UInt64, UInt64) {
        place(data, at: address)
        return (UInt64(address), UInt64(data.count))
    }

    /// Reads what a `copyToPointerSize` host call wrote through two slots.
    func copied(_ pointerSlot: UInt32, _ sizeSlot: UInt32) -> [UInt8]? {
        guard let pointer = readUInt32(pointerSlot), let size = readUInt32(sizeSlot) else { return nil }
        return size == 0 ? [] : read(pointer, size)
    }
}
