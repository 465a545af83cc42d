// The module's exports on wasm32: the ABI marker, the allocator and every
// `proxy_on_*` callback, each forwarding to `Dispatcher.shared`.
// `@_expose(wasm)` names the export; `@_cdecl` gives it the C calling
// convention (without it the export would carry two hidden Swift parameters).

#if arch(wasm32)

/// Defined by the plugin (`@_cdecl("proxy_wasm_swift_main")`): registers its
/// root context factory. Called once, before the first context is created.
@_extern(c, "proxy_wasm_swift_main")
func proxy_wasm_swift_main()

@_expose(wasm, "proxy_abi_version_0_2_1")
@_cdecl("proxy_abi_version_0_2_1")
func proxyABIVersion021() {}

/// The allocator hosts use to hand us byte strings. The SDK frees those
/// buffers with `deallocate()`, which pairs with this allocation.
@_expose(wasm, "proxy_on_memory_allocate")
@_cdecl("proxy_on_memory_allocate")
func proxyOnMemoryAllocate(_ size: Int) -> UnsafeMutableRawPointer? {
    UnsafeMutableRawPointer.allocate(byteCount: size, alignment: 8)
}

@_expose(wasm, "proxy_on_context_create")
@_cdecl("proxy_on_context_create")
func proxyOnContextCreate(_ contextID: UInt32, _ parentID: UInt32) {
    Dispatcher.shared.onContextCreate(contextID, parentID)
}

@_expose(wasm, "proxy_on_vm_start")
@_cdecl("proxy_on_vm_start")
func proxyOnVmStart(_ rootID: UInt32, _ size: UInt32) -> UInt32 {
    Dispatcher.shared.onVmStart(rootID, size)
}

@_expose(wasm, "proxy_on_configure")
@_cdecl("proxy_on_configure")
func proxyOnConfigure(_ rootID: UInt32, _ size: UInt32) -> UInt32 {
    Dispatcher.shared.onConfigure(rootID, size)
}

@_expose(wasm, "proxy_on_tick")
@_cdecl("proxy_on_tick")
func proxyOnTick(_ rootID: UInt32) { Dispatcher.shared.onTick(rootID) }

@_expose(wasm, "proxy_on_queue_ready")
@_cdecl("proxy_on_queue_ready")
func proxyOnQueueReady(_ rootID: UInt32, _ token: UInt32) { Dispatcher.shared.onQueueReady(rootID, token) }

@_expose(wasm, "proxy_on_done")
@_cdecl("proxy_on_done")
func proxyOnDone(_ contextID: UInt32) -> UInt32 { Dispatcher.shared.onDone(contextID) }

@_expose(wasm, "proxy_on_log")
@_cdecl("proxy_on_log")
func proxyOnLog(_ contextID: UInt32) { Dispatcher.shared.onLog(contextID) }

@_expose(wasm, "proxy_on_delete")
@_cdecl("proxy_on_delete")
func proxyOnDelete(_ contextID: UInt32) { Dispatcher.shared.onDelete(contextID) }

@_expose(wasm, "proxy_on_request_headers")
@_cdecl("proxy_on_request_headers")
func proxyOnRequestHeaders(_ contextID: UInt32, _ count: UInt32, _ endOfStream: UInt32) -> UInt32 {
    Dispatcher.shared.onRequestHeaders(contextID, count, endOfStream)
}

@_expose(wasm, "proxy_on_request_body")
@_cdecl("proxy_on_request_body")
func proxyOnRequestBody(_ contextID: UInt32, _ size: UInt32, _ endOfStream: UInt32) -> UInt32 {
    Dispatcher.shared.onRequestBody(contextID, size, endOfStream)
}

@_expose(wasm, "proxy_on_request_trailers")
@_cdecl("proxy_on_request_trailers")
func proxyOnRequestTrailers(_ contextID: UInt32, _ count: UInt32) -> UInt32 {
    Dispatcher.shared.onRequestTrailers(contextID, count)
}

@_expose(wasm, "proxy_on_response_headers")
@_cdecl("proxy_on_response_headers")
func proxyOnResponseHeaders(_ contextID: UInt32, _ count: UInt32, _ endOfStream: UInt32) -> UInt32 {
    Dispatcher.shared.onResponseHeaders(contextID, count, endOfStream)
}

