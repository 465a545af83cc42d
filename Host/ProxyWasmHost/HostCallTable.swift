import ProxyWasmABI

// The host's handler for every `env` import: where each ABI function of
// `abi/HostFunctionTable.swift` is bound to its implementation.

extension PluginVM {
    // MARK: - env handlers

    static let envHandlers: [String: HostCallHandler] = {
        var table: [String: HostCallHandler] = [:]
        table["proxy_log"] = { vm, a in try vm.proxyLog(a.i32(0), a.i32(1), a.i32(2)) }
        table["proxy_get_log_level"] = { vm, a in vm.proxyGetLogLevel(a.i32(0)) }
        table["proxy_get_status"] = { vm, a in try vm.proxyGetStatus(a.i32(0), a.i32(1), a.i32(2)) }
        table["proxy_set_tick_period_milliseconds"] = { vm, a in vm.proxySetTickPeriod(a.i32(0)) }
        table["proxy_get_current_time_nanoseconds"] = { vm, a in vm.proxyGetCurrentTime(a.i32(0)) }
        table["proxy_get_property"] = { vm, a in try vm.proxyGetProperty(a.i32(0), a.i32(1), a.i32(2), a.i32(3)) }
        table["proxy_set_property"] = { vm, a in vm.proxySetProperty(a.i32(0), a.i32(1), a.i32(2), a.i32(3)) }
        table["proxy_get_buffer_bytes"] = { vm, a in
            try vm.proxyGetBufferBytes(a.i32(0), a.i32(1), a.i32(2), a.i32(3), a.i32(4))
        }
        table["proxy_get_buffer_status"] = { vm, a in vm.proxyGetBufferStatus(a.i32(0), a.i32(1), a.i32(2)) }
        table["proxy_set_buffer_bytes"] = { vm, a in
            vm.proxySetBufferBytes(a.i32(0), a.i32(1), a.i32(2), a.i32(3), a.i32(4))
        }
        table["proxy_get_header_map_value"] = { vm, a in
            try vm.proxyGetHeaderMapValue(a.i32(0), a.i32(1), a.i32(2), a.i32(3), a.i32(4))
        }
        table["proxy_add_header_map_value"] = { vm, a in
            vm.proxyMutateHeaderMap("proxy_add_header_map_value", a.i32(0), a.i32(1), a.i32(2), a.i32(3), a.i32(4))
        }
        table["proxy_replace_header_map_value"] = { vm, a in
            vm.proxyMutateHeaderMap("proxy_replace_header_map_value", a.i32(0), a.i32(1), a.i32(2), a.i32(3), a.i32(4))
        }
        table["proxy_remove_header_map_value"] = { vm, a in
            vm.proxyMutateHeaderMap("proxy_remove_header_map_value", a.i32(0), a.i32(1), a.i32(2), 0, 0)
        }
        table["proxy_get_header_map_pairs"] = { vm, a in try vm.proxyGetHeaderMapPairs(a.i32(0), a.i32(1), a.i32(2)) }
        table["proxy_set_header_map_pairs"] = { vm, a in vm.proxySetHeaderMapPairs(a.i32(0), a.i32(1), a.i32(2)) }
        table["proxy_get_header_map_size"] = { vm, a in vm.proxyGetHeaderMapSize(a.i32(0), a.i32(1)) }
        table["proxy_continue_stream"] = { vm, a in vm.proxyStreamAction("continue", a.i32(0)) }
        table["proxy_close_stream"] = { vm, a in vm.proxyStreamAction("close", a.i32(0)) }
        table["proxy_continue_request"] = { vm, _ in vm.proxyStreamAction("continue", 0, checkType: false) }
        table["proxy_continue_response"] = { vm, _ in vm.proxyStreamAction("continue", 1, checkType: false) }
        table["proxy_clear_route_cache"] = { vm, _ in vm.finish("proxy_clear_route_cache", .ok) }
        table["proxy_get_configuration"] = { vm, a in try vm.proxyGetConfiguration(a.i32(0), a.i32(1)) }
        table["proxy_send_local_response"] = { vm, a in
            vm.proxySendLocalResponse(a.i32(0), a.i32(1), a.i32(2), a.i32(3), a.i32(4), a.i32(5), a.i32(6), a.i32(7))
        }
        table["proxy_get_shared_data"] = { vm, a in
            try vm.proxyGetSharedData(a.i32(0), a.i32(1), a.i32(2), a.i32(3), a.i32(4))
        }
        table["proxy_set_shared_data"] = { vm, a in
            vm.proxySetSharedData(a.i32(0), a.i32(1), a.i32(2), a.i32(3), a.i32(4))
        }
        table["proxy_register_shared_queue"] = { vm, a in vm.proxyRegisterSharedQueue(a.i32(0), a.i32(1), a.i32(2)) }
        table["proxy_resolve_shared_queue"] = { vm, a in
            vm.proxyResolveSharedQueue(a.i32(0), a.i32(1), a.i32(2), a.i32(3), a.i32(4))
        }
        table["proxy_enqueue_shared_queue"] = { vm, a in vm.proxyEnqueueSharedQueue(a.i32(0), a.i32(1), a.i32(2)) }
        table["proxy_dequeue_shared_queue"] = { vm, a in try vm.proxyDequeueSharedQueue(a.i32(0), a.i32(1), a.i32(2)) }
        table["proxy_define_metric"] = { vm, a in vm.proxyDefineMetric(a.i32(0), a.i32(1), a.i32(2), a.i32(3)) }
        table["proxy_increment_metric"] = { vm, a in vm.proxyIncrementMetric(a.i32(0), Int64(bitPattern: a.i64(1))) }
        table["proxy_record_metric"] = { vm, a in vm.proxyRecordMetric(a.i32(0), a.i64(1)) }
        table["proxy_get_metric"] = { vm, a in vm.proxyGetMetric(a.i32(0), a.i32(1)) }
        table["proxy_set_effective_context"] = { vm, a in vm.proxySetEffectiveContext(a.i32(0)) }
        table["proxy_done"] = { vm, _ in vm.proxyDone() }
        table["proxy_call_foreign_function"] = { vm, a in
            try vm.proxyCallForeignFunction(a.i32(0), a.i32(1), a.i32(2), a.i32(3), a.i32(4), a.i32(5))
        }
        table["proxy_http_call"] = { vm, a in vm.proxyHttpCall(a) }
        table["proxy_grpc_call"] = { vm, a in vm.proxyGrpcOpen(a, isStream: false) }
        table["proxy_grpc_stream"] = { vm, a in vm.proxyGrpcOpen(a, isStream: true) }
        table["proxy_grpc_send"] = { vm, a in vm.proxyGrpcSend(a.i32(0), a.i32(1), a.i32(2), a.i32(3)) }
        table["proxy_grpc_cancel"] = { vm, a in vm.proxyGrpcEnd(a.i32(0), cancel: true) }
        table["proxy_grpc_close"] = { vm, a in vm.proxyGrpcEnd(a.i32(0), cancel: false) }
        table["envoy_resolve_dns"] = { vm, _ in vm.unimplemented("envoy_resolve_dns", .internalFailure) }
        table["pthread_equal"] = { _, a in a.i32(0) == a.i32(1) ? 1 : 0 }
        table["emscripten_notify_memory_growth"] = { _, _ in nil }
        return table
    }()
}
