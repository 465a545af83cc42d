import ProxyWasmABI
import ProxyWasmHost
import ProxyWasmTestSupport
import ProxyWasmWasmKit
import Testing

/// The real header_stamp.wasm in the host, through Envoy's lifecycle.
@Suite("HeaderStamp.wasm in the host")
struct ExamplePluginTests {
    let proxy = Proxy(name: "sidecar")
    let vm: PluginVM
    let guest: WasmKitGuest

    init() throws {
        proxy.setNode(
            id: "sidecar~10.0.0.1~productpage.default~cluster.local",
            metadata: [PropertyEntry("NAME", .string("productpage-v1"))])
        vm = PluginVM(proxy: proxy, vmID: "header_stamp", trace: TraceRecorder())
        guest = try WasmKitGuest.load(try BuiltModules.bytes("header_stamp"), into: vm)
    }

    private func start(_ json: String) throws -> UInt32 {
        try vm.startPlugin(PluginConfiguration(name: "header_stamp", configuration: Array(json.utf8)))
    }

    private func get(_ root: UInt32, _ path: String) -> HttpStream {
        let stream = HttpStream(vm: vm, root: root)
        stream.sendRequestHeaders([
            HeaderPair(":method", "GET"), HeaderPair(":path", path),
            HeaderPair(":authority", "reviews:9080"),
        ])
        stream.sendResponseHeaders([HeaderPair(":status", "200")])
        stream.complete()
        return stream
    }

    @Test func validatesLikeEnvoy() {
        #expect(guest.report.abiVersion == .v0_2_1)
        #expect(guest.report.isValid)
        #expect(guest.report.imports.allSatisfy { $0.module == "env" || $0.module == "wasi_snapshot_preview1" })
    }

    @Test func stampsResponsesDeniesAndCounts() throws {
        let root = try start(#"{"header": "x-stamp", "value": "v2", "deny_path_prefix": "/admin"}"#)
        let ok = get(root, "/reviews/1")
        #expect(ok.localResponse == nil)
        #expect(ok.responseHeaders.contains(HeaderPair("x-stamp", "v2; node=productpage-v1")))
        let denied = get(root, "/admin/x")
        #expect(denied.localResponse?.statusCode == 403)
        #expect(denied.localResponse?.details == "header_stamp_denied")
        #expect(proxy.stats.stat(named: "header_stamp_requests_total")?.value == 2)
        #expect(proxy.stats.stat(named: "header_stamp_denied_total")?.value == 1)
        #expect(vm.contexts.count == 1)  // streams deleted, root alive
        #expect(vm.unimplementedCalls.isEmpty)
    }

    @Test func malformedConfigurationIsRefusedWithTheLogLine() {
        #expect(throws: PluginStartError.self) { try start(#"{"header": 5}"#) }
        #expect(
            proxy.logs.contains {
                $0.level == .error && $0.message == #"header_stamp: invalid configuration: field "header" must be a string, found number"#
            })
        #expect(!vm.isFailed)  // a refused configuration is not a trap
    }

    @Test func theTraceShowsEnvoysCallbackOrder() throws {
        let root = try start("{}")
        vm.trace.clear()
        _ = get(root, "/")
        let callbacks = vm.trace.events.filter { $0.kind == .callback && $0.name.hasPrefix("proxy_on_") && $0.depth == 0 }
        #expect(
            callbacks.map(\.name) == [
                "proxy_on_context_create", "proxy_on_request_headers",
                "proxy_on_response_headers", "proxy_on_log", "proxy_on_done", "proxy_on_delete",
            ])
        let read = vm.trace.events.first { $0.name == "proxy_get_header_map_value" }
        #expect(read?.args["key"] == ":path" || read == nil)
        let replace = try #require(vm.trace.events.first { $0.name == "proxy_replace_header_map_value" })
        #expect(replace.args["value"] == "swift; node=productpage-v1" && replace.status == "Ok")
        // Reproducible: the same traffic again renders the same trace.
        let first = vm.trace.events
        vm.trace.clear()
        _ = get(root, "/")
        #expect(!TraceFormat.diff(first, vm.trace.events).isEmpty)  // stream ids differ...
        #expect(
            TraceFormat.diff(
                TraceFormat.normalizingContextIDs(first),
                TraceFormat.normalizingContextIDs(vm.trace.events)
            ).isEmpty)  // ...nothing else does
    }

    @Test func memoryStaysFlatOverManyStreams() throws {
        let root = try start("{}")
        for _ in 0..<20 { _ = get(root, "/warmup") }
        let before = guest.memoryByteCount
        for _ in 0..<100 { _ = get(root, "/steady") }
        #expect(guest.memoryByteCount == before)
    }

    @Test func wasmOperatorsPerRequestAreMeasured() throws {
        let root = try start("{}")
        _ = get(root, "/warmup")
        let before = guest.fuelConsumed
        _ = get(root, "/measured")
        let perRequest = guest.fuelConsumed - before
        #expect(perRequest > 1_000)
        #expect(perRequest < 2_000_000)
    }
}
