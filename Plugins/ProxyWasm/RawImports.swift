// Layer 1: the raw proxy-wasm host calls.
//
// On wasm32 each function is an import from module "env" with the C calling
// convention (both attributes are required: `@_extern(wasm)` alone would use
// the Swift convention and add two hidden parameters). Only functions the SDK
// actually calls end up in the module's import section.
//
// Natively (unit tests, the host's "null VM" mode) the same functions forward
// to the `NativeProxyHost` installed with `NativeHostBridge.install(_:)`.
// Pointers are guest pointers on wasm32 and process pointers natively; sizes
// are `Int` (usize: 32 bits on wasm32). Results are raw `WasmResult` values.

#if arch(wasm32)

@_extern(wasm, module: "env", name: "proxy_log") @_extern(c)
func proxy_log(_ level: UInt32, _ message: UnsafePointer<UInt8>?, _ size: Int) -> UInt32

@_extern(wasm, module: "env", name: "proxy_get_log_level") @_extern(c)
func proxy_get_log_level(_ level: UnsafeMutablePointer<UInt32>?) -> UInt32

@_extern(wasm, module: "env", name: "proxy_get_status") @_extern(c)
func proxy_get_status(
    _ code: UnsafeMutablePointer<UInt32>?,
    _ message: UnsafeMutablePointer<UnsafeMutablePointer<UInt8>?>?,
    _ messageSize: UnsafeMutablePointer<Int>?
) -> UInt32

@_extern(wasm, module: "env", name: "proxy_set_tick_period_milliseconds") @_extern(c)
func proxy_set_tick_period_milliseconds(_ period: UInt32) -> UInt32

@_extern(wasm, module: "env", name: "proxy_get_current_time_nanoseconds") @_extern(c)
func proxy_get_current_time_nanoseconds(_ time: UnsafeMutablePointer<UInt64>?) -> UInt32

@_extern(wasm, module: "env", name: "proxy_get_property") @_extern(c)
func proxy_get_property(
    _ path: UnsafePointer<UInt8>?, _ pathSize: Int,
    _ value: UnsafeMutablePointer<UnsafeMutablePointer<UInt8>?>?,
    _ valueSize: UnsafeMutablePointer<Int>?
) -> UInt32

@_extern(wasm, module: "env", name: "proxy_set_property") @_extern(c)
func proxy_set_property(
    _ path: UnsafePointer<UInt8>?, _ pathSize: Int,
    _ value: UnsafePointer<UInt8>?, _ valueSize: Int
) -> UInt32

@_extern(wasm, module: "env", name: "proxy_get_buffer_bytes") @_extern(c)
func proxy_get_buffer_bytes(
    _ type: UInt32, _ start: Int, _ maxSize: Int,
    _ value: UnsafeMutablePointer<UnsafeMutablePointer<UInt8>?>?,
    _ valueSize: UnsafeMutablePointer<Int>?
) -> UInt32

@_extern(wasm, module: "env", name: "proxy_get_buffer_status") @_extern(c)
func proxy_get_buffer_status(
    _ type: UInt32, _ length: UnsafeMutablePointer<Int>?,
    _ flags: UnsafeMutablePointer<UInt32>?
) -> UInt32

@_extern(wasm, module: "env", name: "proxy_set_buffer_bytes") @_extern(c)
func proxy_set_buffer_bytes(
    _ type: UInt32, _ start: Int, _ length: Int,
    _ data: UnsafePointer<UInt8>?, _ dataSize: Int
) -> UInt32

@_extern(wasm, module: "env", name: "proxy_get_header_map_value") @_extern(c)
func proxy_get_header_map_value(
    _ map: UInt32, _ key: UnsafePointer<UInt8>?, _ keySize: Int,
    _ value: UnsafeMutablePointer<UnsafeMutablePointer<UInt8>?>?,
    _ valueSize: UnsafeMutablePointer<Int>?
) -> UInt32

@_extern(wasm, module: "env", name: "proxy_add_header_map_value") @_extern(c)
func proxy_add_header_map_value(
    _ map: UInt32, _ key: UnsafePointer<UInt8>?, _ keySize: Int,
    _ value: UnsafePointer<UInt8>?, _ valueSize: Int
) -> UInt32

