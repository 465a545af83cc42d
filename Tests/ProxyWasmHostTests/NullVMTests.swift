import Foundation
import HeaderStamp
import MetadataExchange
import ProxyWasm
import ProxyWasmABI
import ProxyWasmHost
import ProxyWasmNullVM
import ProxyWasmTestSupport
import ProxyWasmTools
import ProxyWasmWasmKit
import Stats
import Testing

extension Engine: CustomTestStringConvertible {
    public var testDescription: String { rawValue }

    /// The telemetry plugins and the header_stamp example, natively.
    static let projectPlugins = Engine.telemetryPlugins.merging(["header_stamp.wasm": NativePlugin(register: HeaderStampPlugin.register)]) { $1 }
}

/// The null VM against the wasm builds: same exports, same traces, same metrics.
@Suite("Null VM")
struct NullVMTests {
    /// The ABI crossings both builds must share: callbacks and proxy_* host
    /// calls (the wasm build also starts with `_initialize` and makes WASI calls
    /// for its runtime, which a native build has no use for).
    static func proxyCrossings(_ trace: TraceRecorder) -> [TraceEvent] {
        trace.events.filter { $0.name.hasPrefix("proxy_") || $0.kind == .event }
    }

    static func compare(_ wasm: ScenarioRunner, _ native: ScenarioRunner) {
        #expect(proxyCrossings(wasm.trace).contains { $0.kind == .hostcall })
        let differences = TraceFormat.diff(proxyCrossings(wasm.trace), proxyCrossings(native.trace))
        #expect(differences.isEmpty, "first differences: \(differences.prefix(6).joined(separator: "\n"))")
        #expect(proxyCrossings(wasm.trace).count == proxyCrossings(native.trace).count)
        for (a, b) in zip(wasm.prometheus(), native.prometheus()) {
            #expect(a.proxy == b.proxy)
            #expect(a.text == b.text, "Prometheus text of \(a.proxy)")
        }
        #expect(wasm.httpOutcomes.map(\.status) == native.httpOutcomes.map(\.status))
        #expect(wasm.httpOutcomes.map(\.upstreamRequestHeaders) == native.httpOutcomes.map(\.upstreamRequestHeaders))
        #expect(wasm.httpOutcomes.map(\.responseHeaders) == native.httpOutcomes.map(\.responseHeaders))
        #expect(wasm.tcpOutcomes.map(\.receivedByUpstream) == native.tcpOutcomes.map(\.receivedByUpstream))
    }

    /// Each module exports what its plugins name (`ModuleExports`), so the
    /// null VM offers a host the same callbacks: telemetry.wasm both plugins'.
    @Test func nativeModulesExportWhatTheWasmBuildsExport() throws {
        let expected: [String: Set<String>] = [
            "header_stamp": ModuleExports.all,
            "metadata_exchange": Engine.telemetryPlugins["metadata_exchange.wasm"]!.exports,
            "stats": Engine.telemetryPlugins["stats.wasm"]!.exports,
            "telemetry": ModuleExports.exporting(MetadataExchangePlugin.callbacks.union(StatsPlugin.callbacks)),
        ]
        for (name, exports) in expected {
            let report = ModuleValidator.inspect(try BuiltModules.bytes(name)).0
            let wasmExports = Set(report.exports.map(\.name).filter { $0.hasPrefix("proxy_") && $0 != "proxy_on_memory_allocate" })
            #expect(wasmExports == exports, "\(name)")
        }
    }

    @Test func theHttpMeshGivesIdenticalTracesAndMetrics() throws {
        let run = { (engine: Engine) in
            try GoldenMesh.http(
                requests: 5, clientConfig: IstioTestdata.clientConfiguration,
                serverConfig: IstioTestdata.serverConfiguration, engine: engine)
        }
        Self.compare(try run(.wasm), try run(.native))
    }

    @Test func theTcpMeshGivesIdenticalTracesAndMetrics() throws {
        Self.compare(try GoldenMesh.tcp(engine: .wasm), try GoldenMesh.tcp(engine: .native))
    }

    @Test func theExampleScenarioGivesIdenticalTracesAndMetrics() throws {
        let file = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fixtures/scenarios/header_stamp_mesh.yaml")
        var scenario = try Scenario.load(path: file.path)
        for p in scenario.proxies.indices {
            for q in scenario.proxies[p].plugins.indices {
                let module = scenario.proxies[p].plugins[q].module.lastPathComponent
                scenario.proxies[p].plugins[q].module = BuiltModules.directory.appendingPathComponent(module)
            }
        }
        let runs = try Engine.allCases.map { engine in
            let runner = try ScenarioRunner(scenario: scenario, loader: engine.loader(registrations: Engine.projectPlugins))
            runner.run()
            return runner
        }
        #expect(runs[1].httpOutcomes.contains { $0.status == 403 })  // /admin refused by the server side
        Self.compare(runs[0], runs[1])
    }

    /// Two native instances of one plugin keep separate contexts and state,
    /// as two wasm VMs do.
    @Test func nativeInstancesAreIsolated() throws {
        let proxy = Proxy(name: "p")
        let first = PluginVM(proxy: proxy, vmID: "a", trace: TraceRecorder())
        let second = PluginVM(proxy: proxy, vmID: "b", trace: TraceRecorder())
        let a = try NullVMGuest.load(into: first, register: HeaderStampPlugin.register)
        let b = try NullVMGuest.load(into: second, register: HeaderStampPlugin.register)
        let rootA = try first.startPlugin(PluginConfiguration(name: "a", configuration: Array(#"{"value": "A"}"#.utf8)))
        _ = try second.startPlugin(PluginConfiguration(name: "b", configuration: Array(#"{"value": "B"}"#.utf8)))
        let stream = HttpStream(vm: first, root: rootA)
        stream.sendRequestHeaders([HeaderPair(":path", "/")])
        stream.sendResponseHeaders([HeaderPair(":status", "200")])
        let stamp = stream.context?.headerMaps[.httpResponseHeaders]?.first { $0.key == Array("x-swift-stamp".utf8) }
        #expect(stamp.map { String(decoding: $0.value, as: UTF8.self) }?.hasPrefix("A;") == true)
        stream.complete()
        #expect(a.module.liveContextCounts.roots == 1 && a.module.liveContextCounts.http == 0)
        #expect(b.module.liveContextCounts.roots == 1)
    }

    /// The bridge hands large values across (1 MiB header) and null pointers
    /// land on guest address 0 as they would in wasm.
    @Test func largeValuesCrossTheBridge() throws {
        let proxy = Proxy(name: "p")
        let vm = PluginVM(proxy: proxy, vmID: "vm", trace: TraceRecorder())
        let guest = try NullVMGuest.load(into: vm, register: HeaderStampPlugin.register)
        let root = try vm.startPlugin(PluginConfiguration(name: "stamp", configuration: Array(#"{"deny_path_prefix": "/x"}"#.utf8)))
        let huge = String(repeating: "x", count: 1 << 20)
        let stream = HttpStream(vm: vm, root: root)
        stream.sendRequestHeaders([HeaderPair(":path", "/" + huge)])  // the plugin reads :path, then refuses it
        #expect(vm.failure == nil)
        #expect(stream.context?.localResponse?.statusCode == 403)
        #expect(guest.memory.byteCount > 1 << 20)
    }
}
