import ProxyWasmABI

// The guest-memory protocol every host function is written against, so the
// ABI semantics live in one place whatever runs the guest (WasmKit, or the
// SDK compiled natively). All accesses are bounds-checked exactly as
// proxy-wasm-cpp-host does (`ptr + size > memory size` fails; address 0 is
// an ordinary address) and never crash the host.

/// A guest's linear memory and allocator.
public protocol GuestMemory: AnyObject {
    /// Current size of linear memory in bytes.
    var byteCount: Int { get }

    /// Copies `count` bytes at `address`, or `nil` if the range is out of bounds.
    func read(_ address: UInt32, _ count: UInt32) -> [UInt8]?

    /// Writes `bytes` at `address`; `false` if the range is out of bounds.
    func write(_ address: UInt32, _ bytes: [UInt8]) -> Bool

    /// Calls the guest's allocator (`malloc`, else `proxy_on_memory_allocate`).
    /// Returns the guest address; throws if the guest traps.
    func allocate(_ size: UInt32) throws -> UInt32
}

extension GuestMemory {
    /// Whether `[address, address + count)` lies inside memory.
    public func contains(_ address: UInt32, _ count: UInt32) -> Bool {
        UInt64(address) + UInt64(count) <= UInt64(byteCount)
    }

    /// Writes a little-endian u32 (proxy-wasm-cpp-host `setWord`).
    public func writeUInt32(_ address: UInt32, _ value: UInt32) -> Bool {
        write(
            address,
            [
                UInt8(truncatingIfNeeded: value), UInt8(truncatingIfNeeded: value >> 8),
                UInt8(truncatingIfNeeded: value >> 16), UInt8(truncatingIfNeeded: value >> 24),
            ])
    }

    /// Writes a little-endian u64.
    public func writeUInt64(_ address: UInt32, _ value: UInt64) -> Bool {
        write(address, (0..<8).map { UInt8(truncatingIfNeeded: value >> (8 * UInt64($0))) })
    }

    /// Reads a little-endian u32.
    public func readUInt32(_ address: UInt32) -> UInt32? {
        guard let bytes = read(address, 4) else { return nil }
        return UInt32(bytes[0]) | UInt32(bytes[1]) << 8 | UInt32(bytes[2]) << 16 | UInt32(bytes[3]) << 24
    }

    /// Reads a little-endian u64.
    public func readUInt64(_ address: UInt32) -> UInt64? {
        guard let bytes = read(address, 8) else { return nil }
        return bytes.enumerated().reduce(UInt64(0)) { $0 | UInt64($1.element) << (8 * UInt64($1.offset)) }
    }

    /// proxy-wasm-cpp-host's `copyToPointerSize`: an empty value writes (0, 0)
    /// without allocating; otherwise the guest allocates exactly `bytes.count`,
    /// the bytes are copied and (pointer, size) written to the two slots.
    public func copyOut(_ bytes: [UInt8], pointerSlot: UInt32, sizeSlot: UInt32) throws -> WasmResult {
        if bytes.isEmpty {
            guard writeUInt32(pointerSlot, 0), writeUInt32(sizeSlot, 0) else { return .invalidMemoryAccess }
            return .ok
        }
        let address = try allocate(UInt32(bytes.count))
        guard address != 0, contains(address, UInt32(bytes.count)), write(address, bytes) else {
            return .invalidMemoryAccess
        }
        guard writeUInt32(pointerSlot, address), writeUInt32(sizeSlot, UInt32(bytes.count)) else {
            return .invalidMemoryAccess
        }
        return .ok
    }
}

/// A plain byte array as guest memory, with a bump allocator: for tests of
/// host-function semantics without any guest.
public final class ArrayGuestMemory: GuestMemory {
    public var bytes: [UInt8]
    public var nextAllocation: UInt32
    public private(set) var allocations: [(address: UInt32, size: UInt32)] = []

    public init(size: Int = 65536, heapStart: UInt32 = 32768) {
        bytes = [UInt8](repeating: 0, count: size)
        nextAllocation = heapStart
    }

    public var byteCount: Int { bytes.count }

    public func read(_ address: UInt32, _ count: UInt32) -> [UInt8]? {
        guard contains(address, count) else { return nil }
        return Array(bytes[Int(address)..<Int(address) + Int(count)])
    }

    public func write(_ address: UInt32, _ data: [UInt8]) -> Bool {
        guard contains(address, UInt32(truncatingIfNeeded: data.count)), data.count <= UInt32.max else { return false }
        bytes.replaceSubrange(Int(address)..<Int(address) + data.count, with: data)
        return true
    }

    public func allocate(_ size: UInt32) throws -> UInt32 {
        let address = nextAllocation
        guard UInt64(address) + UInt64(size) <= UInt64(bytes.count) else { return 0 }
        nextAllocation += (size + 7) & ~7
        allocations.append((address, size))
        return address
    }

    /// Places `data` at `address` (test setup).
    public func place(_ data: [UInt8], at address: UInt32) {
        _ = write(address, data)
    }
}
