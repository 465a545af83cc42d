import Foundation
import ProxyWasmABI
import ProxyWasmHost
import ProxyWasmTestSupport
import ProxyWasmTools
import ProxyWasmWasmKit
import Testing

/// Envoy's capability allow-list: restricted imports still link but answer
/// from stubs, restricted callbacks are never called.
@Suite("Capability restriction")
struct CapabilityRestrictionTests {
    /// On request headers: proxy_log -> 0x40, proxy_set_tick_period_milliseconds
    /// -> 0x44, fd_write -> 0x48, then proc_exit; on response headers writes 1 at 0x50.
    static let module = WATModule.module(
        """
        (data (i32.const 0x100) "hello")
        (data (i32.const 0x200) "\\00\\01\\00\\00\\05\\00\\00\\00")
        (func (export "proxy_on_vm_start") (param i32 i32) (result i32) (i32.const 1))
        (func (export "proxy_on_configure") (param i32 i32) (result i32) (i32.const 1))
        (func (export "proxy_on_context_create") (param i32 i32))
        (func (export "proxy_on_request_headers") (param i32 i32 i32) (result i32)
          (i32.store (i32.const 0x40) (call $log (i32.const 2) (i32.const 0x100) (i32.const 5)))
          (i32.store (i32.const 0x44) (call $tick (i32.const 1000)))
          (i32.store (i32.const 0x48) (call $fd_write (i32.const 1) (i32.const 0x200) (i32.const 1) (i32.const 0x300)))
          (call $proc_exit (i32.const 3))
          (i32.const 0))
        (func (export "proxy_on_response_headers") (param i32 i32 i32) (result i32)
          (i32.store (i32.const 0x50) (i32.const 1))
          (i32.const 0))
        """,
        imports: """
            (import "env" "proxy_log" (func $log (param i32 i32 i32) (result i32)))
            (import "env" "proxy_set_tick_period_milliseconds" (func $tick (param i32) (result i32)))
            (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
            (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
            """)

    func run(allowing allowed: Set<String>) throws -> (PluginVM, WasmKitGuest) {
        let vm = PluginVM(proxy: Proxy(name: "p"), vmID: "vm", trace: TraceRecorder())
        vm.allowedCapabilities = allowed
        let guest = try WasmKitGuest.load(try wasm(Self.module), into: vm)
        let root = try vm.startPlugin(PluginConfiguration(name: "p"))
        let stream = HttpStream(vm: vm, root: root)
        stream.sendRequestHeaders([HeaderPair(":path", "/")])
        stream.sendResponseHeaders([HeaderPair(":status", "200")])
        stream.complete()
        #expect(vm.failure == nil)
        return (vm, guest)
    }

    @Test func withoutAnAllowListEverythingIsLive() throws {
        let (vm, guest) = try run(allowing: [])
        #expect(guest.memory.readUInt32(0x40) == 0 && guest.memory.readUInt32(0x44) == 0 && guest.memory.readUInt32(0x48) == 0)
        #expect(guest.memory.readUInt32(0x50) == 1)
        #expect(!vm.proxy.logs.contains { $0.message.contains("restricted") })
    }

    @Test func restrictedFunctionsAnswerFromStubsAndRestrictedCallbacksAreNeverCalled() throws {
        let (vm, guest) = try run(allowing: [
            "proxy_on_vm_start", "proxy_on_configure", "proxy_on_context_create",
            "proxy_on_request_headers", "proxy_log",
        ])
        #expect(guest.memory.readUInt32(0x40) == WasmResult.ok.rawValue)
        #expect(guest.memory.readUInt32(0x44) == WasmResult.internalFailure.rawValue)
        #expect(guest.memory.readUInt32(0x48) == 76)  // WASI ENOTCAPABLE
        #expect(guest.memory.readUInt32(0x50) == 0)  // proxy_on_response_headers not allowed
        let errors = vm.proxy.logs.filter { $0.level == .error }.map(\.message)
        #expect(
            errors == [
                "Attempted call to restricted proxy-wasm capability: proxy_set_tick_period_milliseconds",
                "Attempted call to restricted WASI capability: fd_write",
                "Attempted call to restricted WASI capability: proc_exit",
            ])
        #expect(vm.proxy.logs.contains { $0.level == .info && $0.message == "hello" })
        let refused = vm.trace.events.filter { $0.name == "restricted_capability" }.compactMap { $0.args["function"] }
        #expect(refused == ["proxy_set_tick_period_milliseconds", "wasi_snapshot_preview1.fd_write", "wasi_snapshot_preview1.proc_exit"])
        #expect(!vm.trace.events.contains { $0.kind == .callback && $0.name == "proxy_on_response_headers" })
        // The run summary counts them too.
        #expect(
            vm.answers.summary == "refused 3 (proxy_set_tick_period_milliseconds x1, wasi_snapshot_preview1.fd_write x1, "
                + "wasi_snapshot_preview1.proc_exit x1)")
    }

    @Test func aRestrictedLifecycleCallbackIsSkippedNotFailed() throws {
        // Without proxy_on_request_headers the stream passes untouched; the VM keeps serving.
        let (vm, guest) = try run(allowing: ["proxy_log", "proxy_on_response_headers"])
        #expect(guest.memory.readUInt32(0x44) == 0)  // never called
        #expect(guest.memory.readUInt32(0x50) == 1)
        #expect(vm.proxy.logs.allSatisfy { $0.level != .error })
    }

    @Test func scenariosCarryTheAllowList() throws {
        let path = try temporaryModuleFile(try wasm(Self.module))
        defer { try? FileManager.default.removeItem(atPath: path) }
        let yaml = """
            proxies:
              - name: p
                plugins:
                  - {name: m, module: \(path), allowed_capabilities: [proxy_on_request_headers, proxy_log]}
            traffic:
              - http: {through: [p], request: {headers: {":path": /}}}
            """
        let runner = try ScenarioRunner(scenario: try Scenario.load(yaml: yaml, file: "caps.yaml", baseDirectory: URL(fileURLWithPath: "/")))
        runner.run()
        #expect(runner.proxies[0].proxy.logs.contains { $0.message.hasSuffix("capability: proxy_set_tick_period_milliseconds") })
        #expect(throws: ScenarioError.self) {
            try Scenario.load(
                yaml: "proxies: [{name: p, plugins: [{name: m, module: x.wasm, allowed_capabilities: proxy_log}]}]\ntraffic: []",
                file: "bad.yaml", baseDirectory: URL(fileURLWithPath: "/"))
        }
    }
}
