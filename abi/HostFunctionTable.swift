// The import and export surface of proxy-wasm as Envoy (proxy-wasm-cpp-host)
// registers it: one row per function with its exact wasm signature and the ABI
// versions that have it. The host links exactly these rows, so "loads in our
// host" predicts "loads in Envoy"; the plugin SDK declares its imports from the
// same names.

/// A wasm value type appearing in a proxy-wasm signature.
public enum WasmValueType: UInt8, Sendable {
    case i32
    case i64

    public var name: String { self == .i32 ? "i32" : "i64" }
}

/// A wasm function signature, printed the way Envoy prints it in its link
/// errors (`i32 i32 -> i32`).
public struct WasmSignature: Sendable, Equatable {
    public let parameters: [WasmValueType]
    public let results: [WasmValueType]

    public init(_ parameters: [WasmValueType], _ results: [WasmValueType]) {
        self.parameters = parameters
        self.results = results
    }

    /// `i32 i32 -> i32`; an empty side prints as nothing (`-> i32`, `i32 ->`).
    public var description: String {
        var text = ""
        for (index, type) in parameters.enumerated() {
            if index > 0 { text += " " }
            text += type.name
        }
        text += parameters.isEmpty ? "->" : " ->"
        for type in results { text += " " + type.name }
        return text
    }
}

/// An enumeration Envoy checks a host call's u32 argument against before it
/// reads any guest memory, answering `BadArgument` for a value outside it.
public enum ABIEnumeration: String, Sendable, Equatable {
    case headerMapType = "HeaderMapType"
    case bufferType = "BufferType"
    case logLevel = "LogLevel"
    case streamType = "StreamType"
}

/// What one argument of a host call carries, as the SDK declares it. Each kind
/// lowers to fixed wasm values, so a row's parameters also give its signature.
public enum ABIParameterKind: Sendable, Equatable {
    /// A u32 value (i32).
    case word
    /// A u32 value of an enumeration Envoy checks first (i32).
    case enumeration(ABIEnumeration)
    /// A usize value (i32 on wasm32).
    case size
    /// A signed 64-bit value (i64).
    case signed64
    /// An unsigned 64-bit value (i64).
    case unsigned64
    /// Bytes the guest passes in: pointer and size (i32 i32).
    case bytes
    /// Bytes the guest passes in (i32 i32) that Envoy reads only after checks of
    /// its own (`proxy_set_buffer_bytes` looks the buffer up first), so the
    /// host's handler reads them, not its binding.
    case lateBytes
    /// A pointer to a u32 the host writes (i32).
    case wordOut
    /// A pointer to a usize the host writes (i32).
    case sizeOut
    /// A pointer to a u64 the host writes (i32).
    case unsigned64Out
    /// Pointers to a (pointer, size) pair the host fills with bytes it
    /// allocated in the guest through `proxy_on_memory_allocate` (i32 i32).
    case returnedBytes

    /// The wasm values this argument occupies.
    public var wasmTypes: [WasmValueType] {
        switch self {
        case .signed64, .unsigned64: return [.i64]
        case .bytes, .lateBytes, .returnedBytes: return [.i32, .i32]
        case .word, .enumeration, .size, .wordOut, .sizeOut, .unsigned64Out: return [.i32]
        }
    }
}

/// One named argument of a host call.
public struct ABIParameter: Sendable, Equatable {
    public let name: String
    public let kind: ABIParameterKind

    public init(_ name: String, _ kind: ABIParameterKind) {
        self.name = name
        self.kind = kind
    }

    public static func word(_ name: String) -> ABIParameter { ABIParameter(name, .word) }
    public static func enumeration(_ name: String, _ type: ABIEnumeration) -> ABIParameter { ABIParameter(name, .enumeration(type)) }
    public static func size(_ name: String) -> ABIParameter { ABIParameter(name, .size) }
    public static func signed64(_ name: String) -> ABIParameter { ABIParameter(name, .signed64) }
    public static func unsigned64(_ name: String) -> ABIParameter { ABIParameter(name, .unsigned64) }
    public static func bytes(_ name: String) -> ABIParameter { ABIParameter(name, .bytes) }
    public static func lateBytes(_ name: String) -> ABIParameter { ABIParameter(name, .lateBytes) }
    public static func wordOut(_ name: String) -> ABIParameter { ABIParameter(name, .wordOut) }
    public static func sizeOut(_ name: String) -> ABIParameter { ABIParameter(name, .sizeOut) }
    public static func unsigned64Out(_ name: String) -> ABIParameter { ABIParameter(name, .unsigned64Out) }
    public static func returnedBytes(_ name: String) -> ABIParameter { ABIParameter(name, .returnedBytes) }
}

