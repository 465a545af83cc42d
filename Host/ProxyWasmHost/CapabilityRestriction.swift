import ProxyWasmABI

// Envoy's capability restriction (`VmConfig.capability_restriction_config`,
// proxy-wasm-cpp-host `capabilityAllowed`). With a non-empty allow-list a
// module still links whatever it imports, but every host function not on the
// list is bound to a stub, and callbacks not on the list are never called, so
// a plugin meets the restriction at run time, as it would in Envoy.

extension PluginVM {
    /// Imports Envoy always binds, whatever the allow-list says.
    static let unrestrictedImports: Set<String> = ["pthread_equal", "emscripten_notify_memory_growth"]

    /// Whether `name` (`proxy_*`, a bare WASI name, or `proxy_on_*`) is allowed.
    public func capabilityAllowed(_ name: String) -> Bool {
        allowedCapabilities.isEmpty || allowedCapabilities.contains(name)
    }

    /// Whether the callback export `name` may be called: Envoy does not even
    /// look up a `proxy_on_*` export that is not allowed. The allocator
    /// (`proxy_on_memory_allocate`) and the start functions are not capabilities.
    func callbackAllowed(_ name: String) -> Bool {
        guard name.hasPrefix("proxy_on_"), name != "proxy_on_memory_allocate" else { return true }
        return capabilityAllowed(name)
    }

    /// What a host call meets under the allow-list.
    enum CapabilityGate {
        case proceed
        /// The stub's answer: InternalFailure for `proxy_*`, WASI's ENOTCAPABLE
        /// (76) for WASI, nothing for `proc_exit`.
        case stub(UInt32?)
    }

    /// Stubs log at error level, as Envoy's do, and are traced.
    func capabilityGate(module: String, name: String) -> CapabilityGate {
        if module == "env" && PluginVM.unrestrictedImports.contains(name) { return .proceed }
        guard !capabilityAllowed(name) else { return .proceed }
        let isWASI = module != "env"
        let message = "Attempted call to restricted \(isWASI ? "WASI" : "proxy-wasm") capability: \(name)"
        proxy.appendLog(LogLine(level: .error, vmID: vmID, rootID: "", message: message))
        recordEvent(
            context: activeContext?.id ?? frame.currentContextID, name: "restricted_capability",
            args: ["function": isWASI ? "\(module).\(name)" : name])
        answers.record(status: "refused", call: isWASI ? "\(module).\(name)" : name)
        if !isWASI { return .stub(WasmResult.internalFailure.rawValue) }
        return .stub(name == "proc_exit" ? nil : 76)
    }
}