@_extern(wasm, module: "env", name: "proxy_replace_header_map_value") @_extern(c)
func proxy_replace_header_map_value(
    _ map: UInt32, _ key: UnsafePointer<UInt8>?, _ keySize: Int,
    _ value: UnsafePointer<UInt8>?, _ valueSize: Int
) -> UInt32

@_extern(wasm, module: "env", name: "proxy_remove_header_map_value") @_extern(c)
func proxy_remove_header_map_value(_ map: UInt32, _ key: UnsafePointer<UInt8>?, _ keySize: Int) -> UInt32

@_extern(wasm, module: "env", name: "proxy_get_header_map_pairs") @_extern(c)
func proxy_get_header_map_pairs(
    _ map: UInt32,
    _ value: UnsafeMutablePointer<UnsafeMutablePointer<UInt8>?>?,
    _ valueSize: UnsafeMutablePointer<Int>?
) -> UInt32

@_extern(wasm, module: "env", name: "proxy_set_header_map_pairs") @_extern(c)
func proxy_set_header_map_pairs(_ map: UInt32, _ pairs: UnsafePointer<UInt8>?, _ size: Int) -> UInt32

@_extern(wasm, module: "env", name: "proxy_get_header_map_size") @_extern(c)
func proxy_get_header_map_size(_ map: UInt32, _ size: UnsafeMutablePointer<Int>?) -> UInt32

@_extern(wasm, module: "env", name: "proxy_continue_stream") @_extern(c)
func proxy_continue_stream(_ stream: UInt32) -> UInt32

@_extern(wasm, module: "env", name: "proxy_close_stream") @_extern(c)
func proxy_close_stream(_ stream: UInt32) -> UInt32

@_extern(wasm, module: "env", name: "proxy_send_local_response") @_extern(c)
func proxy_send_local_response(
    _ statusCode: UInt32,
    _ details: UnsafePointer<UInt8>?, _ detailsSize: Int,
    _ body: UnsafePointer<UInt8>?, _ bodySize: Int,
    _ headers: UnsafePointer<UInt8>?, _ headersSize: Int,
    _ grpcStatus: UInt32
) -> UInt32

@_extern(wasm, module: "env", name: "proxy_get_shared_data") @_extern(c)
func proxy_get_shared_data(
    _ key: UnsafePointer<UInt8>?, _ keySize: Int,
    _ value: UnsafeMutablePointer<UnsafeMutablePointer<UInt8>?>?,
    _ valueSize: UnsafeMutablePointer<Int>?,
    _ cas: UnsafeMutablePointer<UInt32>?
) -> UInt32

@_extern(wasm, module: "env", name: "proxy_set_shared_data") @_extern(c)
func proxy_set_shared_data(
    _ key: UnsafePointer<UInt8>?, _ keySize: Int,
    _ value: UnsafePointer<UInt8>?, _ valueSize: Int, _ cas: UInt32
) -> UInt32

@_extern(wasm, module: "env", name: "proxy_register_shared_queue") @_extern(c)
func proxy_register_shared_queue(
    _ name: UnsafePointer<UInt8>?, _ nameSize: Int,
    _ token: UnsafeMutablePointer<UInt32>?
) -> UInt32

@_extern(wasm, module: "env", name: "proxy_resolve_shared_queue") @_extern(c)
func proxy_resolve_shared_queue(
    _ vmID: UnsafePointer<UInt8>?, _ vmIDSize: Int,
    _ name: UnsafePointer<UInt8>?, _ nameSize: Int,
    _ token: UnsafeMutablePointer<UInt32>?
) -> UInt32

@_extern(wasm, module: "env", name: "proxy_enqueue_shared_queue") @_extern(c)
func proxy_enqueue_shared_queue(_ token: UInt32, _ data: UnsafePointer<UInt8>?, _ size: Int) -> UInt32

@_extern(wasm, module: "env", name: "proxy_dequeue_shared_queue") @_extern(c)
func proxy_dequeue_shared_queue(
    _ token: UInt32,
    _ value: UnsafeMutablePointer<UnsafeMutablePointer<UInt8>?>?,
    _ valueSize: UnsafeMutablePointer<Int>?
) -> UInt32