/// One function a host provides to (or a module exports for) proxy-wasm.
public struct ABIFunction: Sendable {
    /// The import module (`env`, `wasi_snapshot_preview1`, `wasi_unstable`) or,
    /// for callbacks, the empty string.
    public let module: String
    public let name: String
    public let signature: WasmSignature
    /// The arguments by meaning, for rows the SDK declares (every `proxy_*`
    /// host call); `nil` for rows known only by their wasm signature.
    /// `make abi-sources` generates the SDK's imports, its native seam, the
    /// null VM's bridge and the host's handler bindings from these.
    public let parameters: [ABIParameter]?
    /// First ABI version that has this function.
    public let since: ABIVersion
    /// Last ABI version that has it (`nil`: still present in 0.2.1).
    public let until: ABIVersion?

    public init(
        module: String, name: String, signature: WasmSignature,
        since: ABIVersion = .v0_1_0, until: ABIVersion? = nil
    ) {
        self.module = module
        self.name = name
        self.signature = signature
        self.parameters = nil
        self.since = since
        self.until = until
    }

    /// A proxy-wasm host call in `env`: its arguments by meaning, one i32
    /// result (a `WasmResult`); the signature follows from the arguments.
    public init(call name: String, _ parameters: [ABIParameter], since: ABIVersion = .v0_1_0, until: ABIVersion? = nil) {
        self.module = "env"
        self.name = name
        self.signature = WasmSignature(parameters.flatMap { $0.kind.wasmTypes }, [.i32])
        self.parameters = parameters
        self.since = since
        self.until = until
    }

    /// Whether a module declaring `version` may use this function.
    public func isAvailable(in version: ABIVersion) -> Bool {
        if version < since { return false }
        if let until, version > until { return false }
        return true
    }
}

private func sig(_ p: Int, _ r: Int = 1) -> WasmSignature {
    WasmSignature([WasmValueType](repeating: .i32, count: p), [WasmValueType](repeating: .i32, count: r))
}

