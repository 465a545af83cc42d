import MetadataExchange
import ProxyWasmHost
import ProxyWasmNullVM
import ProxyWasmTools
import Stats

/// What runs a plugin in a test: its `.wasm` build under WasmKit, or the same
/// Swift compiled natively in the null VM. Tests taking `Engine.allCases` run
/// one body on both.
public enum Engine: String, CaseIterable, Sendable {
    case wasm, native

    /// The native registration of the telemetry plugins, by module file name.
    public static let telemetryPlugins: [String: @Sendable () -> Void] = [
        "metadata_exchange.wasm": MetadataExchangePlugin.register,
        "stats.wasm": StatsPlugin.register,
    ]

    /// The scenario loader for this engine (nil: the runner's WasmKit default);
    /// natively, `registrations` names the plugin each module file stands for.
    public func loader(registrations: [String: @Sendable () -> Void] = Engine.telemetryPlugins) -> ScenarioRunner.GuestLoader? {
        guard self == .native else { return nil }
        return { spec, vm in
            guard let register = registrations[spec.module.lastPathComponent] else {
                throw ScenarioRunner.RunError(message: "no native build of \(spec.module.lastPathComponent)")
            }
            return try NullVMGuest.load(into: vm, register: register)
        }
    }

    /// `loader(registrations:)` for the telemetry plugins.
    public var loader: ScenarioRunner.GuestLoader? { loader() }
}
