// The seam that lets the SDK (and plugins built on it) run natively, without
// wasm: the raw host calls forward to a `NativeProxyHost` object. The host's
// "null VM" mode and unit tests install one; a wasm32 build never sees this.
//
// The contract is the raw ABI itself: same argument order, same status codes,
// and returned byte strings are handed over exactly as a wasm host would do it
// (empty -> null pointer and size 0, no allocation; otherwise a buffer the
// SDK owns and frees, allocated with `NativeHostBridge.allocate(_:)`).

#if !arch(wasm32)

/// A proxy-wasm host serving the SDK's raw calls in-process.
/// Every method has a default that answers `Unimplemented` (12).
public protocol NativeProxyHost: AnyObject {
    func log(level: UInt32, message: UnsafeBufferPointer<UInt8>) -> UInt32
    func getLogLevel(_ level: UnsafeMutablePointer<UInt32>?) -> UInt32
    func getStatus(
        _ code: UnsafeMutablePointer<UInt32>?,
        _ message: UnsafeMutablePointer<UnsafeMutablePointer<UInt8>?>?,
        _ messageSize: UnsafeMutablePointer<Int>?
    ) -> UInt32
    func setTickPeriod(milliseconds: UInt32) -> UInt32
    func getCurrentTimeNanoseconds(_ time: UnsafeMutablePointer<UInt64>?) -> UInt32
    func getProperty(
        _ path: UnsafeBufferPointer<UInt8>,
        _ value: UnsafeMutablePointer<UnsafeMutablePointer<UInt8>?>?,
        _ valueSize: UnsafeMutablePointer<Int>?
    ) -> UInt32
    func setProperty(_ path: UnsafeBufferPointer<UInt8>, _ value: UnsafeBufferPointer<UInt8>) -> UInt32
    func getBufferBytes(
        type: UInt32, start: Int, maxSize: Int,
        _ value: UnsafeMutablePointer<UnsafeMutablePointer<UInt8>?>?,
        _ valueSize: UnsafeMutablePointer<Int>?
    ) -> UInt32
    func getBufferStatus(
        type: UInt32, _ length: UnsafeMutablePointer<Int>?,
        _ flags: UnsafeMutablePointer<UInt32>?
    ) -> UInt32
    func setBufferBytes(type: UInt32, start: Int, length: Int, _ data: UnsafeBufferPointer<UInt8>) -> UInt32
    func getHeaderMapValue(
        map: UInt32, _ key: UnsafeBufferPointer<UInt8>,
        _ value: UnsafeMutablePointer<UnsafeMutablePointer<UInt8>?>?,
        _ valueSize: UnsafeMutablePointer<Int>?
    ) -> UInt32
    func addHeaderMapValue(map: UInt32, _ key: UnsafeBufferPointer<UInt8>, _ value: UnsafeBufferPointer<UInt8>) -> UInt32
    func replaceHeaderMapValue(map: UInt32, _ key: UnsafeBufferPointer<UInt8>, _ value: UnsafeBufferPointer<UInt8>) -> UInt32
    func removeHeaderMapValue(map: UInt32, _ key: UnsafeBufferPointer<UInt8>) -> UInt32
    func getHeaderMapPairs(
        map: UInt32,
        _ value: UnsafeMutablePointer<UnsafeMutablePointer<UInt8>?>?,
        _ valueSize: UnsafeMutablePointer<Int>?
    ) -> UInt32
    func setHeaderMapPairs(map: UInt32, _ pairs: UnsafeBufferPointer<UInt8>) -> UInt32
    func getHeaderMapSize(map: UInt32, _ size: UnsafeMutablePointer<Int>?) -> UInt32
    func continueStream(_ stream: UInt32) -> UInt32
    func closeStream(_ stream: UInt32) -> UInt32
    func sendLocalResponse(
        statusCode: UInt32, details: UnsafeBufferPointer<UInt8>,
        body: UnsafeBufferPointer<UInt8>, headers: UnsafeBufferPointer<UInt8>,
        grpcStatus: UInt32
    ) -> UInt32
    func getSharedData(
        _ key: UnsafeBufferPointer<UInt8>,
        _ value: UnsafeMutablePointer<UnsafeMutablePointer<UInt8>?>?,
        _ valueSize: UnsafeMutablePointer<Int>?,
        _ cas: UnsafeMutablePointer<UInt32>?
    ) -> UInt32
    func setSharedData(_ key: UnsafeBufferPointer<UInt8>, _ value: UnsafeBufferPointer<UInt8>, cas: UInt32) -> UInt32
    func registerSharedQueue(_ name: UnsafeBufferPointer<UInt8>, _ token: UnsafeMutablePointer<UInt32>?) -> UInt32
    func resolveSharedQueue(
        vmID: UnsafeBufferPointer<UInt8>, name: UnsafeBufferPointer<UInt8>,
        _ token: UnsafeMutablePointer<UInt32>?
    ) -> UInt32
    func enqueueSharedQueue(token: UInt32, _ data: UnsafeBufferPointer<UInt8>) -> UInt32
    func dequeueSharedQueue(
        token: UInt32,
        _ value: UnsafeMutablePointer<UnsafeMutablePointer<UInt8>?>?,
        _ valueSize: UnsafeMutablePointer<Int>?
    ) -> UInt32
    func defineMetric(type: UInt32, name: UnsafeBufferPointer<UInt8>, _ id: UnsafeMutablePointer<UInt32>?) -> UInt32
    func incrementMetric(id: UInt32, delta: Int64) -> UInt32
    func recordMetric(id: UInt32, value: UInt64) -> UInt32
    func getMetric(id: UInt32, _ value: UnsafeMutablePointer<UInt64>?) -> UInt32
    func setEffectiveContext(_ contextID: UInt32) -> UInt32
    func done() -> UInt32
    func callForeignFunction(
        name: UnsafeBufferPointer<UInt8>, arguments: UnsafeBufferPointer<UInt8>,
        _ result: UnsafeMutablePointer<UnsafeMutablePointer<UInt8>?>?,
        _ resultSize: UnsafeMutablePointer<Int>?
    ) -> UInt32
    func httpCall(
        upstream: UnsafeBufferPointer<UInt8>, headers: UnsafeBufferPointer<UInt8>, body: UnsafeBufferPointer<UInt8>,
        trailers: UnsafeBufferPointer<UInt8>, timeoutMilliseconds: UInt32, _ token: UnsafeMutablePointer<UInt32>?
    ) -> UInt32
    func grpcCall(
        service: UnsafeBufferPointer<UInt8>, serviceName: UnsafeBufferPointer<UInt8>, method: UnsafeBufferPointer<UInt8>,
        initialMetadata: UnsafeBufferPointer<UInt8>, message: UnsafeBufferPointer<UInt8>,
        timeoutMilliseconds: UInt32, _ token: UnsafeMutablePointer<UInt32>?
    ) -> UInt32
    func grpcStream(
        service: UnsafeBufferPointer<UInt8>, serviceName: UnsafeBufferPointer<UInt8>, method: UnsafeBufferPointer<UInt8>,
        initialMetadata: UnsafeBufferPointer<UInt8>, _ token: UnsafeMutablePointer<UInt32>?
    ) -> UInt32
    func grpcSend(token: UInt32, message: UnsafeBufferPointer<UInt8>, endOfStream: UInt32) -> UInt32
    func grpcCancel(token: UInt32) -> UInt32
    func grpcClose(token: UInt32) -> UInt32
}

