import ProxyWasmABI
import ProxyWasmHost
import ProxyWasmTestSupport
import ProxyWasmWasmKit
import Testing

/// Modules shaped like the other proxy-wasm SDKs' output: their ABI marker,
/// allocator export, start functions and WASI imports (none of those SDKs'
/// toolchains exist offline, so the shapes are written out in WAT). Each must
/// load, start in Envoy's order and serve a request without a failed or
/// unimplemented call.
@Suite("Modules shaped like other SDKs")
struct SDKShapedModuleTests {
    struct Shape: CustomTestStringConvertible, Sendable {
        let sdk: String
        let version: ABIVersion
        let allocators: [String]
        /// Start-function exports and what the trace must show them called as.
        let start: String
        let startCalls: [String]
        let imports: String
        var testDescription: String { sdk }
    }

    static let wasiP1 = "wasi_snapshot_preview1"

    static let shapes: [Shape] = [
        // Rust SDK (wasm32-wasip1 cdylib): a reactor with `_initialize`, its own allocator export,
        // and the std library's WASI needs.
        Shape(
            sdk: "rust", version: .v0_2_1, allocators: ["proxy_on_memory_allocate"],
            start: #"(func (export "_initialize") (drop (call $random (i32.const 0x200) (i32.const 16))))"#,
            startCalls: ["_initialize"],
            imports: """
                (import "\(wasiP1)" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
                (import "\(wasiP1)" "environ_sizes_get" (func $environ_sizes (param i32 i32) (result i32)))
                (import "\(wasiP1)" "environ_get" (func $environ (param i32 i32) (result i32)))
                (import "\(wasiP1)" "clock_time_get" (func $clock (param i32 i64 i32) (result i32)))
                (import "\(wasiP1)" "proc_exit" (func $exit (param i32)))
                (import "\(wasiP1)" "random_get" (func $random (param i32 i32) (result i32)))
                (import "env" "proxy_get_log_level" (func $level (param i32) (result i32)))
                """),
        // Go SDK (TinyGo, c-shared): ABI 0.2.0, exports both `malloc` and
        // `proxy_on_memory_allocate` (Envoy takes `malloc`), scheduler and runtime WASI calls.
        Shape(
            sdk: "go", version: .v0_2_0, allocators: ["malloc", "proxy_on_memory_allocate"],
            start: #"(func (export "_initialize") (drop (call $args_sizes (i32.const 0x200) (i32.const 0x204))) (drop (call $yield)))"#,
            startCalls: ["_initialize"],
            imports: """
                (import "\(wasiP1)" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
                (import "\(wasiP1)" "args_sizes_get" (func $args_sizes (param i32 i32) (result i32)))
                (import "\(wasiP1)" "args_get" (func $args (param i32 i32) (result i32)))
                (import "\(wasiP1)" "clock_time_get" (func $clock (param i32 i64 i32) (result i32)))
                (import "\(wasiP1)" "poll_oneoff" (func $poll (param i32 i32 i32 i32) (result i32)))
                (import "\(wasiP1)" "sched_yield" (func $yield (result i32)))
                (import "\(wasiP1)" "proc_exit" (func $exit (param i32)))
                (import "\(wasiP1)" "random_get" (func $random (param i32 i32) (result i32)))
                """),
        // C++ SDK (Emscripten, standalone wasm): `_initialize` then `main(0, 0)`, `malloc`,
        // Emscripten's memory-growth notification and stdio WASI calls.
        Shape(
            sdk: "cpp", version: .v0_2_1, allocators: ["malloc"],
            start: """
                (func (export "_initialize") (call $grown (i32.const 0)))
                (func (export "main") (param i32 i32) (result i32) (i32.const 0))
                """,
            startCalls: ["_initialize", "main"],
            imports: """
                (import "env" "emscripten_notify_memory_growth" (func $grown (param i32)))
                (import "\(wasiP1)" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
                (import "\(wasiP1)" "fd_close" (func $fd_close (param i32) (result i32)))
                (import "\(wasiP1)" "fd_seek" (func $fd_seek (param i32 i64 i32 i32) (result i32)))
                (import "\(wasiP1)" "proc_exit" (func $exit (param i32)))
                """),
        // AssemblyScript SDK (proxy-runtime): ABI 0.1.0 (two-argument header callbacks,
        // proxy_get_configuration), a command module with `_start`, `wasi_unstable`.
        Shape(
            sdk: "assemblyscript", version: .v0_1_0, allocators: ["malloc"],
            start: #"(func (export "_start"))"#,
            startCalls: ["_start"],
            imports: """
                (import "wasi_unstable" "proc_exit" (func $exit (param i32)))
                (import "env" "proxy_get_configuration" (func $configuration (param i32 i32) (result i32)))
                """),
    ]