@_extern(wasm, module: "env", name: "proxy_define_metric") @_extern(c)
func proxy_define_metric(
    _ type: UInt32, _ name: UnsafePointer<UInt8>?, _ nameSize: Int,
    _ id: UnsafeMutablePointer<UInt32>?
) -> UInt32

@_extern(wasm, module: "env", name: "proxy_increment_metric") @_extern(c)
func proxy_increment_metric(_ id: UInt32, _ delta: Int64) -> UInt32

@_extern(wasm, module: "env", name: "proxy_record_metric") @_extern(c)
func proxy_record_metric(_ id: UInt32, _ value: UInt64) -> UInt32

@_extern(wasm, module: "env", name: "proxy_get_metric") @_extern(c)
func proxy_get_metric(_ id: UInt32, _ value: UnsafeMutablePointer<UInt64>?) -> UInt32

@_extern(wasm, module: "env", name: "proxy_set_effective_context") @_extern(c)
func proxy_set_effective_context(_ contextID: UInt32) -> UInt32

@_extern(wasm, module: "env", name: "proxy_done") @_extern(c)
func proxy_done() -> UInt32

@_extern(wasm, module: "env", name: "proxy_call_foreign_function") @_extern(c)
func proxy_call_foreign_function(
    _ name: UnsafePointer<UInt8>?, _ nameSize: Int,
    _ arguments: UnsafePointer<UInt8>?, _ argumentsSize: Int,
    _ result: UnsafeMutablePointer<UnsafeMutablePointer<UInt8>?>?,
    _ resultSize: UnsafeMutablePointer<Int>?
) -> UInt32

@_extern(wasm, module: "env", name: "proxy_http_call") @_extern(c)
func proxy_http_call(
    _ upstream: UnsafePointer<UInt8>?, _ upstreamSize: Int,
    _ headers: UnsafePointer<UInt8>?, _ headersSize: Int,
    _ body: UnsafePointer<UInt8>?, _ bodySize: Int,
    _ trailers: UnsafePointer<UInt8>?, _ trailersSize: Int,
    _ timeoutMilliseconds: UInt32, _ token: UnsafeMutablePointer<UInt32>?
) -> UInt32

@_extern(wasm, module: "env", name: "proxy_grpc_call") @_extern(c)
func proxy_grpc_call(
    _ service: UnsafePointer<UInt8>?, _ serviceSize: Int,
    _ serviceName: UnsafePointer<UInt8>?, _ serviceNameSize: Int,
    _ method: UnsafePointer<UInt8>?, _ methodSize: Int,
    _ initialMetadata: UnsafePointer<UInt8>?, _ initialMetadataSize: Int,
    _ message: UnsafePointer<UInt8>?, _ messageSize: Int,
    _ timeoutMilliseconds: UInt32, _ token: UnsafeMutablePointer<UInt32>?
) -> UInt32

@_extern(wasm, module: "env", name: "proxy_grpc_stream") @_extern(c)
func proxy_grpc_stream(
    _ service: UnsafePointer<UInt8>?, _ serviceSize: Int,
    _ serviceName: UnsafePointer<UInt8>?, _ serviceNameSize: Int,
    _ method: UnsafePointer<UInt8>?, _ methodSize: Int,
    _ initialMetadata: UnsafePointer<UInt8>?, _ initialMetadataSize: Int,
    _ token: UnsafeMutablePointer<UInt32>?
) -> UInt32

@_extern(wasm, module: "env", name: "proxy_grpc_send") @_extern(c)
func proxy_grpc_send(_ token: UInt32, _ message: UnsafePointer<UInt8>?, _ messageSize: Int, _ endOfStream: UInt32) -> UInt32

@_extern(wasm, module: "env", name: "proxy_grpc_cancel") @_extern(c)
func proxy_grpc_cancel(_ token: UInt32) -> UInt32

@_extern(wasm, module: "env", name: "proxy_grpc_close") @_extern(c)
func proxy_grpc_close(_ token: UInt32) -> UInt32

#else

// Native forwarding: identical signatures, served by the installed host.

@inline(__always) private var native: NativeProxyHost { NativeHostBridge.current }

func proxy_log(_ level: UInt32, _ message: UnsafePointer<UInt8>?, _ size: Int) -> UInt32 {
    native.log(level: level, message: UnsafeBufferPointer(start: message, count: size))
}