/// The host functions Envoy registers under module `env`: the proxy-wasm
/// calls, Envoy's `envoy_resolve_dns` extension and the two emscripten shims.
public let proxyHostFunctions: [ABIFunction] = [
    ABIFunction(call: "proxy_log", [.enumeration("level", .logLevel), .bytes("message")]),
    ABIFunction(call: "proxy_get_log_level", [.wordOut("level")], since: .v0_2_1),
    ABIFunction(call: "proxy_get_configuration", [.returnedBytes("configuration")], until: .v0_1_0),
    ABIFunction(call: "proxy_get_status", [.wordOut("code"), .returnedBytes("message")]),
    ABIFunction(call: "proxy_set_tick_period_milliseconds", [.word("period")]),
    ABIFunction(call: "proxy_get_current_time_nanoseconds", [.unsigned64Out("time")]),
    ABIFunction(call: "proxy_get_property", [.bytes("path"), .returnedBytes("value")]),
    ABIFunction(call: "proxy_set_property", [.bytes("path"), .bytes("value")]),
    ABIFunction(call: "proxy_get_buffer_bytes", [.enumeration("type", .bufferType), .size("start"), .size("maxSize"), .returnedBytes("value")]),
    ABIFunction(call: "proxy_get_buffer_status", [.enumeration("type", .bufferType), .sizeOut("length"), .wordOut("flags")]),
    ABIFunction(call: "proxy_set_buffer_bytes", [.enumeration("type", .bufferType), .size("start"), .size("length"), .lateBytes("data")]),
    ABIFunction(call: "proxy_get_header_map_value", [.enumeration("map", .headerMapType), .bytes("key"), .returnedBytes("value")]),
    ABIFunction(call: "proxy_add_header_map_value", [.enumeration("map", .headerMapType), .bytes("key"), .bytes("value")]),
    ABIFunction(call: "proxy_replace_header_map_value", [.enumeration("map", .headerMapType), .bytes("key"), .bytes("value")]),
    ABIFunction(call: "proxy_remove_header_map_value", [.enumeration("map", .headerMapType), .bytes("key")]),
    ABIFunction(call: "proxy_get_header_map_pairs", [.enumeration("map", .headerMapType), .returnedBytes("pairs")]),
    ABIFunction(call: "proxy_set_header_map_pairs", [.enumeration("map", .headerMapType), .bytes("pairs")]),
    ABIFunction(call: "proxy_get_header_map_size", [.enumeration("map", .headerMapType), .sizeOut("size")]),
    ABIFunction(call: "proxy_continue_request", [], until: .v0_1_0),
    ABIFunction(call: "proxy_continue_response", [], until: .v0_1_0),
    ABIFunction(call: "proxy_clear_route_cache", [], until: .v0_1_0),
    ABIFunction(call: "proxy_continue_stream", [.enumeration("stream", .streamType)], since: .v0_2_0),
    ABIFunction(call: "proxy_close_stream", [.enumeration("stream", .streamType)], since: .v0_2_0),
    ABIFunction(call: "proxy_send_local_response", [.word("statusCode"), .bytes("details"), .bytes("body"), .bytes("headers"), .word("grpcStatus")]),
    ABIFunction(
        call: "proxy_http_call",
        [.bytes("upstream"), .bytes("headers"), .bytes("body"), .bytes("trailers"), .word("timeoutMilliseconds"), .wordOut("token")]),
    ABIFunction(
        call: "proxy_grpc_call",
        [
            .bytes("service"), .bytes("serviceName"), .bytes("method"), .bytes("initialMetadata"), .bytes("message"), .word("timeoutMilliseconds"),
            .wordOut("token"),
        ]),
    ABIFunction(
        call: "proxy_grpc_stream", [.bytes("service"), .bytes("serviceName"), .bytes("method"), .bytes("initialMetadata"), .wordOut("token")]),
    ABIFunction(call: "proxy_grpc_send", [.word("token"), .bytes("message"), .word("endOfStream")]),
    ABIFunction(call: "proxy_grpc_cancel", [.word("token")]),
    ABIFunction(call: "proxy_grpc_close", [.word("token")]),
    ABIFunction(call: "proxy_get_shared_data", [.bytes("key"), .returnedBytes("value"), .wordOut("cas")]),
    ABIFunction(call: "proxy_set_shared_data", [.bytes("key"), .bytes("value"), .word("cas")]),
    ABIFunction(call: "proxy_register_shared_queue", [.bytes("name"), .wordOut("token")]),
    ABIFunction(call: "proxy_resolve_shared_queue", [.bytes("vmID"), .bytes("name"), .wordOut("token")]),
    ABIFunction(call: "proxy_enqueue_shared_queue", [.word("token"), .bytes("data")]),
    ABIFunction(call: "proxy_dequeue_shared_queue", [.word("token"), .returnedBytes("value")]),
    ABIFunction(call: "proxy_define_metric", [.word("type"), .bytes("name"), .wordOut("id")]),
    ABIFunction(call: "proxy_increment_metric", [.word("id"), .signed64("delta")]),
    ABIFunction(call: "proxy_record_metric", [.word("id"), .unsigned64("value")]),
    ABIFunction(call: "proxy_get_metric", [.word("id"), .unsigned64Out("value")]),
    ABIFunction(call: "proxy_set_effective_context", [.word("contextID")]),
    ABIFunction(call: "proxy_done", []),
    ABIFunction(call: "proxy_call_foreign_function", [.bytes("name"), .bytes("arguments"), .returnedBytes("result")]),
    // Envoy's own extension (source/extensions/common/wasm/wasm.cc).
    ABIFunction(module: "env", name: "envoy_resolve_dns", signature: sig(3)),
    // Emscripten shims proxy-wasm-cpp-host registers for every module.
    ABIFunction(module: "env", name: "pthread_equal", signature: sig(2)),
    ABIFunction(module: "env", name: "emscripten_notify_memory_growth", signature: sig(1, 0)),
]

/// The two module names under which Envoy registers its WASI subset.
public let wasiModuleNames: [String] = ["wasi_snapshot_preview1", "wasi_unstable"]

