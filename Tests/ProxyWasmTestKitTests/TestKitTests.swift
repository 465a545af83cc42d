import Foundation
import ProxyWasmABI
import ProxyWasmTestKit
import WAT
import Testing

/// The test kit as a plugin author uses it, on the example module.
@Suite("ProxyWasmTestKit")
struct TestKitTests {
    static var module: String {
        let directory = ProcessInfo.processInfo.environment["WASM_DIR"]
            ?? URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
                .deletingLastPathComponent().appendingPathComponent("build/wasm").path
        return directory + "/header_stamp.wasm"
    }

    @Test func drivesAPluginAndReadsWhatItDid() throws {
        let host = try ProxyWasmTestHost(modulePath: Self.module)
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