func proxy_get_log_level(_ level: UnsafeMutablePointer<UInt32>?) -> UInt32 {
    native.getLogLevel(level)
}

func proxy_get_status(
    _ code: UnsafeMutablePointer<UInt32>?,
    _ message: UnsafeMutablePointer<UnsafeMutablePointer<UInt8>?>?,
    _ messageSize: UnsafeMutablePointer<Int>?
) -> UInt32 {
    native.getStatus(code, message, messageSize)
}

func proxy_set_tick_period_milliseconds(_ period: UInt32) -> UInt32 {
    native.setTickPeriod(milliseconds: period)
}

func proxy_get_current_time_nanoseconds(_ time: UnsafeMutablePointer<UInt64>?) -> UInt32 {
    native.getCurrentTimeNanoseconds(time)
}

func proxy_get_property(
    _ path: UnsafePointer<UInt8>?, _ pathSize: Int,
    _ value: UnsafeMutablePointer<UnsafeMutablePointer<UInt8>?>?,
    _ valueSize: UnsafeMutablePointer<Int>?
) -> UInt32 {
    native.getProperty(UnsafeBufferPointer(start: path, count: pathSize), value, valueSize)
}

func proxy_set_property(
    _ path: UnsafePointer<UInt8>?, _ pathSize: Int,
    _ value: UnsafePointer<UInt8>?, _ valueSize: Int
) -> UInt32 {
    native.setProperty(
        UnsafeBufferPointer(start: path, count: pathSize),
        UnsafeBufferPointer(start: value, count: valueSize))
}

func proxy_get_buffer_bytes(
    _ type: UInt32, _ start: Int, _ maxSize: Int,
    _ value: UnsafeMutablePointer<UnsafeMutablePointer<UInt8>?>?,
    _ valueSize: UnsafeMutablePointer<Int>?
) -> UInt32 {
    native.getBufferBytes(type: type, start: start, maxSize: maxSize, value, valueSize)
}

func proxy_get_buffer_status(
    _ type: UInt32, _ length: UnsafeMutablePointer<Int>?,
    _ flags: UnsafeMutablePointer<UInt32>?
) -> UInt32 {
    native.getBufferStatus(type: type, length, flags)
}

func proxy_set_buffer_bytes(
    _ type: UInt32, _ start: Int, _ length: Int,
    _ data: UnsafePointer<UInt8>?, _ dataSize: Int
) -> UInt32 {
    native.setBufferBytes(
        type: type, start: start, length: length,
        UnsafeBufferPointer(start: data, count: dataSize))
}

func proxy_get_header_map_value(
    _ map: UInt32, _ key: UnsafePointer<UInt8>?, _ keySize: Int,
    _ value: UnsafeMutablePointer<UnsafeMutablePointer<UInt8>?>?,
    _ valueSize: UnsafeMutablePointer<Int>?
) -> UInt32 {
    native.getHeaderMapValue(map: map, UnsafeBufferPointer(start: key, count: keySize), value, valueSize)
}

func proxy_add_header_map_value(
    _ map: UInt32, _ key: UnsafePointer<UInt8>?, _ keySize: Int,
    _ value: UnsafePointer<UInt8>?, _ valueSize: Int
) -> UInt32 {
    native.addHeaderMapValue(
        map: map, UnsafeBufferPointer(start: key, count: keySize),
        UnsafeBufferPointer(start: value, count: valueSize))
}

func proxy_replace_header_map_value(
    _ map: UInt32, _ key: UnsafePointer<UInt8>?, _ keySize: Int,
    _ value: UnsafePointer<UInt8>?, _ valueSize: Int
) -> UInt32 {
    native.replaceHeaderMapValue(
        map: map, UnsafeBufferPointer(start: key, count: keySize),
        UnsafeBufferPointer(start: value, count: valueSize))
}

func proxy_remove_header_map_value(_ map: UInt32, _ key: UnsafePointer<UInt8>?, _ keySize: Int) -> UInt32 {
    native.removeHeaderMapValue(map: map, UnsafeBufferPointer(start: key, count: keySize))
}

func proxy_get_header_map_pairs(
    _ map: UInt32,
    _ value: UnsafeMutablePointer<UnsafeMutablePointer<UInt8>?>?,
    _ valueSize: UnsafeMutablePointer<Int>?
) -> UInt32 {
    native.getHeaderMapPairs(map: map, value, valueSize)
}