private func wasi(_ name: String, _ params: [WasmValueType], _ results: [WasmValueType] = [.i32]) -> (String, WasmSignature) {
    (name, WasmSignature(params, results))
}

/// Envoy's WASI preview1 subset with Envoy's signatures — including its quirks:
/// `path_link` takes 6 i32 (real preview1: 7), `path_symlink` takes 4 (real: 5)
/// and `proc_raise` is absent, so a module importing the real ones fails to load.
public let wasiFunctionSignatures: [(name: String, signature: WasmSignature)] = [
    wasi("fd_write", [.i32, .i32, .i32, .i32]),
    wasi("fd_pwrite", [.i32, .i32, .i32, .i64, .i32]),
    wasi("fd_read", [.i32, .i32, .i32, .i32]),
    wasi("fd_pread", [.i32, .i32, .i32, .i64, .i32]),
    wasi("fd_seek", [.i32, .i64, .i32, .i32]),
    wasi("fd_close", [.i32]),
    wasi("fd_fdstat_get", [.i32, .i32]),
    wasi("fd_fdstat_set_flags", [.i32, .i32]),
    wasi("fd_fdstat_set_rights", [.i32, .i64, .i64]),
    wasi("fd_advise", [.i32, .i64, .i64, .i32]),
    wasi("fd_allocate", [.i32, .i64, .i64]),
    wasi("fd_datasync", [.i32]),
    wasi("fd_sync", [.i32]),
    wasi("fd_filestat_get", [.i32, .i32]),
    wasi("fd_filestat_set_size", [.i32, .i64]),
    wasi("fd_filestat_set_times", [.i32, .i64, .i64, .i32]),
    wasi("fd_prestat_get", [.i32, .i32]),
    wasi("fd_prestat_dir_name", [.i32, .i32, .i32]),
    wasi("fd_readdir", [.i32, .i32, .i32, .i64, .i32]),
    wasi("fd_renumber", [.i32, .i32]),
    wasi("fd_tell", [.i32, .i32]),
    wasi("path_open", [.i32, .i32, .i32, .i32, .i32, .i64, .i64, .i32, .i32]),
    wasi("path_filestat_get", [.i32, .i32, .i32, .i32, .i32]),
    wasi("path_create_directory", [.i32, .i32, .i32]),
    wasi("path_remove_directory", [.i32, .i32, .i32]),
    wasi("path_unlink_file", [.i32, .i32, .i32]),
    wasi("path_filestat_set_times", [.i32, .i32, .i32, .i32, .i64, .i64, .i32]),
    wasi("path_link", [.i32, .i32, .i32, .i32, .i32, .i32]),
    wasi("path_readlink", [.i32, .i32, .i32, .i32, .i32, .i32]),
    wasi("path_rename", [.i32, .i32, .i32, .i32, .i32, .i32]),
    wasi("path_symlink", [.i32, .i32, .i32, .i32]),
    wasi("sock_accept", [.i32, .i32, .i32]),
    wasi("sock_recv", [.i32, .i32, .i32, .i32, .i32, .i32]),
    wasi("sock_send", [.i32, .i32, .i32, .i32, .i32]),
    wasi("sock_shutdown", [.i32, .i32]),
    wasi("environ_sizes_get", [.i32, .i32]),
    wasi("environ_get", [.i32, .i32]),
    wasi("args_sizes_get", [.i32, .i32]),
    wasi("args_get", [.i32, .i32]),
    wasi("clock_time_get", [.i32, .i64, .i32]),
    wasi("clock_res_get", [.i32, .i32]),
    wasi("random_get", [.i32, .i32]),
    wasi("sched_yield", []),
    wasi("poll_oneoff", [.i32, .i32, .i32, .i32]),
    wasi("proc_exit", [.i32], []),
]

/// Every WASI function Envoy provides, once per module name.
public let wasiHostFunctions: [ABIFunction] = {
    var rows: [ABIFunction] = []
    for module in wasiModuleNames {
        for entry in wasiFunctionSignatures {
            rows.append(ABIFunction(module: module, name: entry.name, signature: entry.signature))
        }
    }
    return rows
}()

/// Everything a module declaring `version` may import from Envoy.
public func hostFunctions(for version: ABIVersion) -> [ABIFunction] {
    var rows: [ABIFunction] = []
    for row in proxyHostFunctions where row.isAvailable(in: version) { rows.append(row) }
    rows.append(contentsOf: wasiHostFunctions)
    return rows
}