private let unimplemented = WasmResult.unimplemented.rawValue

public extension NativeProxyHost {
    func log(level: UInt32, message: UnsafeBufferPointer<UInt8>) -> UInt32 { unimplemented }
    func getLogLevel(_ level: UnsafeMutablePointer<UInt32>?) -> UInt32 { unimplemented }
    func getStatus(
        _ code: UnsafeMutablePointer<UInt32>?,
        _ message: UnsafeMutablePointer<UnsafeMutablePointer<UInt8>?>?,
        _ messageSize: UnsafeMutablePointer<Int>?
    ) -> UInt32 { unimplemented }
    func setTickPeriod(milliseconds: UInt32) -> UInt32 { unimplemented }
    func getCurrentTimeNanoseconds(_ time: UnsafeMutablePointer<UInt64>?) -> UInt32 { unimplemented }
    func getProperty(
        _ path: UnsafeBufferPointer<UInt8>,
        _ value: UnsafeMutablePointer<UnsafeMutablePointer<UInt8>?>?,
        _ valueSize: UnsafeMutablePointer<Int>?
    ) -> UInt32 { unimplemented }
    func setProperty(_ path: UnsafeBufferPointer<UInt8>, _ value: UnsafeBufferPointer<UInt8>) -> UInt32 { unimplemented }
    func getBufferBytes(
        type: UInt32, start: Int, maxSize: Int,
        _ value: UnsafeMutablePointer<UnsafeMutablePointer<UInt8>?>?,
        _ valueSize: UnsafeMutablePointer<Int>?
    ) -> UInt32 { unimplemented }
    func getBufferStatus(
        type: UInt32, _ length: UnsafeMutablePointer<Int>?,
        _ flags: UnsafeMutablePointer<UInt32>?
    ) -> UInt32 { unimplemented }
    func setBufferBytes(type: UInt32, start: Int, length: Int, _ data: UnsafeBufferPointer<UInt8>) -> UInt32 { unimplemented }
    func getHeaderMapValue(
        map: UInt32, _ key: UnsafeBufferPointer<UInt8>,
        _ value: UnsafeMutablePointer<UnsafeMutablePointer<UInt8>?>?,
        _ valueSize: UnsafeMutablePointer<Int>?
    ) -> UInt32 { unimplemented }
    func addHeaderMapValue(map: UInt32, _ key: UnsafeBufferPointer<UInt8>, _ value: UnsafeBufferPointer<UInt8>) -> UInt32 { unimplemented }
    func replaceHeaderMapValue(map: UInt32, _ key: UnsafeBufferPointer<UInt8>, _ value: UnsafeBufferPointer<UInt8>) -> UInt32 { unimplemented }
    func removeHeaderMapValue(map: UInt32, _ key: UnsafeBufferPointer<UInt8>) -> UInt32 { unimplemented }
    func getHeaderMapPairs(
        map: UInt32,
        _ value: UnsafeMutablePointer<UnsafeMutablePointer<UInt8>?>?,
        _ valueSize: UnsafeMutablePointer<Int>?
    ) -> UInt32 { unimplemented }
    func setHeaderMapPairs(map: UInt32, _ pairs: UnsafeBufferPointer<UInt8>) -> UInt32 { unimplemented }
    func getHeaderMapSize(map: UInt32, _ size: UnsafeMutablePointer<Int>?) -> UInt32 { unimplemented }
    func continueStream(_ stream: UInt32) -> UInt32 { unimplemented }
    func closeStream(_ stream: UInt32) -> UInt32 { unimplemented }
    func sendLocalResponse(
        statusCode: UInt32, details: UnsafeBufferPointer<UInt8>,
        body: UnsafeBufferPointer<UInt8>, headers: UnsafeBufferPointer<UInt8>,
        grpcStatus: UInt32
    ) -> UInt32 { unimplemented }
    func getSharedData(
        _ key: UnsafeBufferPointer<UInt8>,
        _ value: UnsafeMutablePointer<UnsafeMutablePointer<UInt8>?>?,
        _ valueSize: UnsafeMutablePointer<Int>?,
        _ cas: UnsafeMutablePointer<UInt32>?
    ) -> UInt32 { unimplemented }
    func setSharedData(_ key: UnsafeBufferPointer<UInt8>, _ value: UnsafeBufferPointer<UInt8>, cas: UInt32) -> UInt32 { unimplemented }
    func registerSharedQueue(_ name: UnsafeBufferPointer<UInt8>, _ token: UnsafeMutablePointer<UInt32>?) -> UInt32 { unimplemented }
    func resolveSharedQueue(
        vmID: UnsafeBufferPointer<UInt8>, name: UnsafeBufferPointer<UInt8>,
        _ token: UnsafeMutablePointer<UInt32>?
    ) -> UInt32 { unimplemented }
    func enqueueSharedQueue(token: UInt32, _ data: UnsafeBufferPointer<UInt8>) -> UInt32 { unimplemented }
    func dequeueSharedQueue(
        token: UInt32,
        _ value: UnsafeMutablePointer<UnsafeMutablePointer<UInt8>?>?,
        _ valueSize: UnsafeMutablePointer<Int>?
    ) -> UInt32 { unimplemented }
    func defineMetric(type: UInt32, name: UnsafeBufferPointer<UInt8>, _ id: UnsafeMutablePointer<UInt32>?) -> UInt32 { unimplemented }
    func incrementMetric(id: UInt32, delta: Int64) -> UInt32 { unimplemented }
    func recordMetric(id: UInt32, value: UInt64) -> UInt32 { unimplemented }
    func getMetric(id: UInt32, _ value: UnsafeMutablePointer<UInt64>?) -> UInt32 { unimplemented }
    func setEffectiveContext(_ contextID: UInt32) -> UInt32 { unimplemented }
    func done() -> UInt32 { unimplemented }
    func callForeignFunction(
        name: UnsafeBufferPointer<UInt8>, arguments: UnsafeBufferPointer<UInt8>,
        _ result: UnsafeMutablePointer<UnsafeMutablePointer<UInt8>?>?,
        _ resultSize: UnsafeMutablePointer<Int>?
    ) -> UInt32 { unimplemented }
    func httpCall(
        upstream: UnsafeBufferPointer<UInt8>, headers: UnsafeBufferPointer<UInt8>, body: UnsafeBufferPointer<UInt8>,
        trailers: UnsafeBufferPointer<UInt8>, timeoutMilliseconds: UInt32, _ token: UnsafeMutablePointer<UInt32>?
    ) -> UInt32 { unimplemented }
    func grpcCall(
        service: UnsafeBufferPointer<UInt8>, serviceName: UnsafeBufferPointer<UInt8>, method: UnsafeBufferPointer<UInt8>,
        initialMetadata: UnsafeBufferPointer<UInt8>, message: UnsafeBufferPointer<UInt8>,
        timeoutMilliseconds: UInt32, _ token: UnsafeMutablePointer<UInt32>?
    ) -> UInt32 { unimplemented }
    func grpcStream(
        service: UnsafeBufferPointer<UInt8>, serviceName: UnsafeBufferPointer<UInt8>, method: UnsafeBufferPointer<UInt8>,
        initialMetadata: UnsafeBufferPointer<UInt8>, _ token: UnsafeMutablePointer<UInt32>?
    ) -> UInt32 { unimplemented }
    func grpcSend(token: UInt32, message: UnsafeBufferPointer<UInt8>, endOfStream: UInt32) -> UInt32 { unimplemented }
    func grpcCancel(token: UInt32) -> UInt32 { unimplemented }
    func grpcClose(token: UInt32) -> UInt32 { unimplemented }
}

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
