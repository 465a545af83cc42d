import Foundation
import ProxyWasmABI

/// A WAT module that makes an HTTP call-out and acts on the answer, for the
/// call-out and scenario tests.
public enum CalloutProbe {
    public static let requestPairs = HeaderPairs.encode([
        HeaderPair(":method", "POST"), HeaderPair(":path", "/check"), HeaderPair(":authority", "auth.local"),
        HeaderPair("X-Caller", "probe"),
    ])

    /// A module that, on request headers, calls cluster `auth` and pauses; on
    /// the answer it records what it saw at 0x60.., then resumes the stream
    /// with `x-auth: allowed`, or replies 503 locally when the call failed.
    public static func authModule(timeout: Int32 = 1000) -> String {
        let pairs = requestPairs.map { String(format: "\\%02x", $0) }.joined()
        return WATModule.module(
            """
            (global $stream (mut i32) (i32.const 0))
            (data (i32.const 0x100) "auth")
            (data (i32.const 0x200) "\(pairs)")
            (data (i32.const 0x400) "hello")
            (data (i32.const 0x500) ":status")
            (data (i32.const 0x510) "x-auth")
            (data (i32.const 0x520) "allowed")
            (data (i32.const 0x530) "denied")
            (func (export "proxy_on_vm_start") (param i32 i32) (result i32) (i32.const 1))
            (func (export "proxy_on_configure") (param i32 i32) (result i32) (i32.const 1))
            (func (export "proxy_on_context_create") (param i32 i32))
            (func (export "proxy_on_request_headers") (param $ctx i32) (param i32 i32) (result i32)
              (global.set $stream (local.get $ctx))
              (i32.store (i32.const 0x40)
                (call $http_call (i32.const 0x100) (i32.const 4) (i32.const 0x200) (i32.const \(requestPairs.count))
                                 (i32.const 0x400) (i32.const 5) (i32.const 0) (i32.const 0) (i32.const \(timeout))
                                 (i32.const 0x50)))
              (i32.const 1))
            (func (export "proxy_on_http_call_response") (param $root i32) (param $token i32) (param $nh i32)
                                                        (param $bs i32) (param $nt i32)
              (i32.store (i32.const 0x60) (local.get $token))
              (i32.store (i32.const 0x64) (local.get $nh))
              (i32.store (i32.const 0x68) (local.get $bs))
              (i32.store (i32.const 0x6c) (local.get $nt))
              (i32.store (i32.const 0x70)
                (call $get_buffer (i32.const 4) (i32.const 0) (local.get $bs) (i32.const 0x74) (i32.const 0x78)))
              (i32.store (i32.const 0x80)
                (call $get_header (i32.const 6) (i32.const 0x500) (i32.const 7) (i32.const 0x84) (i32.const 0x88)))
              (i32.store (i32.const 0x90) (call $get_status (i32.const 0x94) (i32.const 0x98) (i32.const 0x9c)))
              (drop (call $set_effective (global.get $stream)))
              (if (i32.eqz (local.get $nh))
                (then (drop (call $local_response (i32.const 503) (i32.const 0x530) (i32.const 6) (i32.const 0) (i32.const 0)
                                                  (i32.const 0) (i32.const 0) (i32.const -1))))
                (else
                  (drop (call $add_header (i32.const 0) (i32.const 0x510) (i32.const 6) (i32.const 0x520) (i32.const 7)))
                  (drop (call $continue (i32.const 0))))))
            """,
            imports: """
                (import "env" "proxy_http_call" (func $http_call (param i32 i32 i32 i32 i32 i32 i32 i32 i32 i32) (result i32)))
                (import "env" "proxy_get_buffer_bytes" (func $get_buffer (param i32 i32 i32 i32 i32) (result i32)))
                (import "env" "proxy_get_header_map_value" (func $get_header (param i32 i32 i32 i32 i32) (result i32)))
                (import "env" "proxy_get_status" (func $get_status (param i32 i32 i32) (result i32)))
                (import "env" "proxy_set_effective_context" (func $set_effective (param i32) (result i32)))
                (import "env" "proxy_add_header_map_value" (func $add_header (param i32 i32 i32 i32 i32) (result i32)))
                (import "env" "proxy_continue_stream" (func $continue (param i32) (result i32)))
                (import "env" "proxy_send_local_response" (func $local_response (param i32 i32 i32 i32 i32 i32 i32 i32) (result i32)))
                """)
    }
}
