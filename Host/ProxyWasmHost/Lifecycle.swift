import ProxyWasmABI

/// Why a plugin could not start (Envoy then refuses the configuration).
public struct PluginStartError: Error, CustomStringConvertible, Equatable {
    public let message: String
    public var description: String { message }
}

extension PluginVM {
    /// Attaches the guest an engine loaded, with the ABI version its marker declares.
    public func attach(_ guest: GuestInstance, abiVersion: ABIVersion) {
        self.guest = guest
        self.abiVersion = abiVersion
    }

    /// Runs the module's start functions in Envoy's order, under the V8
    /// restriction that only `proxy_log` and WASI may be called:
    /// `_initialize` then `main(0, 0)` or `__main_void()`; else `_start`.
    public func runStartFunctions() throws(PluginStartError) {
        guard let guest else { throw PluginStartError(message: "no guest attached") }
        frame.restriction = .startup
        defer { frame.restriction = .none }
        if guest.hasExport("_initialize") {
            invoke("_initialize", context: 0, [])
            if guest.hasExport("main") {
                invoke("main", context: 0, [0, 0])
            } else if guest.hasExport("__main_void") {
                invoke("__main_void", context: 0, [])
            }
        } else if guest.hasExport("_start") {
            invoke("_start", context: 0, [])
        }
        if let failure { throw PluginStartError(message: "Failed to initialize Wasm code: \(failure.message)") }
    }

    /// Starts a plugin as Envoy does: `proxy_on_context_create(R, 0)`,
    /// `proxy_on_vm_start(R, vm_config_size)`, `proxy_on_configure(R, config_size)`.
    /// Returns the root context id.
    @discardableResult
    public func startPlugin(_ configuration: PluginConfiguration) throws(PluginStartError) -> UInt32 {
        if let failure { throw PluginStartError(message: "Wasm VM failed: \(failure.message)") }
        let root = registry.addRoot(configuration).id
        // Envoy makes the plugin configuration readable in the root's first
        // context create and in configure, not in vm start.
        frame.configurationReadableRoot = root
        invoke("proxy_on_context_create", context: root, [root, 0], traceArgs: ["parent": "0", "root_id": configuration.rootID])
        frame.configurationReadableRoot = nil
        let started = invoke(
            "proxy_on_vm_start", context: root, [root, UInt32(configuration.vmConfiguration.count)],
            traceArgs: ["vm_configuration_size": String(configuration.vmConfiguration.count)],
            describe: { $0.map { $0 != 0 ? "true" : "false" } })
        if let failure { throw PluginStartError(message: "Failed to start base Wasm: \(failure.message)") }
        if started == 0 {
            fail(.startFailed, callback: "proxy_on_vm_start", message: "returned false")
            throw PluginStartError(message: "Failed to start base Wasm (proxy_on_vm_start returned false)")
        }
        frame.configurationReadableRoot = root
        let configured = invoke(
            "proxy_on_configure", context: root, [root, UInt32(configuration.configuration.count)],
            traceArgs: ["configuration": PluginVM.display(configuration.configuration)],
            describe: { $0.map { $0 != 0 ? "true" : "false" } })
        frame.configurationReadableRoot = nil
        if let failure { throw PluginStartError(message: "Failed to configure base Wasm plugin: \(failure.message)") }
        if configured == 0 {
            throw PluginStartError(message: "Failed to configure base Wasm plugin (proxy_on_configure returned false)")
        }
        runDeferredActions()
        return root
    }

    /// Shuts a root down: `proxy_on_done(R)`; true -> `proxy_on_delete(R)`,
    /// false -> parked until the plugin calls `proxy_done()`.
    public func shutdown(root: UInt32) {
        let done = invoke("proxy_on_done", context: root, [root], describe: { $0.map { $0 != 0 ? "true" : "false" } })
        if done == 0 {
            registry.park(root)
        } else {
            deleteContext(root)
        }
        runDeferredActions()
    }

    /// Whether a root context is parked waiting for `proxy_done()`.
    public func isPendingDone(root: UInt32) -> Bool { registry.isParked(root) }

    func deleteContext(_ id: UInt32) {
        invoke("proxy_on_delete", context: id, [id])
        registry.remove(id)
        ticks.remove(root: id)
    }

    /// Work Envoy defers until the current VM call returns.
    func runDeferredActions() {
        while let root = deferred.nextDelete() {
            deleteContext(root)
        }
        while let (root, token) = deferred.nextQueueNotification() {
            invoke("proxy_on_queue_ready", context: root, [root, token], traceArgs: ["token": String(token)])
        }
        proxy.deliverDueCallouts()
    }

    func createStreamContext(root: UInt32, kind: ContextState.Kind, stream: StreamState) -> ContextState {
        let context = registry.addStream(root: root, kind: kind, stream: stream)
        invoke("proxy_on_context_create", context: context.id, [context.id, root], traceArgs: ["parent": String(root)])
        return context
    }

    /// Whether `root` is a live, configured root context.
    func isLiveRoot(_ root: UInt32) -> Bool { registry[root]?.kind == .root }

    // MARK: return-value conversion (`CallbackResults`); a local reply's override lasts one callback

    func convertHeadersResult(_ raw: UInt32?) -> FilterHeadersStatus {
        defer { frame.sentLocalReply = false }
        return CallbackResults.headers(raw, sentLocalReply: frame.sentLocalReply)
    }

    func convertDataResult(_ raw: UInt32?) -> FilterDataStatus {
        defer { frame.sentLocalReply = false }
        return CallbackResults.data(raw, sentLocalReply: frame.sentLocalReply)
    }

    func convertTrailersResult(_ raw: UInt32?) -> FilterTrailersStatus {
        defer { frame.sentLocalReply = false }
        return CallbackResults.trailers(raw, sentLocalReply: frame.sentLocalReply)
    }
}
