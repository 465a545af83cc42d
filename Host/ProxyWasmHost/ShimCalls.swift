// The `env` functions that are not proxy-wasm calls: Envoy's DNS extension,
// which this host leaves unimplemented, and the two emscripten shims
// proxy-wasm-cpp-host registers for every module.

extension PluginVM {
    /// `envoy_resolve_dns`: answered `InternalFailure` and counted as unimplemented.
    func envoyResolveDns(_ address: UInt32, _ addressSize: UInt32, _ tokenSlot: UInt32) throws -> UInt32 {
        unimplemented("envoy_resolve_dns", .internalFailure)
    }

    /// `pthread_equal`: thread handles are plain integers.
    func pthreadEqual(_ first: UInt32, _ second: UInt32) throws -> UInt32 { first == second ? 1 : 0 }

    /// `emscripten_notify_memory_growth`: nothing to do, guest memory is read afresh on every call.
    func emscriptenNotifyMemoryGrowth(_ memoryIndex: UInt32) throws {}
}
