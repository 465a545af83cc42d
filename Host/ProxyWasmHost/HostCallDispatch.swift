import ProxyWasmABI

/// The implementation of a host function: returns its i32 result, or nil
/// for functions without results.
public typealias HostCallHandler = @Sendable (PluginVM, HostCallArguments) throws -> UInt32?

extension PluginVM {
    /// The handler for an import, or nil if the host does not provide it
    /// (the module then fails to load, as in Envoy).
    public static func handler(module: String, name: String) -> HostCallHandler? {
        if module == "env" { return envHandlers[name] }
        if wasiModuleNames.contains(module) { return WASI.handlers[name] }
        return nil
    }

    /// Runs a host call with Envoy's restrictions; every call is traced.
    public func dispatchHostCall(module: String, name: String, _ arguments: HostCallArguments) throws -> UInt32? {
        try dispatchHostCall(module: module, name: name, handler: PluginVM.handler(module: module, name: name), arguments)
    }

    /// `dispatchHostCall` with the handler resolved once, when the import was linked (an engine
    /// binding calls this on every host call, so the name is not looked up each time).
    public func dispatchHostCall(
        module: String, name: String, handler: HostCallHandler?,
        _ arguments: HostCallArguments
    ) throws -> UInt32? {
        switch frame.restriction {
        case .none: break
        case .startup:
            if !(module == "env" && (name == "proxy_log" || name == "emscripten_notify_memory_growth"))
                && !wasiModuleNames.contains(module)
            {
                throw RestrictedCallback(name: name)
            }
        case .allocator:
            let allowed: Set<String> = ["proxy_log", "fd_write", "clock_time_get", "poll_oneoff"]
            if !allowed.contains(name) { throw RestrictedCallback(name: name) }
        }
        guard let handler else { throw RestrictedCallback(name: name) }
        if !allowedCapabilities.isEmpty, case .stub(let answer) = capabilityGate(module: module, name: name) {
            return answer
        }
        return try handler(self, arguments)
    }
}
