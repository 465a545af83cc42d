import Foundation
import ProxyWasmTestFixtures
import ProxyWasmTools

/// `Tests/Fixtures/scenarios/mesh.yaml` with every plugin's module taken from
/// the built modules (`module` maps each module's file name, e.g. to telemetry.wasm).
public func meshScenario(module: (String) -> String = { $0 }) throws -> Scenario {
    let fixture = FixtureFiles.url("scenarios/mesh.yaml")
    var scenario = try Scenario.load(path: fixture.path)
    for p in scenario.proxies.indices {
        for q in scenario.proxies[p].plugins.indices {
            let name = module(scenario.proxies[p].plugins[q].module.lastPathComponent)
            scenario.proxies[p].plugins[q].module = BuiltModules.directory.appendingPathComponent(name)
        }
    }
    return scenario
}

/// What a Prometheus text says of `istio_requests_total`: the families whose
/// name mentions requests_total, and the sum of its series.
public func requestsTotalFamilies(_ text: String) -> (families: Set<Substring>, total: UInt64) {
    let lines = text.split(separator: "\n")
    let families = Set(lines.filter { $0.hasPrefix("# TYPE ") }.map { $0.split(separator: " ")[2] }.filter { $0.contains("requests_total") })
    let total = lines.filter { $0.hasPrefix("istio_requests_total{") }.compactMap { UInt64($0.split(separator: " ").last!) }.reduce(0, +)
    return (families, total)
}
