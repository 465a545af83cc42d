import ProxyWasm
import ProxyWasmABI
import ProxyWasmHost

/// Serves the natively compiled SDK's raw calls with the host's own host
/// functions: arguments are staged in `ScratchMemory` at guest addresses, the
/// call goes through `PluginVM.dispatchHostCall` (the path a wasm import
/// takes: restrictions, capability allow-list, trace), and whatever the host
/// wrote to the out-slots is copied back into the plugin's pointers. Its
/// `NativeProxyHost` methods are generated (HostBridgeCalls.swift).
final class HostBridge {
    private unowned let vm: PluginVM
    private let memory: ScratchMemory
    private var pendingError: Error?

    init(vm: PluginVM, memory: ScratchMemory) {
        self.vm = vm
        self.memory = memory
    }

    /// The first error a host call raised since the last check (a wasm guest
    /// would have trapped on it).
    func takePendingError() -> Error? {
        defer { pendingError = nil }
        return pendingError
    }

    /// One host call's arguments in guest form, and the copy-backs to run after it.
    struct Staged {
        let memory: ScratchMemory
        var arguments: [UInt64] = []
        var copyBacks: [() -> Void] = []

        mutating func value(_ value: UInt32) { arguments.append(UInt64(value)) }
        mutating func value64(_ value: UInt64) { arguments.append(value) }
        mutating func count(_ value: Int) { arguments.append(UInt64(UInt32(truncatingIfNeeded: value))) }

        /// (pointer, size) of an input byte string.
        mutating func bytes(_ data: UnsafeBufferPointer<UInt8>) {
            arguments.append(UInt64(memory.stage(data)))
            count(data.count)
        }

        /// A u32 out-slot (a nil pointer is guest address 0, as in wasm).
        mutating func word(_ pointer: UnsafeMutablePointer<UInt32>?) {
            guard let pointer else {
                arguments.append(0)
                return
            }
            let slot = memory.slot(UInt64(pointer.pointee))
            arguments.append(UInt64(slot))
            copyBacks.append { [memory] in if let value = memory.readUInt32(slot) { pointer.pointee = value } }
        }

        /// A usize out-slot (32 bits in wasm32).
        mutating func size(_ pointer: UnsafeMutablePointer<Int>?) {
            guard let pointer else {
                arguments.append(0)
                return
            }
            let slot = memory.slot(UInt64(UInt32(truncatingIfNeeded: pointer.pointee)))
            arguments.append(UInt64(slot))
            copyBacks.append { [memory] in if let value = memory.readUInt32(slot) { pointer.pointee = Int(value) } }
        }

        /// A u64 out-slot.
        mutating func long(_ pointer: UnsafeMutablePointer<UInt64>?) {
            guard let pointer else {
                arguments.append(0)
                return
            }
            let slot = memory.slot(pointer.pointee, width: 8)
            arguments.append(UInt64(slot))
            copyBacks.append { [memory] in if let value = memory.readUInt64(slot) { pointer.pointee = value } }
        }

        /// A (pointer, size) pair of out-slots for a returned byte string. If
        /// the host filled them, the bytes move into a buffer the SDK owns.
        mutating func returned(
            _ pointer: UnsafeMutablePointer<UnsafeMutablePointer<UInt8>?>?,
            _ size: UnsafeMutablePointer<Int>?
        ) {
            let untouched: UInt64 = 0xFFFF_FFFF
            let pointerSlot = pointer == nil ? 0 : memory.slot(untouched)
            let sizeSlot = size == nil ? 0 : memory.slot(0)
            arguments.append(UInt64(pointerSlot))
            arguments.append(UInt64(sizeSlot))
            guard let pointer else { return }
            copyBacks.append { [memory] in
                guard let address = memory.readUInt32(pointerSlot), UInt64(address) != untouched,
                    let count = memory.readUInt32(sizeSlot)
                else { return }
                let bytes = address == 0 || count == 0 ? [] : memory.read(address, count) ?? []
                NativeHostBridge.handOver(bytes, pointer, size)
            }
        }
    }

    /// Stages the arguments, runs the host function, copies results back and
    /// releases the scratch space.
    func call(_ name: String, _ build: (inout Staged) -> Void) -> UInt32 {
        let mark = memory.mark
        defer { memory.release(to: mark) }
        var staged = Staged(memory: memory)
        build(&staged)
        do {
            let result = try vm.dispatchHostCall(module: "env", name: name, ArrayArguments(staged.arguments)) ?? 0
            for copyBack in staged.copyBacks { copyBack() }
            return result
        } catch {
            if pendingError == nil { pendingError = error }
            return WasmResult.internalFailure.rawValue
        }
    }
}