    static func module(_ shape: Shape) -> String {
        let message = "hello from \(shape.sdk)"
        let headerParams = shape.version == .v0_1_0 ? "(param i32 i32)" : "(param i32 i32 i32)"
        let allocatorExports = shape.allocators.map { #"(export "\#($0)" (func $alloc))"# }.joined(separator: "\n")
        return """
            (module
              (import "env" "proxy_log" (func $log (param i32 i32 i32) (result i32)))
              \(shape.imports)
              (memory (export "memory") 2)
              (global $heap (mut i32) (i32.const 8192))
              (data (i32.const 0x100) "\(message)")
              (func $alloc (param $size i32) (result i32)
                (local $p i32)
                (local.set $p (global.get $heap))
                (global.set $heap (i32.add (global.get $heap) (i32.and (i32.add (local.get $size) (i32.const 7)) (i32.const -8))))
                (local.get $p))
              \(allocatorExports)
              (func (export "proxy_abi_version_\(shape.version.name.replacingOccurrences(of: ".", with: "_"))"))
              \(shape.start)
              (func (export "proxy_on_vm_start") (param i32 i32) (result i32) (i32.const 1))
              (func (export "proxy_on_configure") (param i32 i32) (result i32) (i32.const 1))
              (func (export "proxy_on_context_create") (param i32 i32))
              (func (export "proxy_on_request_headers") \(headerParams) (result i32)
                (drop (call $log (i32.const 2) (i32.const 0x100) (i32.const \(message.utf8.count))))
                (i32.const 0))
              (func (export "proxy_on_response_headers") \(headerParams) (result i32) (i32.const 0))
              (func (export "proxy_on_log") (param i32))
              (func (export "proxy_on_done") (param i32) (result i32) (i32.const 1))
              (func (export "proxy_on_delete") (param i32)))
            """
    }

    @Test(arguments: shapes)
    func loadsStartsAndServesARequest(shape: Shape) throws {
        let vm = PluginVM(proxy: Proxy(name: "p"), vmID: shape.sdk, trace: TraceRecorder())
        let guest = try WasmKitGuest.load(try wasm(Self.module(shape)), into: vm)
        #expect(guest.report.abiVersion == shape.version && vm.abiVersion == shape.version)
        let root = try vm.startPlugin(PluginConfiguration(name: shape.sdk))
        let stream = HttpStream(vm: vm, root: root)
        stream.sendRequestHeaders([HeaderPair(":path", "/")])
        stream.sendResponseHeaders([HeaderPair(":status", "200")])
        stream.complete()
        #expect(vm.failure == nil)
        #expect(vm.unimplementedCalls.isEmpty)
        #expect(vm.proxy.logs.contains { $0.message == "hello from \(shape.sdk)" })
        let starts = vm.trace.events.filter { $0.kind == .callback && !$0.name.hasPrefix("proxy_") }.map(\.name)
        #expect(starts == shape.startCalls)
        let callbacks = vm.trace.events.filter { $0.kind == .callback && $0.name.hasPrefix("proxy_") }.map(\.name)
        #expect(
            callbacks == [
                "proxy_on_context_create", "proxy_on_vm_start", "proxy_on_configure",
                "proxy_on_context_create", "proxy_on_request_headers", "proxy_on_response_headers",
                "proxy_on_log", "proxy_on_done", "proxy_on_delete",
            ])
    }
}
