import ProxyWasmABI
import ProxyWasmTestSupport
import ProxyWasmWasmKit
import Testing

@testable import ProxyWasmHost

/// Modules written in WAT: Envoy's load-time rejections, and guests that
/// misbehave at run time. The host must report, never crash or hang.
@Suite("Validation and hostile modules")
struct HostileModuleTests {
    func load(_ text: String, vm: PluginVM, limits: GuestLimits = GuestLimits()) throws -> WasmKitGuest {
        try WasmKitGuest.load(try wasm(text), into: vm, limits: limits)
    }

    func newVM() -> PluginVM { PluginVM(proxy: Proxy(name: "p"), vmID: "vm", trace: TraceRecorder()) }

    func loadError(_ text: String) throws -> ModuleLoadError {
        do {
            _ = try load(text, vm: newVM())
        } catch let error as ModuleLoadError {
            return error
        }
        Issue.record("module loaded but should not have")
        throw HostileTestFailure()
    }

    struct HostileTestFailure: Error {}

    @Test func missingABIMarkerIsRejected() throws {
        let error = try loadError(WATModule.module("", marker: "proxy_abi_version_0_x_x"))
        #expect(error.report.problems.contains { $0.hasPrefix("Missing or unknown Proxy-Wasm ABI version") })
    }

