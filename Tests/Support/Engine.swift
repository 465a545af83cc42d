import MetadataExchange
import ProxyWasm
import ProxyWasmHost
import ProxyWasmNullVM
import ProxyWasmTools
import Stats

/// What runs a plugin in a test: its `.wasm` build under WasmKit, or the same
/// Swift compiled natively in the null VM. Tests taking `Engine.allCases` run
/// one body on both.
public enum Engine: String, CaseIterable, Sendable {
    case wasm, native

    /// A plugin compiled natively: its registration and what its module exports.
    public struct NativePlugin: Sendable {
        public let register: @Sendable () -> Void
        public let exports: Set<String>

        public init(register: @escaping @Sendable () -> Void, callbacks: Set<String>? = nil) {
            self.register = register
            exports = callbacks.map(ModuleExports.exporting) ?? ModuleExports.all
        }
    }

    /// The native builds of the telemetry plugins, by module file name.
    public static let telemetryPlugins: [String: NativePlugin] = [
        "metadata_exchange.wasm": NativePlugin(register: MetadataExchangePlugin.register, callbacks: MetadataExchangePlugin.callbacks),
        "stats.wasm": NativePlugin(register: StatsPlugin.register, callbacks: StatsPlugin.callbacks),
    ]

    /// The scenario loader for this engine (nil: the runner's WasmKit default);
    /// natively, `registrations` names the plugin each module file stands for.
    public func loader(registrations: [String: NativePlugin] = Engine.telemetryPlugins) -> ScenarioRunner.GuestLoader? {
        guard self == .native else { return nil }
        return { spec, vm in
            guard let plugin = registrations[spec.module.lastPathComponent] else {
                throw ScenarioRunner.RunError(message: "no native build of \(spec.module.lastPathComponent)")
            }
            return try NullVMGuest.load(into: vm, exports: plugin.exports, register: plugin.register)
        }
    }

    /// `loader(registrations:)` for the telemetry plugins.
    public var loader: ScenarioRunner.GuestLoader? { loader() }
}
