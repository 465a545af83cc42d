import ProxyWasm
import ProxyWasmABI
import ProxyWasmHost

/// Serves the natively compiled SDK's raw calls with the host's own host
/// functions: arguments are staged in `ScratchMemory` at guest addresses, the
/// call goes through `PluginVM.dispatchHostCall` (the path a wasm import
/// takes: restrictions, capability allow-list, trace), and whatever the host
/// wrote to the out-slots is copied back into the plugin's pointers.
final class HostBridge: NativeProxyHost {
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
    private struct Staged {
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
    private func call(_ name: String, _ build: (inout Staged) -> Void) -> UInt32 {
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

    typealias Returned = UnsafeMutablePointer<UnsafeMutablePointer<UInt8>?>
    typealias Bytes = UnsafeBufferPointer<UInt8>

    // MARK: NativeProxyHost — argument order is the ABI's.

    func log(level: UInt32, message: Bytes) -> UInt32 {
        call("proxy_log") {
            $0.value(level)
            $0.bytes(message)
        }
    }
    func getLogLevel(_ level: UnsafeMutablePointer<UInt32>?) -> UInt32 {
        call("proxy_get_log_level") { $0.word(level) }
    }
    func getStatus(_ code: UnsafeMutablePointer<UInt32>?, _ message: Returned?, _ messageSize: UnsafeMutablePointer<Int>?) -> UInt32 {
        call("proxy_get_status") {
            $0.word(code)
            $0.returned(message, messageSize)
        }
    }
    func setTickPeriod(milliseconds: UInt32) -> UInt32 {
        call("proxy_set_tick_period_milliseconds") { $0.value(milliseconds) }
    }
    func getCurrentTimeNanoseconds(_ time: UnsafeMutablePointer<UInt64>?) -> UInt32 {
        call("proxy_get_current_time_nanoseconds") { $0.long(time) }
    }
    func getProperty(_ path: Bytes, _ value: Returned?, _ valueSize: UnsafeMutablePointer<Int>?) -> UInt32 {
        call("proxy_get_property") {
            $0.bytes(path)
            $0.returned(value, valueSize)
        }
    }
    func setProperty(_ path: Bytes, _ value: Bytes) -> UInt32 {
        call("proxy_set_property") {
            $0.bytes(path)
            $0.bytes(value)
        }
    }
    func getBufferBytes(type: UInt32, start: Int, maxSize: Int, _ value: Returned?, _ valueSize: UnsafeMutablePointer<Int>?) -> UInt32 {
        call("proxy_get_buffer_bytes") {
            $0.value(type)
            $0.count(start)
            $0.count(maxSize)
            $0.returned(value, valueSize)
        }
    }
    func getBufferStatus(type: UInt32, _ length: UnsafeMutablePointer<Int>?, _ flags: UnsafeMutablePointer<UInt32>?) -> UInt32 {
        call("proxy_get_buffer_status") {
            $0.value(type)
            $0.size(length)
            $0.word(flags)
        }
    }
    func setBufferBytes(type: UInt32, start: Int, length: Int, _ data: Bytes) -> UInt32 {
        call("proxy_set_buffer_bytes") {
            $0.value(type)
            $0.count(start)
            $0.count(length)
            $0.bytes(data)
        }
    }
    func getHeaderMapValue(map: UInt32, _ key: Bytes, _ value: Returned?, _ valueSize: UnsafeMutablePointer<Int>?) -> UInt32 {
        call("proxy_get_header_map_value") {
            $0.value(map)
            $0.bytes(key)
            $0.returned(value, valueSize)
        }
    }
    func addHeaderMapValue(map: UInt32, _ key: Bytes, _ value: Bytes) -> UInt32 {
        call("proxy_add_header_map_value") {
            $0.value(map)
            $0.bytes(key)
            $0.bytes(value)
        }
    }
    func replaceHeaderMapValue(map: UInt32, _ key: Bytes, _ value: Bytes) -> UInt32 {
        call("proxy_replace_header_map_value") {
            $0.value(map)
            $0.bytes(key)
            $0.bytes(value)
        }
    }
    func removeHeaderMapValue(map: UInt32, _ key: Bytes) -> UInt32 {
        call("proxy_remove_header_map_value") {
            $0.value(map)
            $0.bytes(key)
        }
    }
    func getHeaderMapPairs(map: UInt32, _ value: Returned?, _ valueSize: UnsafeMutablePointer<Int>?) -> UInt32 {
        call("proxy_get_header_map_pairs") {
            $0.value(map)
            $0.returned(value, valueSize)
        }
    }
    func setHeaderMapPairs(map: UInt32, _ pairs: Bytes) -> UInt32 {
        call("proxy_set_header_map_pairs") {
            $0.value(map)
            $0.bytes(pairs)
        }
    }
    func getHeaderMapSize(map: UInt32, _ size: UnsafeMutablePointer<Int>?) -> UInt32 {
        call("proxy_get_header_map_size") {
            $0.value(map)
            $0.size(size)
        }
    }
    func continueStream(_ stream: UInt32) -> UInt32 {
        call("proxy_continue_stream") { $0.value(stream) }
    }
    func closeStream(_ stream: UInt32) -> UInt32 {
        call("proxy_close_stream") { $0.value(stream) }
    }
    func sendLocalResponse(statusCode: UInt32, details: Bytes, body: Bytes, headers: Bytes, grpcStatus: UInt32) -> UInt32 {
        call("proxy_send_local_response") {
            $0.value(statusCode)
            $0.bytes(details)
            $0.bytes(body)
            $0.bytes(headers)
            $0.value(grpcStatus)
        }
    }
    func getSharedData(
        _ key: Bytes, _ value: Returned?, _ valueSize: UnsafeMutablePointer<Int>?,
        _ cas: UnsafeMutablePointer<UInt32>?
    ) -> UInt32 {
        call("proxy_get_shared_data") {
            $0.bytes(key)
            $0.returned(value, valueSize)
            $0.word(cas)
        }
    }
    func setSharedData(_ key: Bytes, _ value: Bytes, cas: UInt32) -> UInt32 {
        call("proxy_set_shared_data") {
            $0.bytes(key)
            $0.bytes(value)
            $0.value(cas)
        }
    }
    func registerSharedQueue(_ name: Bytes, _ token: UnsafeMutablePointer<UInt32>?) -> UInt32 {
        call("proxy_register_shared_queue") {
            $0.bytes(name)
            $0.word(token)
        }
    }
    func resolveSharedQueue(vmID: Bytes, name: Bytes, _ token: UnsafeMutablePointer<UInt32>?) -> UInt32 {
        call("proxy_resolve_shared_queue") {
            $0.bytes(vmID)
            $0.bytes(name)
            $0.word(token)
        }
    }
    func enqueueSharedQueue(token: UInt32, _ data: Bytes) -> UInt32 {
        call("proxy_enqueue_shared_queue") {
            $0.value(token)
            $0.bytes(data)
        }
    }
    func dequeueSharedQueue(token: UInt32, _ value: Returned?, _ valueSize: UnsafeMutablePointer<Int>?) -> UInt32 {
        call("proxy_dequeue_shared_queue") {
            $0.value(token)
            $0.returned(value, valueSize)
        }
    }
    func defineMetric(type: UInt32, name: Bytes, _ id: UnsafeMutablePointer<UInt32>?) -> UInt32 {
        call("proxy_define_metric") {
            $0.value(type)
            $0.bytes(name)
            $0.word(id)
        }
    }
    func incrementMetric(id: UInt32, delta: Int64) -> UInt32 {
        call("proxy_increment_metric") {
            $0.value(id)
            $0.value64(UInt64(bitPattern: delta))
        }
    }
    func recordMetric(id: UInt32, value: UInt64) -> UInt32 {
        call("proxy_record_metric") {
            $0.value(id)
            $0.value64(value)
        }
    }
    func httpCall(
        upstream: Bytes, headers: Bytes, body: Bytes, trailers: Bytes, timeoutMilliseconds: UInt32,
        _ token: UnsafeMutablePointer<UInt32>?
    ) -> UInt32 {
        call("proxy_http_call") {
            $0.bytes(upstream)
            $0.bytes(headers)
            $0.bytes(body)
            $0.bytes(trailers)
            $0.value(timeoutMilliseconds)
            $0.word(token)
        }
    }
    func grpcCall(
        service: Bytes, serviceName: Bytes, method: Bytes, initialMetadata: Bytes, message: Bytes,
        timeoutMilliseconds: UInt32, _ token: UnsafeMutablePointer<UInt32>?
    ) -> UInt32 {
        call("proxy_grpc_call") {
            $0.bytes(service)
            $0.bytes(serviceName)
            $0.bytes(method)
            $0.bytes(initialMetadata)
            $0.bytes(message)
            $0.value(timeoutMilliseconds)
            $0.word(token)
        }
    }
    func grpcStream(
        service: Bytes, serviceName: Bytes, method: Bytes, initialMetadata: Bytes,
        _ token: UnsafeMutablePointer<UInt32>?
    ) -> UInt32 {
        call("proxy_grpc_stream") {
            $0.bytes(service)
            $0.bytes(serviceName)
            $0.bytes(method)
            $0.bytes(initialMetadata)
            $0.word(token)
        }
    }
    func grpcSend(token: UInt32, message: Bytes, endOfStream: UInt32) -> UInt32 {
        call("proxy_grpc_send") {
            $0.value(token)
            $0.bytes(message)
            $0.value(endOfStream)
        }
    }
    func grpcCancel(token: UInt32) -> UInt32 { call("proxy_grpc_cancel") { $0.value(token) } }
    func grpcClose(token: UInt32) -> UInt32 { call("proxy_grpc_close") { $0.value(token) } }
    func getMetric(id: UInt32, _ value: UnsafeMutablePointer<UInt64>?) -> UInt32 {
        call("proxy_get_metric") {
            $0.value(id)
            $0.long(value)
        }
    }
    func setEffectiveContext(_ contextID: UInt32) -> UInt32 {
        call("proxy_set_effective_context") { $0.value(contextID) }
    }
    func done() -> UInt32 {
        call("proxy_done") { _ in }
    }
    func callForeignFunction(name: Bytes, arguments: Bytes, _ result: Returned?, _ resultSize: UnsafeMutablePointer<Int>?) -> UInt32 {
        call("proxy_call_foreign_function") {
            $0.bytes(name)
            $0.bytes(arguments)
            $0.returned(result, resultSize)
        }
    }
}