/// Callbacks (module exports) the host looks up, with the exact signature
/// Envoy's V8 backend requires; a present export with another signature fails
/// the VM ("Bad function signature for: ...").
public let proxyCallbacks: [ABIFunction] = [
    ABIFunction(module: "", name: "_initialize", signature: sig(0, 0)),
    ABIFunction(module: "", name: "_start", signature: sig(0, 0)),
    ABIFunction(module: "", name: "main", signature: sig(2, 1)),
    ABIFunction(module: "", name: "__main_void", signature: sig(0, 1)),
    ABIFunction(module: "", name: "malloc", signature: sig(1)),
    ABIFunction(module: "", name: "proxy_on_memory_allocate", signature: sig(1)),
    ABIFunction(module: "", name: "proxy_on_context_create", signature: sig(2, 0)),
    ABIFunction(module: "", name: "proxy_on_vm_start", signature: sig(2)),
    ABIFunction(module: "", name: "proxy_validate_configuration", signature: sig(2)),
    ABIFunction(module: "", name: "proxy_on_configure", signature: sig(2)),
    ABIFunction(module: "", name: "proxy_on_tick", signature: sig(1, 0)),
    ABIFunction(module: "", name: "proxy_on_queue_ready", signature: sig(2, 0)),
    ABIFunction(module: "", name: "proxy_on_new_connection", signature: sig(1)),
    ABIFunction(module: "", name: "proxy_on_downstream_data", signature: sig(3)),
    ABIFunction(module: "", name: "proxy_on_upstream_data", signature: sig(3)),
    ABIFunction(module: "", name: "proxy_on_downstream_connection_close", signature: sig(2, 0)),
    ABIFunction(module: "", name: "proxy_on_upstream_connection_close", signature: sig(2, 0)),
    ABIFunction(module: "", name: "proxy_on_request_headers", signature: sig(2), until: .v0_1_0),
    ABIFunction(module: "", name: "proxy_on_request_headers", signature: sig(3), since: .v0_2_0),
    ABIFunction(module: "", name: "proxy_on_request_body", signature: sig(3)),
    ABIFunction(module: "", name: "proxy_on_request_trailers", signature: sig(2)),
    ABIFunction(module: "", name: "proxy_on_request_metadata", signature: sig(2)),
    ABIFunction(module: "", name: "proxy_on_response_headers", signature: sig(2), until: .v0_1_0),
    ABIFunction(module: "", name: "proxy_on_response_headers", signature: sig(3), since: .v0_2_0),
    ABIFunction(module: "", name: "proxy_on_response_body", signature: sig(3)),
    ABIFunction(module: "", name: "proxy_on_response_trailers", signature: sig(2)),
    ABIFunction(module: "", name: "proxy_on_response_metadata", signature: sig(2)),
    ABIFunction(module: "", name: "proxy_on_http_call_response", signature: sig(5, 0)),
    ABIFunction(module: "", name: "proxy_on_grpc_receive_initial_metadata", signature: sig(3, 0)),
    ABIFunction(module: "", name: "proxy_on_grpc_receive", signature: sig(3, 0)),
    ABIFunction(module: "", name: "proxy_on_grpc_receive_trailing_metadata", signature: sig(3, 0)),
    ABIFunction(module: "", name: "proxy_on_grpc_close", signature: sig(3, 0)),
    ABIFunction(module: "", name: "proxy_on_foreign_function", signature: sig(3, 0), since: .v0_2_0),
    ABIFunction(module: "", name: "proxy_on_done", signature: sig(1)),
    ABIFunction(module: "", name: "proxy_on_log", signature: sig(1, 0)),
    ABIFunction(module: "", name: "proxy_on_delete", signature: sig(1, 0)),
    ABIFunction(module: "", name: "envoy_on_resolve_dns", signature: sig(3, 0)),
    ABIFunction(module: "", name: "envoy_on_stats_update", signature: sig(2, 0)),
]

/// The callback row for `name` in a module declaring `version`.
public func callback(named name: String, in version: ABIVersion) -> ABIFunction? {
    for row in proxyCallbacks where row.name == name && row.isAvailable(in: version) { return row }
    return nil
}
