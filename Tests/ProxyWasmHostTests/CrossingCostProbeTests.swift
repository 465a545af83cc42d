import Foundation
import ProxyWasmABI
import ProxyWasmHost
import ProxyWasmTestSupport
import ProxyWasmWasmKit
import Testing

/// Tests/Fixtures/wat/crossing_cost.wat, which `BENCH_CROSSINGS=1 make bench-envoy` uses to price
/// each host call in Envoy: each configuration must make exactly its calls, with the answer the
/// price is quoted for, and nothing else on request headers.
@Suite("crossing_cost.wat")
struct CrossingCostProbeTests {
    static let source = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/wat/crossing_cost.wat")

    /// The host calls one request's headers made with `configuration`, as (name, status).
    func requestHeaderCalls(_ configuration: String) throws -> [(String, String?)] {
        let vm = PluginVM(proxy: Proxy(name: "p"), vmID: "vm", trace: TraceRecorder())
        _ = try WasmKitGuest.load(try wasm(try String(contentsOf: Self.source, encoding: .utf8)), into: vm)
        let root = try vm.startPlugin(PluginConfiguration(name: "crossing_cost", configuration: Array(configuration.utf8)))
        let stream = HttpStream(vm: vm, root: root)
        let before = vm.trace.events.count
        stream.sendRequestHeaders([
            HeaderPair(":method", "GET"), HeaderPair(":path", "/bench"), HeaderPair(":authority", "a"), HeaderPair(":scheme", "http"),
            HeaderPair("x-request-id", "4aeb3f3d-7205-4ac3-a0d8-c260234ac329"),
        ])
        #expect(vm.failure == nil)
        return vm.trace.events[before...].filter { $0.kind == .hostcall }.map { ($0.name, $0.status) }
    }

    @Test(arguments: [
        ("p", "proxy_get_property", "Ok"), ("u", "proxy_get_property", "NotFound"),
        ("h", "proxy_get_header_map_value", "Ok"), ("c", "proxy_increment_metric", "Ok"),
        ("r", "proxy_record_metric", "Ok"), ("e", "proxy_call_foreign_function", "Ok"),
    ])
    func eachKindMakesItsCallTheConfiguredNumberOfTimes(_ kind: String, _ call: String, _ status: String) throws {
        let calls = try requestHeaderCalls("\(kind)12")
        #expect(calls.count == 12)
        #expect(calls.allSatisfy { $0.0 == call && $0.1 == status }, "\(calls)")
    }

    @Test func theBaselineMakesNone() throws {
        #expect(try requestHeaderCalls("n20").isEmpty)
    }
}
