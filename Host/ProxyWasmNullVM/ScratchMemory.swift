import ProxyWasmHost

/// The guest memory of the null VM. A natively compiled plugin has no linear
/// memory, so each host call stages its arguments here at 32-bit addresses,
/// the host function runs against them exactly as it would against a wasm
/// module's memory (same bounds checks, same allocator protocol), and the
/// results are copied back into the plugin's own buffers. Space is released
/// when the host call returns (`mark` / `release(to:)`), so the arena stays as
/// small as the largest single call.
final class ScratchMemory: GuestMemory {
    private(set) var bytes: [UInt8]
    private var top: UInt32

    /// Addresses below this are never allocated: a plugin's null pointer
    /// becomes address 0, which the host may write like any guest address.
    static let reserved: UInt32 = 64

    init() {
        bytes = [UInt8](repeating: 0, count: 4096)
        top = Self.reserved
    }

    var byteCount: Int { bytes.count }

    func read(_ address: UInt32, _ count: UInt32) -> [UInt8]? {
        guard contains(address, count) else { return nil }
        return Array(bytes[Int(address)..<Int(address) + Int(count)])
    }

    func write(_ address: UInt32, _ data: [UInt8]) -> Bool {
        guard data.count <= Int(UInt32.max), contains(address, UInt32(data.count)) else { return false }
        bytes.replaceSubrange(Int(address)..<Int(address) + data.count, with: data)
        return true
    }

    /// The guest allocator: bump allocation, growing the arena as needed.
    /// Answers 0 (allocation failure) past 4 GiB, as a wasm32 guest would.
    func allocate(_ size: UInt32) throws -> UInt32 {
        let address = (UInt64(top) + 7) & ~7
        let end = address + UInt64(size)
        guard end <= UInt64(UInt32.max) else { return 0 }
        if end > UInt64(bytes.count) {
            bytes.append(contentsOf: repeatElement(0, count: Int(max(end, UInt64(bytes.count) * 2)) - bytes.count))
        }
        top = UInt32(end)
        return UInt32(address)
    }

    /// Copies `data` in and returns its address (0 for empty data, as a guest passes it).
    func stage(_ data: UnsafeBufferPointer<UInt8>) -> UInt32 {
        guard data.count > 0, let address = try? allocate(UInt32(data.count)), address != 0 else { return 0 }
        _ = write(address, Array(data))
        return address
    }

    /// A fresh 4- or 8-byte slot holding `initial` (little-endian).
    func slot(_ initial: UInt64, width: Int = 4) -> UInt32 {
        guard let address = try? allocate(UInt32(width)) else { return 0 }
        _ = write(address, (0..<width).map { UInt8(truncatingIfNeeded: initial >> (8 * UInt64($0))) })
        return address
    }

    var mark: UInt32 { top }
    func release(to mark: UInt32) { top = mark }
}