    @Test func everyUnknownImportIsNamedWithItsSignature() throws {
        let error = try loadError(
            WATModule.module(
                "",
                imports: """
                    (import "env" "proxy_this_does_not_exist" (func (param i32) (result i32)))
                    (import "env" "proxy_log" (func (param i32 i32) (result i32)))
                    (import "wasi_snapshot_preview1" "proc_raise" (func (param i32) (result i32)))
                    """))
        #expect(error.report.problems.contains("missing import: env.proxy_this_does_not_exist (i32 -> i32) is not provided by Envoy for ABI 0.2.1"))
        #expect(error.report.problems.contains("import type mismatch: env.proxy_log, want: i32 i32 -> i32, but host exports: i32 i32 i32 -> i32"))
        #expect(
            error.report.problems.contains("missing import: wasi_snapshot_preview1.proc_raise (i32 -> i32) is not provided by Envoy for ABI 0.2.1"))
        #expect(error.report.problems.count == 3)
    }

    @Test func versionSpecificImportsFollowTheMarker() throws {
        let error = try loadError(
            WATModule.module(
                "", imports: #"(import "env" "proxy_get_log_level" (func (param i32) (result i32)))"#,
                marker: "proxy_abi_version_0_2_0"))
        #expect(error.report.problems.first?.contains("proxy_get_log_level") == true)
    }

    @Test func missingAllocatorIsRejected() throws {
        let error = try loadError(WATModule.module("", allocator: false))
        #expect(error.report.problems.contains { $0.hasPrefix("Wasm module is missing malloc function") })
    }

    @Test func wrongCallbackSignaturesFailTheVM() throws {
        let error = try loadError(WATModule.module("(func (export \"proxy_on_request_headers\") (param i32 i32) (result i32) (i32.const 0))"))
        #expect(
            error.report.problems.contains(
                "Bad function signature for: proxy_on_request_headers, want: i32 i32 i32 -> i32, but the module exports: i32 i32 -> i32"))
    }

    @Test func garbageIsNotAModule() throws {
        let vm = newVM()
        #expect(throws: ModuleLoadError.self) { try WasmKitGuest.load([0x00, 0x61, 0x73, 0x6D, 0xFF], into: vm) }
    }

    @Test func outOfBoundsPointersGetInvalidMemoryAccess() throws {
        let vm = newVM()
        _ = try load(
            WATModule.module(
                """
                (func (export "proxy_on_vm_start") (param i32 i32) (result i32)
                  ;; store proxy_log's status for a pointer far past memory at address 0
                  (i32.store (i32.const 0) (call $log (i32.const 2) (i32.const 0x7FFFFFF0) (i32.const 100)))
                  (i32.const 1))
                """, imports: #"(import "env" "proxy_log" (func $log (param i32 i32 i32) (result i32)))"#), vm: vm)
        try vm.startPlugin(PluginConfiguration(name: "p"))
        let status = try #require(vm.trace.events.first { $0.name == "proxy_log" }?.status)
        #expect(status == "InvalidMemoryAccess")
        #expect(vm.guest?.memory.readUInt32(0) == WasmResult.invalidMemoryAccess.rawValue)
    }

    @Test func aTrapFailsTheVMAndFailClosedAnswers503() throws {
        let vm = newVM()
        _ = try load(
            WATModule.module(
                """
                (func (export "proxy_on_request_headers") (param i32 i32 i32) (result i32) unreachable)
                """), vm: vm)
        let root = try vm.startPlugin(PluginConfiguration(name: "p"))
        let first = HttpStream(vm: vm, root: root)
        first.sendRequestHeaders([HeaderPair(":path", "/")])
        #expect(first.localResponse?.statusCode == 503)
        #expect(first.localResponse?.details == "wasm_fail_stream")
        #expect(vm.failure?.state == .runtimeError)
        #expect(vm.failure?.callback == "proxy_on_request_headers")
        let later = HttpStream(vm: vm, root: root)
        later.sendRequestHeaders([HeaderPair(":path", "/")])
        #expect(later.localResponse?.statusCode == 503)
    }

    @Test func failOpenBypassesLaterStreamsButNotTheTrappingOne() throws {
        let vm = newVM()
        _ = try load(
            WATModule.module(
                """
                (func (export "proxy_on_request_headers") (param i32 i32 i32) (result i32) unreachable)
                """), vm: vm)
        let root = try vm.startPlugin(PluginConfiguration(name: "p", failOpen: true))
        let first = HttpStream(vm: vm, root: root)
        first.sendRequestHeaders([HeaderPair(":path", "/")])
        #expect(first.localResponse?.statusCode == 503)
        let later = HttpStream(vm: vm, root: root)
        later.sendRequestHeaders([HeaderPair(":path", "/")])
        #expect(later.localResponse == nil && later.bypassed)
    }

    @Test func aRunawayLoopIsStoppedByTheInstructionBudget() throws {
        let vm = newVM()
        _ = try load(
            WATModule.module(
                """
                (func (export "proxy_on_request_headers") (param i32 i32 i32) (result i32)
                  (loop $forever (br $forever))
                  (i32.const 0))
                """), vm: vm, limits: GuestLimits(fuelPerCallback: 1_000_000))
        let root = try vm.startPlugin(PluginConfiguration(name: "p"))
        let stream = HttpStream(vm: vm, root: root)
        stream.sendRequestHeaders([HeaderPair(":path", "/")])
        #expect(stream.localResponse?.statusCode == 503)
        #expect(vm.failure?.message.contains("instruction budget exhausted") == true)
    }

    /// The wasm `start` function runs at instantiation: before it had no fuel
    /// budget, and a looping one hung `run` and `validate`.
    @Test func aLoopingStartFunctionIsStoppedByTheBudget() throws {
        let text = WATModule.module(
            """
            (func $spin (loop $forever (br $forever)))
            (start $spin)
            """)
        do {
            _ = try load(text, vm: newVM(), limits: GuestLimits(fuelPerCallback: 1_000_000))
            Issue.record("loaded")
        } catch let error as ModuleLoadError {
            #expect(error.report.problems.contains("the start function ran out of fuel (1000000 wasm operators)"), "\(error)")
        }
    }

    /// `_initialize` and `main` (reactor and command start functions) get the budget too.
    @Test(arguments: ["_initialize", "main"])
    func loopingInitializersAreStoppedByTheBudget(_ export: String) throws {
        let text = WATModule.module(
            export == "main"
                ? #"(func (export "_initialize")) (func (export "main") (param i32 i32) (result i32) (loop $forever (br $forever)) (i32.const 0))"#
                : #"(func (export "_initialize") (loop $forever (br $forever)))"#)
        #expect(throws: PluginStartError.self) {
            _ = try load(text, vm: newVM(), limits: GuestLimits(fuelPerCallback: 1_000_000))
        }
    }

    @Test func memoryGrowthPastTheLimitFailsInsideTheGuest() throws {
        let vm = newVM()
        _ = try load(
            WATModule.module(
                """
                (func (export "proxy_on_vm_start") (param i32 i32) (result i32)
                  ;; memory.grow answers -1 when refused: report it as the start result
                  (i32.ne (memory.grow (i32.const 2)) (i32.const -1)))
                """), vm: vm, limits: GuestLimits(maxMemoryBytes: 2 * 65536))
        #expect(throws: PluginStartError.self) { try vm.startPlugin(PluginConfiguration(name: "p")) }
        #expect(vm.failure?.state == .startFailed)
    }

    @Test func hostCallsDuringInitializeAreRestrictedAsInV8() throws {
        let vm = newVM()
        #expect(throws: PluginStartError.self) {
            _ = try load(
                WATModule.module(
                    """
                    (func (export "_initialize") (drop (call $time (i32.const 0))))
                    """, imports: #"(import "env" "proxy_get_current_time_nanoseconds" (func $time (param i32) (result i32)))"#), vm: vm)
        }
        #expect(vm.failure?.message.contains("restricted_callback") == true)
    }

    @Test func falseFromConfigureRefusesThePlugin() throws {
        let vm = newVM()
        _ = try load(
            WATModule.module(
                """
                (func (export "proxy_on_configure") (param i32 i32) (result i32) (i32.const 0))
                """), vm: vm)
        #expect(throws: PluginStartError(message: "Failed to configure base Wasm plugin (proxy_on_configure returned false)")) {
            try vm.startPlugin(PluginConfiguration(name: "p"))
        }
    }
}
