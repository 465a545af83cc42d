// Layer 2 foundation: host statuses become typed errors, and byte strings the
// host hands over become owned Swift arrays.

/// A host call returned a status other than `Ok`.
public struct HostError: Error, Equatable {
    /// The status the host returned (`unknownStatus` keeps values outside the enum).
    public let status: WasmResult
    /// The raw status value, as returned by the host.
    public let rawStatus: UInt32

    public init(rawStatus: UInt32) {
        self.rawStatus = rawStatus
        self.status = WasmResult(rawValue: rawStatus) ?? .internalFailure
    }

    public init(_ status: WasmResult) {
        self.status = status
        self.rawStatus = status.rawValue
    }

    /// `NotFound`: the usual "absent" answer, mapped to `nil` by most wrappers.
    public var isNotFound: Bool { status == .notFound }
}

/// Throws unless `raw` is `Ok`.
@inline(__always)
func check(_ raw: UInt32) throws(HostError) {
    if raw != 0 { throw HostError(rawStatus: raw) }
}

/// Takes ownership of a buffer the host allocated in our memory (through
/// `proxy_on_memory_allocate`), copies it into an array and frees it.
/// A null pointer or zero size is the host's encoding of an empty value.
@inline(__always)
func takeHostBuffer(_ pointer: UnsafeMutablePointer<UInt8>?, _ size: Int) -> [UInt8] {
    guard let pointer else { return [] }
    defer { pointer.deallocate() }
    if size <= 0 { return [] }
    // One bulk copy (memory.copy); the generic sequence initialiser copies a byte at a time.
    return [UInt8](unsafeUninitializedCapacity: size) { storage, initialized in
        UnsafeMutableRawPointer(storage.baseAddress!).copyMemory(from: pointer, byteCount: size)
        initialized = size
    }
}

/// Calls a host function that returns a byte string through two out slots,
/// and returns the bytes it handed over.
@inline(__always)
func hostBytes(
    _ body: (UnsafeMutablePointer<UnsafeMutablePointer<UInt8>?>, UnsafeMutablePointer<Int>) -> UInt32
) throws(HostError) -> [UInt8] {
    var pointer: UnsafeMutablePointer<UInt8>? = nil
    var size = 0
    let status = body(&pointer, &size)
    if status != 0 {
        // A host that fails after writing the slots must not leak our memory.
        if let pointer { pointer.deallocate() }
        throw HostError(rawStatus: status)
    }
    return takeHostBuffer(pointer, size)
}

/// Runs `body` with the UTF-8 bytes of `string`, without copying when the
/// string is already contiguous.
@inline(__always)
func withUTF8Bytes<R>(_ string: String, _ body: (UnsafeBufferPointer<UInt8>) -> R) -> R {
    var copy = string
    return copy.withUTF8 { body($0) }
}

/// Runs `body` with the bytes of `bytes` (a null base for an empty array is fine:
/// hosts accept (0, 0) as an empty slice).
@inline(__always)
func withBytes<R>(_ bytes: [UInt8], _ body: (UnsafeBufferPointer<UInt8>) -> R) -> R {
    bytes.withUnsafeBufferPointer { body($0) }
}
