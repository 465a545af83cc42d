import Foundation
import HeaderStamp
import ProxyWasmABI
import ProxyWasmTestKit
import Testing
import WAT

/// The test kit as a plugin author uses it, on the example module.
@Suite("ProxyWasmTestKit")
struct TestKitTests {
    static var module: String {
        let directory =
            ProcessInfo.processInfo.environment["WASM_DIR"]
            ?? URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("build/wasm").path
        return directory + "/header_stamp.wasm"
    }

    enum Build: String, CaseIterable { case wasm, native }

    func host(_ build: Build) throws -> ProxyWasmTestHost {
        build == .wasm ? try ProxyWasmTestHost(modulePath: Self.module) : try ProxyWasmTestHost(native: HeaderStampPlugin.register)
    }

    /// One body, two builds: the `.wasm` under WasmKit and the same Swift natively.
    @Test(arguments: Build.allCases)
    func drivesAPluginAndReadsWhatItDid(build: Build) throws {
        let host = try host(build)
        host.setNodeMetadata(["NAME": "productpage-v1"])
        try host.start(configuration: #"{"value": "v1", "deny_path_prefix": "/private"}"#)
        let ok = host.request(path: "/reviews")
        #expect(ok.responseHeaders.contains(HeaderPair("x-swift-stamp", "v1; node=productpage-v1")))
        let denied = host.request(path: "/private/key")
        #expect(denied.localResponse?.statusCode == 403)
        #expect(host.counter("header_stamp_requests_total") == 2)
        #expect(host.counter("header_stamp_denied_total") == 1)
        #expect(host.logs.contains { $0.message.contains("configured") })
        #expect(host.trace.contains { $0.name == "proxy_send_local_response" })
    }

    /// Envoy's capability allow-list without `proxy_increment_metric`: the
    /// plugin still stamps, its counter stays empty, and strict mode says why.
    @Test func capabilityAllowListsReachThePluginAndStrictModeReportsThem() throws {
        let everything = Set(proxyHostFunctions.map(\.name) + proxyCallbacks.map(\.name) + wasiFunctionSignatures.map(\.name))
        let host = try ProxyWasmTestHost(modulePath: Self.module, allowedCapabilities: everything.subtracting(["proxy_increment_metric"]))
        try host.start(configuration: #"{"value": "v1"}"#)
        var stamped = false
        withKnownIssue("proxy_increment_metric is not on the allow-list") {
            stamped = host.request(path: "/reviews").responseHeaders.contains { $0.key == Array("x-swift-stamp".utf8) }
        }
        #expect(stamped)
        #expect((host.counter("header_stamp_requests_total") ?? 0) == 0)
        #expect(host.logs.contains { $0.message == "Attempted call to restricted proxy-wasm capability: proxy_increment_metric" })
    }

    @Test func legacyDialectServesTheBareNodeName() throws {
        let host = try ProxyWasmTestHost(modulePath: Self.module, dialect: .legacy)
        host.setNodeMetadata(["NAME": "old-envoy-pod"])
        try host.start()
        #expect(host.request().responseHeaders.contains(HeaderPair("x-swift-stamp", "swift; node=old-envoy-pod")))
    }

    /// A module that writes a response header while only request headers are
    /// open: Envoy answers BadArgument, which strict mode reports.
    static let misbehaving = """
        (module
          (import "env" "proxy_add_header_map_value" (func $add (param i32 i32 i32 i32 i32) (result i32)))
          (memory (export "memory") 1)
          (data (i32.const 16) "x-early")
          (func (export "proxy_abi_version_0_2_1"))
          (func (export "proxy_on_memory_allocate") (param i32) (result i32) (i32.const 1024))
          (func (export "proxy_on_request_headers") (param i32 i32 i32) (result i32)
            (drop (call $add (i32.const 2) (i32.const 16) (i32.const 7) (i32.const 16) (i32.const 7)))
            (i32.const 0)))
        """

    /// A module that calls a host function this host does not implement,
    /// once, while it is configured.
    static let unimplementedAtConfigure = """
        (module
          (import "env" "envoy_resolve_dns" (func $dns (param i32 i32 i32) (result i32)))
          (memory (export "memory") 1)
          (func (export "proxy_abi_version_0_2_1"))
          (func (export "proxy_on_memory_allocate") (param i32) (result i32) (i32.const 1024))
          (func (export "proxy_on_configure") (param i32 i32) (result i32)
            (drop (call $dns (i32.const 0) (i32.const 0) (i32.const 0)))
            (i32.const 1))
          (func (export "proxy_on_request_headers") (param i32 i32 i32) (result i32) (i32.const 0)))
        """

    /// Strict mode reports an unimplemented call when it happens, and only then:
    /// later checks (here, two requests) report nothing new.
    @Test func strictModeReportsAnUnimplementedCallOnce() throws {
        let host = try ProxyWasmTestHost(module: try wat2wasm(Self.unimplementedAtConfigure))
        try withKnownIssue("envoy_resolve_dns is not implemented by this host") {
            try host.start()
        }
        host.request()
        host.request()
        #expect(host.vm.unimplementedCalls == ["envoy_resolve_dns"])
    }

    @Test func strictModeFlagsUnexpectedHostStatuses() throws {
        let host = try ProxyWasmTestHost(module: try wat2wasm(Self.misbehaving))
        try host.start()
        withKnownIssue("proxy_add_header_map_value on the response map answers BadArgument") {
            host.request()
        }
        host.allowedStatuses = ["BadArgument"]
        host.request()
        let statuses = host.trace.filter { $0.name == "proxy_add_header_map_value" }.compactMap(\.status)
        #expect(statuses == ["BadArgument", "BadArgument"])
    }
}
