import ProxyWasmABI

// The guest addresses a host call's handler still sees, typed by what lies there: where an
// answer goes, and the one input Envoy reads late. The generated bindings (HostCallTable.swift)
// build them from the call's pointers; handlers go through `PluginVM.store`, `copyOut` and
// `read`, so none of them does address arithmetic or touches guest memory directly.

/// Bytes the guest passes in that the handler reads itself, after Envoy's own checks.
public struct GuestBytes: Sendable, Equatable {
    public let pointer: UInt32
    public let size: UInt32
    public init(_ pointer: UInt32, _ size: UInt32) {
        self.pointer = pointer
        self.size = size
    }
}

/// The guest address of a u32 (or a wasm32 usize) the host writes.
public struct WordOutput: Sendable, Equatable {
    public let address: UInt32
    public init(_ address: UInt32) { self.address = address }
}

/// The guest address of a u64 the host writes.
public struct UInt64Output: Sendable, Equatable {
    public let address: UInt32
    public init(_ address: UInt32) { self.address = address }
}

/// The guest addresses of a (pointer, size) pair the host fills with bytes it allocates in the
/// guest (proxy-wasm-cpp-host's `copyToPointerSize`).
public struct BytesOutput: Sendable, Equatable {
    public let pointerSlot: UInt32
    public let sizeSlot: UInt32
    public init(_ pointerSlot: UInt32, _ sizeSlot: UInt32) {
        self.pointerSlot = pointerSlot
        self.sizeSlot = sizeSlot
    }
}