func proxy_set_header_map_pairs(_ map: UInt32, _ pairs: UnsafePointer<UInt8>?, _ size: Int) -> UInt32 {
    native.setHeaderMapPairs(map: map, UnsafeBufferPointer(start: pairs, count: size))
}

func proxy_get_header_map_size(_ map: UInt32, _ size: UnsafeMutablePointer<Int>?) -> UInt32 {
    native.getHeaderMapSize(map: map, size)
}

func proxy_continue_stream(_ stream: UInt32) -> UInt32 { native.continueStream(stream) }

func proxy_close_stream(_ stream: UInt32) -> UInt32 { native.closeStream(stream) }

func proxy_send_local_response(
    _ statusCode: UInt32,
    _ details: UnsafePointer<UInt8>?, _ detailsSize: Int,
    _ body: UnsafePointer<UInt8>?, _ bodySize: Int,
    _ headers: UnsafePointer<UInt8>?, _ headersSize: Int,
    _ grpcStatus: UInt32
) -> UInt32 {
    native.sendLocalResponse(
        statusCode: statusCode,
        details: UnsafeBufferPointer(start: details, count: detailsSize),
        body: UnsafeBufferPointer(start: body, count: bodySize),
        headers: UnsafeBufferPointer(start: headers, count: headersSize),
        grpcStatus: grpcStatus)
}

func proxy_get_shared_data(
    _ key: UnsafePointer<UInt8>?, _ keySize: Int,
    _ value: UnsafeMutablePointer<UnsafeMutablePointer<UInt8>?>?,
    _ valueSize: UnsafeMutablePointer<Int>?,
    _ cas: UnsafeMutablePointer<UInt32>?
) -> UInt32 {
    native.getSharedData(UnsafeBufferPointer(start: key, count: keySize), value, valueSize, cas)
}

func proxy_set_shared_data(
    _ key: UnsafePointer<UInt8>?, _ keySize: Int,
    _ value: UnsafePointer<UInt8>?, _ valueSize: Int, _ cas: UInt32
) -> UInt32 {
    native.setSharedData(
        UnsafeBufferPointer(start: key, count: keySize),
        UnsafeBufferPointer(start: value, count: valueSize), cas: cas)
}

func proxy_register_shared_queue(
    _ name: UnsafePointer<UInt8>?, _ nameSize: Int,
    _ token: UnsafeMutablePointer<UInt32>?
) -> UInt32 {
    native.registerSharedQueue(UnsafeBufferPointer(start: name, count: nameSize), token)
}

func proxy_resolve_shared_queue(
    _ vmID: UnsafePointer<UInt8>?, _ vmIDSize: Int,
    _ name: UnsafePointer<UInt8>?, _ nameSize: Int,
    _ token: UnsafeMutablePointer<UInt32>?
) -> UInt32 {
    native.resolveSharedQueue(
        vmID: UnsafeBufferPointer(start: vmID, count: vmIDSize),
        name: UnsafeBufferPointer(start: name, count: nameSize), token)
}

func proxy_enqueue_shared_queue(_ token: UInt32, _ data: UnsafePointer<UInt8>?, _ size: Int) -> UInt32 {
    native.enqueueSharedQueue(token: token, UnsafeBufferPointer(start: data, count: size))
}

func proxy_dequeue_shared_queue(
    _ token: UInt32,
    _ value: UnsafeMutablePointer<UnsafeMutablePointer<UInt8>?>?,
    _ valueSize: UnsafeMutablePointer<Int>?
) -> UInt32 {
    native.dequeueSharedQueue(token: token, value, valueSize)
}

func proxy_define_metric(
    _ type: UInt32, _ name: UnsafePointer<UInt8>?, _ nameSize: Int,
    _ id: UnsafeMutablePointer<UInt32>?
) -> UInt32 {
    native.defineMetric(type: type, name: UnsafeBufferPointer(start: name, count: nameSize), id)
}

func proxy_increment_metric(_ id: UInt32, _ delta: Int64) -> UInt32 { native.incrementMetric(id: id, delta: delta) }

func proxy_record_metric(_ id: UInt32, _ value: UInt64) -> UInt32 { native.recordMetric(id: id, value: value) }

