// A plugin compiled natively, packaged as a module a host can drive: the
// "null VM" (Envoy's NullVM / Istio's NULL_PLUGIN idea). Each instance owns
// its context registry, so several plugins (or several copies of one) can
// live in one process the way several wasm VMs live in one proxy; while a
// callback runs, its registry and its host are the ones the SDK sees.

#if !arch(wasm32)

/// One natively compiled plugin instance: what a wasm module instance is to a host.
public final class NativeModule {
    /// The callbacks this instance exports, as its wasm32 build does
    /// (`ModuleExports`): a host asks before it calls one.
    public let exports: Set<String>

    private let dispatcher = Dispatcher()
    private let host: NativeProxyHost

    /// `register` is the plugin's registration (e.g. `StatsPlugin.register`),
    /// run once against this instance; `host` serves its raw calls; `exports`
    /// what its wasm32 build exports (by default every callback).
    public init(host: NativeProxyHost, exports: Set<String> = ModuleExports.all, register: () -> Void) {
        self.host = host
        self.exports = exports
        run { register() }
    }

    /// Live contexts of this instance (for leak tests).
    public var liveContextCounts: (roots: Int, http: Int, tcp: Int, pending: Int) { dispatcher.liveContextCounts }

    /// Runs `body` with this instance's registry and host bound to the current
    /// task (callbacks of different instances may nest; parallel tasks never
    /// see each other's).
    public func run<T>(_ body: () -> T) -> T {
        NativeHostBridge.$scoped.withValue(Scoped(host)) {
            Dispatcher.$scoped.withValue(Scoped(dispatcher)) { body() }
        }
    }

    /// Calls the export `name` with i32 arguments as a wasm host would.
    /// Returns `.some(result)` (nil result for callbacks without one), or nil
    /// when the module has no such export.
    public func call(_ name: String, _ a: [UInt32]) -> UInt32?? {
        guard exports.contains(name) else { return nil }
        func arg(_ index: Int) -> UInt32 { index < a.count ? a[index] : 0 }
        return run { () -> UInt32?? in
            let d = Dispatcher.shared
            switch name {
            case "proxy_on_context_create":
                d.onContextCreate(arg(0), arg(1))
                return .some(nil)
            case "proxy_on_vm_start": return d.onVmStart(arg(0), arg(1))
            case "proxy_on_configure": return d.onConfigure(arg(0), arg(1))
            case "proxy_on_tick":
                d.onTick(arg(0))
                return .some(nil)
            case "proxy_on_queue_ready":
                d.onQueueReady(arg(0), arg(1))
                return .some(nil)
            case "proxy_on_done": return d.onDone(arg(0))
            case "proxy_on_log":
                d.onLog(arg(0))
                return .some(nil)
            case "proxy_on_delete":
                d.onDelete(arg(0))
                return .some(nil)
            case "proxy_on_request_headers": return d.onRequestHeaders(arg(0), arg(1), arg(2))
            case "proxy_on_request_body": return d.onRequestBody(arg(0), arg(1), arg(2))
            case "proxy_on_request_trailers": return d.onRequestTrailers(arg(0), arg(1))
            case "proxy_on_response_headers": return d.onResponseHeaders(arg(0), arg(1), arg(2))
            case "proxy_on_response_body": return d.onResponseBody(arg(0), arg(1), arg(2))
            case "proxy_on_response_trailers": return d.onResponseTrailers(arg(0), arg(1))
            case "proxy_on_http_call_response":
                d.onHttpCallResponse(arg(0), arg(1), arg(2), arg(3), arg(4))
                return .some(nil)
            case "proxy_on_foreign_function":
                d.onForeignFunction(arg(0), arg(1), arg(2))
                return .some(nil)
            case "proxy_on_grpc_receive_initial_metadata":
                d.onGrpcReceiveInitialMetadata(arg(0), arg(1), arg(2))
                return .some(nil)
            case "proxy_on_grpc_receive":
                d.onGrpcReceive(arg(0), arg(1), arg(2))
                return .some(nil)
            case "proxy_on_grpc_receive_trailing_metadata":
                d.onGrpcReceiveTrailingMetadata(arg(0), arg(1), arg(2))
                return .some(nil)
            case "proxy_on_grpc_close":
                d.onGrpcClose(arg(0), arg(1), arg(2))
                return .some(nil)
            case "proxy_on_new_connection": return d.onNewConnection(arg(0))
            case "proxy_on_downstream_data": return d.onDownstreamData(arg(0), arg(1), arg(2))
            case "proxy_on_upstream_data": return d.onUpstreamData(arg(0), arg(1), arg(2))
            case "proxy_on_downstream_connection_close":
                d.onDownstreamConnectionClose(arg(0), arg(1))
                return .some(nil)
            case "proxy_on_upstream_connection_close":
                d.onUpstreamConnectionClose(arg(0), arg(1))
                return .some(nil)
            case "proxy_abi_version_0_2_1": return .some(nil)
            default: return nil
            }
        }
    }
}

#endif
