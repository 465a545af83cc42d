import Foundation
import ProxyWasmABI
import ProxyWasmTestSupport
import ProxyWasmTools
import ProxyWasmWasmKit
import Testing

@testable import ProxyWasmHost

/// The end-of-run summary of calls answered NotFound, Unimplemented or refused.
@Suite("Host answer summary")
struct HostAnswerTallyTests {
    @Test func theMeshNamesTheAttributesItsScenarioLeavesUnset() throws {
        let runner = try ScenarioRunner(scenario: try meshScenario())
        runner.run()
        let stats = try #require(runner.proxies[0].plugins.first { $0.spec.name == "stats" })
        let summary = stats.vm.answers.summary
        // mesh.yaml sends 4 requests over plaintext: no peer certificate, and its routes have no name.
        #expect(summary.hasPrefix("NotFound "), "\(summary)")
        #expect(summary.contains("proxy_get_property upstream.uri_san_peer_certificate x4"), "\(summary)")
        #expect(summary.contains("proxy_get_property xds.route_name x4"), "\(summary)")
        // What Envoy always has is answered (logTimeAttributesHaveEnvoysDefaults).
        #expect(!summary.contains("response.flags") && !summary.contains("request.duration"), "\(summary)")
        #expect(stats.vm.answers.counts.values.reduce(0, +) == Int(summary.split(separator: " ")[1]))
    }

    @Test func entriesAreBoundedAndOrderedByCount() {
        var tally = HostAnswerTally()
        for index in 0..<(HostAnswerTally.limit + 10) { tally.record(status: "NotFound", call: "proxy_get_property p\(index)") }
        tally.record(status: "NotFound", call: "proxy_get_property p7")
        tally.record(status: "Unimplemented", call: "proxy_x")
        #expect(tally.counts.count == HostAnswerTally.limit)
        #expect(tally.othersCount == 11)
        #expect(tally.summary.hasPrefix("NotFound \(HostAnswerTally.limit + 1) (proxy_get_property p7 x2, proxy_get_property p0 x1,"))
        #expect(tally.summary.hasSuffix("; 11 more of other calls"))
    }

    @Test func aForeignFunctionThisHostLacksIsNamed() throws {
        let module = try wasm(
            WATModule.module(
                """
                (data (i32.const 0x100) "set_envoy_filter_state")
                (func (export "proxy_on_vm_start") (param i32 i32) (result i32) (i32.const 1))
                (func (export "proxy_on_configure") (param i32 i32) (result i32)
                  (drop (call $ff (i32.const 0x100) (i32.const 22) (i32.const 0) (i32.const 0) (i32.const 0x200) (i32.const 0x204)))
                  (i32.const 1))
                (func (export "proxy_on_context_create") (param i32 i32))
                """, imports: #"(import "env" "proxy_call_foreign_function" (func $ff (param i32 i32 i32 i32 i32 i32) (result i32)))"#))
        let proxy = Proxy(name: "p")
        let vm = PluginVM(proxy: proxy, vmID: "v")
        _ = try WasmKitGuest.load(module, into: vm)
        _ = try vm.startPlugin(PluginConfiguration(name: "p"))
        #expect(vm.answers.summary == "NotFound 1 (proxy_call_foreign_function set_envoy_filter_state x1)")
    }

    /// Attributes Envoy always has at log time are there unless the scenario sets them.
    @Test func logTimeAttributesHaveEnvoysDefaults() throws {
        let sidecar = try StatsSidecar()
        let stream = HttpStream(vm: sidecar.vm, root: sidecar.root)
        stream.sendRequestHeaders([HeaderPair(":path", "/"), HeaderPair(":authority", "reviews")])
        sidecar.proxy.advanceClock(byMilliseconds: 7)
        stream.sendResponseHeaders([HeaderPair(":status", "200")])
        stream.complete()
        let tree = try #require(stream.context?.streamProperties)
        #expect(tree.child("request")?.child("duration") == .duration(7_000_000))
        #expect(tree.child("response")?.child("flags") == .int(0))
        #expect(tree.child("response")?.child("code_details") == .string("via_upstream"))

        let flagged = HttpStream(
            vm: sidecar.vm, root: sidecar.root,
            properties: [
                PropertyEntry("response", .map([PropertyEntry("flags", .int(0x20)), PropertyEntry("code_details", .string("upstream_reset"))])),
                PropertyEntry("request", .map([PropertyEntry("duration", .duration(42))])),
            ])
        flagged.sendRequestHeaders([HeaderPair(":path", "/")])
        flagged.sendResponseHeaders([HeaderPair(":status", "503")])
        flagged.complete()
        let set = try #require(flagged.context?.streamProperties)
        #expect(set.child("response")?.child("flags") == .int(0x20))
        #expect(set.child("response")?.child("code_details") == .string("upstream_reset"))
        #expect(set.child("request")?.child("duration") == .duration(42))
    }
}
