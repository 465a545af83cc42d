// The seam that lets the SDK (and plugins built on it) run natively, without
// wasm: the raw host calls forward to a `NativeProxyHost` object, whose
// methods are generated from abi/HostFunctionTable.swift (NativeProxyHost.swift).
// The host's "null VM" mode and unit tests install one; a wasm32 build never
// sees this.
//
// The contract is the raw ABI itself: same argument order, same status codes,
// and returned byte strings are handed over exactly as a wasm host would do it
// (empty -> null pointer and size 0, no allocation; otherwise a buffer the
// SDK owns and frees, allocated with `NativeHostBridge.allocate(_:)`).

#if !arch(wasm32)

/// A value bound to one task for the duration of a native callback (task
/// locals must be Sendable; each value is only touched by the task it is bound to).
final class Scoped<Value>: @unchecked Sendable {
    let value: Value
    init(_ value: Value) { self.value = value }
}

/// A host that implements nothing: every call answers `Unimplemented`.
public final class UnimplementedNativeHost: NativeProxyHost {
    public init() {}
}

/// Where the native raw calls go. Proxy-wasm is single-threaded per VM; the
/// native mode keeps that model: a host installed for the whole process
/// (unit tests), or one scoped to the running task (`NativeModule`, so
/// several native VMs can run in parallel tests without seeing each other).
public enum NativeHostBridge {
    nonisolated(unsafe) static var installed: NativeProxyHost = UnimplementedNativeHost()
    @TaskLocal static var scoped: Scoped<NativeProxyHost>?

    static var current: NativeProxyHost { scoped?.value ?? installed }

    /// Routes every raw call to `host` until the next `install`.
    public static func install(_ host: NativeProxyHost) { installed = host }

    /// Hands `bytes` to the SDK the way a wasm host does: nothing for an
    /// empty value, otherwise a buffer the SDK takes ownership of.
    public static func handOver(
        _ bytes: [UInt8],
        _ pointer: UnsafeMutablePointer<UnsafeMutablePointer<UInt8>?>?,
        _ size: UnsafeMutablePointer<Int>?
    ) {
        if bytes.isEmpty {
            pointer?.pointee = nil
            size?.pointee = 0
            return
        }
        let buffer = UnsafeMutablePointer<UInt8>.allocate(capacity: bytes.count)
        bytes.withUnsafeBufferPointer { buffer.initialize(from: $0.baseAddress!, count: bytes.count) }
        pointer?.pointee = buffer
        size?.pointee = bytes.count
    }
}

#endif
