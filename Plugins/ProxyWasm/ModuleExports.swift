/// The names a module built on the SDK exports, for the build that prunes
/// them and for hosts that run a plugin natively.
///
/// Envoy does not enter a module for a callback it does not export: a stream
/// through a plugin that exports no body callbacks costs no VM entry per body
/// chunk. A plugin therefore names the callbacks it handles (`callbacks` on its
/// entry-point type), its module exports `core` and those (the Makefile's
/// `CALLBACKS_<module>`, checked against the plugin's list by the null-VM
/// tests), and a callback it overrides but does not name is never called.
public enum ModuleExports {
    /// What every module keeps: the ABI marker, and the context lifecycle the
    /// SDK's dispatcher needs to create, configure and forget contexts.
    /// (`proxy_on_memory_allocate`, `memory` and `_initialize` are exported too.)
    public static let core: Set<String> = [
        "proxy_abi_version_0_2_1", "proxy_on_context_create", "proxy_on_vm_start", "proxy_on_configure", "proxy_on_delete",
    ]

    /// The callbacks of a network filter's connection, from open to close.
    public static let connectionCallbacks: Set<String> = [
        "proxy_on_new_connection", "proxy_on_downstream_data", "proxy_on_upstream_data",
        "proxy_on_downstream_connection_close", "proxy_on_upstream_connection_close",
    ]

    /// Every callback the SDK has (`Exports.swift`), with the ABI marker: what a
    /// module exports when its build names no callbacks.
    public static let all: Set<String> = core.union(connectionCallbacks).union([
        "proxy_on_tick", "proxy_on_queue_ready", "proxy_on_done", "proxy_on_log",
        "proxy_on_request_headers", "proxy_on_request_body", "proxy_on_request_trailers",
        "proxy_on_response_headers", "proxy_on_response_body", "proxy_on_response_trailers",
        "proxy_on_http_call_response", "proxy_on_foreign_function",
        "proxy_on_grpc_receive_initial_metadata", "proxy_on_grpc_receive",
        "proxy_on_grpc_receive_trailing_metadata", "proxy_on_grpc_close",
    ])

    /// A module's exports given the callbacks its plugins handle.
    public static func exporting(_ callbacks: Set<String>) -> Set<String> { core.union(callbacks) }
}
