import ProxyWasmABI

// Moving values between guest memory and the host, for the generated bindings (inputs) and the
// handlers (outputs). Every access is bounds-checked by `GuestMemory`; a failed one is reported,
// never trapped.

extension PluginVM {
    var memory: GuestMemory? { guest?.memory }

    /// Reads a guest slice; nil on bad memory (or with no guest).
    func slice(_ pointer: UInt32, _ size: UInt32) -> [UInt8]? {
        memory?.read(pointer, size)
    }

    /// Reads bytes a handler reads late; nil on bad memory.
    func read(_ input: GuestBytes) -> [UInt8]? {
        slice(input.pointer, input.size)
    }

    /// Writes a little-endian u32; false on bad memory.
    func store(_ value: UInt32, in output: WordOutput) -> Bool {
        memory?.writeUInt32(output.address, value) == true
    }

    /// Writes a little-endian u64; false on bad memory.
    func store(_ value: UInt64, in output: UInt64Output) -> Bool {
        memory?.writeUInt64(output.address, value) == true
    }

    /// Copies a value out through `copyToPointerSize`, allocating via the guest
    /// allocator under Envoy's allocator restriction.
    func copyOut(_ bytes: [UInt8], to output: BytesOutput) throws -> WasmResult {
        guard let memory else { return .invalidMemoryAccess }
        let saved = frame.restriction
        frame.restriction = .allocator
        defer { frame.restriction = saved }
        return try memory.copyOut(bytes, pointerSlot: output.pointerSlot, sizeSlot: output.sizeSlot)
    }
}
