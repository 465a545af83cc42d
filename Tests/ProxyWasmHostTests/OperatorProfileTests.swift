import Foundation
import ProxyWasmHost
import ProxyWasmTestSupport
import ProxyWasmTools
import ProxyWasmWasmKit
import Testing
import WAT

/// `proxy-wasm-host run --profile`: wasm operators by guest function.
@Suite("Operator profile")
struct OperatorProfileTests {
    /// `$handler` runs a loop of its own and calls `$inner` three times.
    static let module = WATModule.module(
        """
        (func $inner (param $n i32) (result i32)
          (local $i i32)
          (loop $again
            (local.set $i (i32.add (local.get $i) (i32.const 1)))
            (br_if $again (i32.lt_u (local.get $i) (local.get $n))))
          (local.get $i))
        (func $handler (export "proxy_on_request_headers") (param i32 i32 i32) (result i32)
          (local $i i32)
          (loop $own
            (local.set $i (i32.add (local.get $i) (i32.const 1)))
            (br_if $own (i32.lt_u (local.get $i) (i32.const 50))))
          (drop (call $inner (i32.const 100)))
          (drop (call $inner (i32.const 100)))
          (drop (call $inner (i32.const 100)))
          (i32.const 0))
        (func (export "proxy_on_context_create") (param i32 i32))
        (func (export "proxy_on_vm_start") (param i32 i32) (result i32) (i32.const 1))
        (func (export "proxy_on_configure") (param i32 i32) (result i32) (i32.const 1))
        """)

    @Test func ownAndInclusiveOperatorsSplitByFunctionAndSumToTheCallbackCost() throws {
        let bytes = try wat2wasm(Self.module, options: EncodeOptions(nameSection: true))
        let vm = PluginVM(proxy: Proxy(name: "p"), vmID: "vm", trace: TraceRecorder())
        let guest = try WasmKitGuest.load(bytes, into: vm, limits: GuestLimits(profilesFunctions: true))
        let profile = try #require(guest.profile)
        profile.reset()
        let before = guest.fuelConsumed
        _ = try guest.call("proxy_on_request_headers", [1, 0, 0])
        let spent = guest.fuelConsumed - before
        let functions = profile.functions
        let inner = try #require(functions.first { $0.name == "inner" })
        let handler = try #require(functions.first { $0.name == "handler" })
        #expect(inner.calls == 3 && handler.calls == 1)
        // The callee's loop runs twice as often as the caller's own: it costs more, and is listed first.
        #expect(inner.selfOperators > handler.selfOperators)
        #expect(functions.first?.name == "inner")
        #expect(handler.inclusiveOperators == handler.selfOperators + inner.inclusiveOperators)
        #expect(functions.reduce(0) { $0 + $1.selfOperators } == spent, "every operator is charged to exactly one function")
    }

    @Test func aGuestWithoutProfilingHasNoProfile() throws {
        let vm = PluginVM(proxy: Proxy(name: "p"), vmID: "vm", trace: TraceRecorder())
        let guest = try WasmKitGuest.load(try wat2wasm(Self.module), into: vm)
        #expect(guest.profile == nil)
    }

    @Test func theScenarioProfileCoversEveryOperatorOfTheTraffic() throws {
        let runner = try ScenarioRunner(scenario: try meshScenario(), limits: GuestLimits(profilesFunctions: true))
        let startup = CostReport.snapshot(runner)
        CostReport.resetProfiles(runner)
        runner.run()
        let report = CostReport(runner: runner, startup: startup)
        for plugin in report.plugins {
            let guest = try #require(
                runner.proxies.first { $0.spec.name == plugin.proxy }?.plugins.first { $0.spec.name == plugin.plugin }?.guest as? WasmKitGuest)
            let profiled = try #require(guest.profile).functions.reduce(0) { $0 + $1.selfOperators }
            #expect(profiled == plugin.trafficOperators, "\(plugin.proxy)/\(plugin.plugin)")
        }
        let text = CostReport.profileText(runner, top: 3)
        #expect(text.contains("[productpage-sidecar] stats:"))
        #expect(text.components(separatedBy: " own, ").count - 1 == 3 * report.plugins.count)
    }
}