@_expose(wasm, "proxy_on_response_body")
@_cdecl("proxy_on_response_body")
func proxyOnResponseBody(_ contextID: UInt32, _ size: UInt32, _ endOfStream: UInt32) -> UInt32 {
    Dispatcher.shared.onResponseBody(contextID, size, endOfStream)
}

@_expose(wasm, "proxy_on_response_trailers")
@_cdecl("proxy_on_response_trailers")
func proxyOnResponseTrailers(_ contextID: UInt32, _ count: UInt32) -> UInt32 {
    Dispatcher.shared.onResponseTrailers(contextID, count)
}

@_expose(wasm, "proxy_on_http_call_response")
@_cdecl("proxy_on_http_call_response")
func proxyOnHttpCallResponse(_ rootID: UInt32, _ token: UInt32, _ headers: UInt32, _ body: UInt32, _ trailers: UInt32) {
    Dispatcher.shared.onHttpCallResponse(rootID, token, headers, body, trailers)
}

@_expose(wasm, "proxy_on_grpc_receive_initial_metadata")
@_cdecl("proxy_on_grpc_receive_initial_metadata")
func proxyOnGrpcReceiveInitialMetadata(_ contextID: UInt32, _ token: UInt32, _ count: UInt32) {
    Dispatcher.shared.onGrpcReceiveInitialMetadata(contextID, token, count)
}

@_expose(wasm, "proxy_on_grpc_receive")
@_cdecl("proxy_on_grpc_receive")
func proxyOnGrpcReceive(_ contextID: UInt32, _ token: UInt32, _ size: UInt32) {
    Dispatcher.shared.onGrpcReceive(contextID, token, size)
}

@_expose(wasm, "proxy_on_grpc_receive_trailing_metadata")
@_cdecl("proxy_on_grpc_receive_trailing_metadata")
func proxyOnGrpcReceiveTrailingMetadata(_ contextID: UInt32, _ token: UInt32, _ count: UInt32) {
    Dispatcher.shared.onGrpcReceiveTrailingMetadata(contextID, token, count)
}

@_expose(wasm, "proxy_on_grpc_close")
@_cdecl("proxy_on_grpc_close")
func proxyOnGrpcClose(_ contextID: UInt32, _ token: UInt32, _ status: UInt32) {
    Dispatcher.shared.onGrpcClose(contextID, token, status)
}

@_expose(wasm, "proxy_on_foreign_function")
@_cdecl("proxy_on_foreign_function")
func proxyOnForeignFunction(_ rootID: UInt32, _ functionID: UInt32, _ size: UInt32) {
    Dispatcher.shared.onForeignFunction(rootID, functionID, size)
}

@_expose(wasm, "proxy_on_new_connection")
@_cdecl("proxy_on_new_connection")
func proxyOnNewConnection(_ contextID: UInt32) -> UInt32 { Dispatcher.shared.onNewConnection(contextID) }

@_expose(wasm, "proxy_on_downstream_data")
@_cdecl("proxy_on_downstream_data")
func proxyOnDownstreamData(_ contextID: UInt32, _ size: UInt32, _ endOfStream: UInt32) -> UInt32 {
    Dispatcher.shared.onDownstreamData(contextID, size, endOfStream)
}

@_expose(wasm, "proxy_on_upstream_data")
@_cdecl("proxy_on_upstream_data")
func proxyOnUpstreamData(_ contextID: UInt32, _ size: UInt32, _ endOfStream: UInt32) -> UInt32 {
    Dispatcher.shared.onUpstreamData(contextID, size, endOfStream)
}

@_expose(wasm, "proxy_on_downstream_connection_close")
@_cdecl("proxy_on_downstream_connection_close")
func proxyOnDownstreamConnectionClose(_ contextID: UInt32, _ peer: UInt32) {
    Dispatcher.shared.onDownstreamConnectionClose(contextID, peer)
}

@_expose(wasm, "proxy_on_upstream_connection_close")
@_cdecl("proxy_on_upstream_connection_close")
func proxyOnUpstreamConnectionClose(_ contextID: UInt32, _ peer: UInt32) {
    Dispatcher.shared.onUpstreamConnectionClose(contextID, peer)
}

#endif