func proxy_get_metric(_ id: UInt32, _ value: UnsafeMutablePointer<UInt64>?) -> UInt32 {
    native.getMetric(id: id, value)
}

func proxy_set_effective_context(_ contextID: UInt32) -> UInt32 { native.setEffectiveContext(contextID) }

func proxy_done() -> UInt32 { native.done() }

func proxy_call_foreign_function(
    _ name: UnsafePointer<UInt8>?, _ nameSize: Int,
    _ arguments: UnsafePointer<UInt8>?, _ argumentsSize: Int,
    _ result: UnsafeMutablePointer<UnsafeMutablePointer<UInt8>?>?,
    _ resultSize: UnsafeMutablePointer<Int>?
) -> UInt32 {
    native.callForeignFunction(
        name: UnsafeBufferPointer(start: name, count: nameSize),
        arguments: UnsafeBufferPointer(start: arguments, count: argumentsSize),
        result, resultSize)
}

func proxy_http_call(
    _ upstream: UnsafePointer<UInt8>?, _ upstreamSize: Int,
    _ headers: UnsafePointer<UInt8>?, _ headersSize: Int,
    _ body: UnsafePointer<UInt8>?, _ bodySize: Int,
    _ trailers: UnsafePointer<UInt8>?, _ trailersSize: Int,
    _ timeoutMilliseconds: UInt32, _ token: UnsafeMutablePointer<UInt32>?
) -> UInt32 {
    native.httpCall(
        upstream: UnsafeBufferPointer(start: upstream, count: upstreamSize),
        headers: UnsafeBufferPointer(start: headers, count: headersSize),
        body: UnsafeBufferPointer(start: body, count: bodySize),
        trailers: UnsafeBufferPointer(start: trailers, count: trailersSize),
        timeoutMilliseconds: timeoutMilliseconds, token)
}

func proxy_grpc_call(
    _ service: UnsafePointer<UInt8>?, _ serviceSize: Int,
    _ serviceName: UnsafePointer<UInt8>?, _ serviceNameSize: Int,
    _ method: UnsafePointer<UInt8>?, _ methodSize: Int,
    _ initialMetadata: UnsafePointer<UInt8>?, _ initialMetadataSize: Int,
    _ message: UnsafePointer<UInt8>?, _ messageSize: Int,
    _ timeoutMilliseconds: UInt32, _ token: UnsafeMutablePointer<UInt32>?
) -> UInt32 {
    native.grpcCall(
        service: UnsafeBufferPointer(start: service, count: serviceSize),
        serviceName: UnsafeBufferPointer(start: serviceName, count: serviceNameSize),
        method: UnsafeBufferPointer(start: method, count: methodSize),
        initialMetadata: UnsafeBufferPointer(start: initialMetadata, count: initialMetadataSize),
        message: UnsafeBufferPointer(start: message, count: messageSize),
        timeoutMilliseconds: timeoutMilliseconds, token)
}

func proxy_grpc_stream(
    _ service: UnsafePointer<UInt8>?, _ serviceSize: Int,
    _ serviceName: UnsafePointer<UInt8>?, _ serviceNameSize: Int,
    _ method: UnsafePointer<UInt8>?, _ methodSize: Int,
    _ initialMetadata: UnsafePointer<UInt8>?, _ initialMetadataSize: Int,
    _ token: UnsafeMutablePointer<UInt32>?
) -> UInt32 {
    native.grpcStream(
        service: UnsafeBufferPointer(start: service, count: serviceSize),
        serviceName: UnsafeBufferPointer(start: serviceName, count: serviceNameSize),
        method: UnsafeBufferPointer(start: method, count: methodSize),
        initialMetadata: UnsafeBufferPointer(start: initialMetadata, count: initialMetadataSize), token)
}

func proxy_grpc_send(_ token: UInt32, _ message: UnsafePointer<UInt8>?, _ messageSize: Int, _ endOfStream: UInt32) -> UInt32 {
    native.grpcSend(token: token, message: UnsafeBufferPointer(start: message, count: messageSize), endOfStream: endOfStream)
}

func proxy_grpc_cancel(_ token: UInt32) -> UInt32 { native.grpcCancel(token: token) }

func proxy_grpc_close(_ token: UInt32) -> UInt32 { native.grpcClose(token: token) }

#endif
