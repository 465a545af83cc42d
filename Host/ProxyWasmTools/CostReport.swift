import ProxyWasmHost
import ProxyWasmWasmKit

/// Wasm operators (WasmKit fuel) each plugin of a scenario ran, by callback,
/// for startup and for the traffic, and per request or connection through its
/// proxy: `proxy-wasm-host run --cost`. Works for any module, ours or not.
public struct CostReport {
    /// One plugin's costs: by export, since the traffic started; and at startup.
    public struct PluginCost {
        public let proxy: String
        public let plugin: String
        public let startup: UInt64
        public let traffic: [(export: String, cost: CallbackCost)]
        /// HTTP requests plus TCP connections that went through the plugin's proxy.
        public let exchanges: Int

        public var trafficOperators: UInt64 { traffic.reduce(0) { $0 + $1.cost.operators } }
        /// Operators per request or connection, nil without traffic.
        public var perExchange: UInt64? { exchanges == 0 ? nil : trafficOperators / UInt64(exchanges) }
    }

    public let plugins: [PluginCost]

    /// What every plugin's guest has counted so far, by proxy and plugin name.
    public typealias Snapshot = [String: [String: CallbackCost]]

    public static func snapshot(_ runner: ScenarioRunner) -> Snapshot {
        var snapshot: Snapshot = [:]
        for running in runner.proxies {
            for plugin in running.plugins {
                if let guest = plugin.guest as? WasmKitGuest { snapshot[key(running, plugin)] = guest.costs }
            }
        }
        return snapshot
    }

    static func key(_ proxy: ScenarioRunner.RunningProxy, _ plugin: ScenarioRunner.RunningPlugin) -> String {
        "\(proxy.spec.name)/\(plugin.spec.name)"
    }

    /// Costs between `startup` (taken after the plugins started) and now.
    public init(runner: ScenarioRunner, startup: Snapshot) {
        var plugins: [PluginCost] = []
        for running in runner.proxies {
            var exchanges = 0
            for traffic in runner.scenario.traffic {
                switch traffic {
                case let .http(exchange) where exchange.through.contains(running.spec.name): exchanges += exchange.repeatCount
                case let .tcp(exchange) where exchange.through.contains(running.spec.name): exchanges += exchange.repeatCount
                default: break
                }
            }
            for plugin in running.plugins {
                guard let guest = plugin.guest as? WasmKitGuest else { continue }
                let before = startup[Self.key(running, plugin)] ?? [:]
                let traffic = guest.costs.keys.sorted().compactMap { export -> (export: String, cost: CallbackCost)? in
                    let cost = guest.costs[export]!.since(before[export])
                    return cost.calls == 0 ? nil : (export, cost)
                }
                plugins.append(
                    PluginCost(
                        proxy: running.spec.name, plugin: plugin.spec.name,
                        startup: before.values.reduce(0) { $0 + $1.operators },
                        traffic: traffic, exchanges: exchanges))
            }
        }
        self.plugins = plugins
    }

    /// The report as printed by `run --cost`.
    public var text: String {
        var lines = ["# cost: wasm operators (WasmKit fuel) by plugin and callback"]
        for plugin in plugins {
            let name = "[\(plugin.proxy)] \(plugin.plugin)"
            lines.append("\(name): startup \(plugin.startup) operators")
            for (export, cost) in plugin.traffic {
                lines.append("\(name): \(export) \(cost.calls) calls, \(cost.operators) operators, \(cost.operators / max(cost.calls, 1)) per call")
            }
            if let per = plugin.perExchange {
                lines.append("\(name): \(per) operators per request or connection (\(plugin.exchanges) through this proxy)")
            }
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// Starts every plugin's function profile afresh (after startup).
    public static func resetProfiles(_ runner: ScenarioRunner) {
        for running in runner.proxies {
            for plugin in running.plugins { (plugin.guest as? WasmKitGuest)?.profile?.reset() }
        }
    }

    /// Each profiled plugin's `top` costliest functions by own operators, as printed by `run --profile`.
    public static func profileText(_ runner: ScenarioRunner, top: Int) -> String {
        var lines = ["# profile: wasm operators by guest function during the traffic (own, inclusive, calls)"]
        for running in runner.proxies {
            for plugin in running.plugins {
                guard let profile = (plugin.guest as? WasmKitGuest)?.profile else { continue }
                let functions = profile.functions
                let total = functions.reduce(0) { $0 + $1.selfOperators }
                lines.append("[\(running.spec.name)] \(plugin.spec.name): \(total) operators in \(functions.count) functions")
                for entry in functions.prefix(max(0, top)) {
                    lines.append("  \(entry.selfOperators) own, \(entry.inclusiveOperators) inclusive, \(entry.calls) calls: \(entry.name)")
                }
            }
        }
        return lines.joined(separator: "\n") + "\n"
    }
}
