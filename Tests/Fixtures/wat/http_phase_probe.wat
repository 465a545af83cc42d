;; http_phase_probe: header, property and call-out calls made in the phase where they do not
;; belong, one status per log line (one digit of 0-9A-Z):
;;   on_request_headers:  get ResponseHeaders :status, replace ResponseHeaders x-early,
;;                        get_property response.code, http_call to cluster "nowhere"
;;   on_response_headers: replace RequestHeaders x-late, get RequestHeaders :path
;;   on_log:              get RequestHeaders :path, replace ResponseHeaders x-log,
;;                        get ResponseHeaders :status, get_property response.code
;; Tests/Envoy/test_http_phases.py runs it in Envoy and in the host and compares.
(module
  (import "env" "proxy_log" (func $log (param i32 i32 i32) (result i32)))
  (import "env" "proxy_get_header_map_value" (func $getHeader (param i32 i32 i32 i32 i32) (result i32)))
  (import "env" "proxy_replace_header_map_value" (func $replaceHeader (param i32 i32 i32 i32 i32) (result i32)))
  (import "env" "proxy_get_property" (func $getProperty (param i32 i32 i32 i32) (result i32)))
  (import "env" "proxy_http_call" (func $httpCall (param i32 i32 i32 i32 i32 i32 i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (global $heap (mut i32) (i32.const 8192))
  (data (i32.const 0x200) "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ")
  (data (i32.const 0x300) ":status")          ;; 7
  (data (i32.const 0x310) ":path")            ;; 5
  (data (i32.const 0x320) "x-early")          ;; 7
  (data (i32.const 0x330) "x-late")           ;; 6
  (data (i32.const 0x340) "x-log")            ;; 5
  (data (i32.const 0x350) "1")                ;; 1
  (data (i32.const 0x360) "response\00code")  ;; 13
  (data (i32.const 0x380) "nowhere")          ;; 7
  ;; :method GET, :path /, :authority x as proxy-wasm header pairs (61 bytes)
  (data (i32.const 0x400) "\03\00\00\00\07\00\00\00\03\00\00\00\05\00\00\00\01\00\00\00\0a\00\00\00\01\00\00\00:method\00GET\00:path\00/\00:authority\00x\00")
  (func (export "proxy_abi_version_0_2_1"))
  (func (export "proxy_on_memory_allocate") (param $size i32) (result i32)
    (local $p i32)
    (local.set $p (global.get $heap))
    (global.set $heap (i32.add (global.get $heap) (i32.and (i32.add (local.get $size) (i32.const 7)) (i32.const -8))))
    (local.get $p))
  (func $digit (param $v i32) (drop (call $log (i32.const 2) (i32.add (i32.const 0x200) (local.get $v)) (i32.const 1))))
  (func $get (param $map i32) (param $key i32) (param $n i32)
    (call $digit (call $getHeader (local.get $map) (local.get $key) (local.get $n) (i32.const 0x500) (i32.const 0x504))))
  (func $replace (param $map i32) (param $key i32) (param $n i32)
    (call $digit (call $replaceHeader (local.get $map) (local.get $key) (local.get $n) (i32.const 0x350) (i32.const 1))))
  (func $responseCode
    (call $digit (call $getProperty (i32.const 0x360) (i32.const 13) (i32.const 0x508) (i32.const 0x50c))))
  (func (export "proxy_on_vm_start") (param i32 i32) (result i32) (i32.const 1))
  (func (export "proxy_on_configure") (param i32 i32) (result i32) (i32.const 1))
  (func (export "proxy_on_context_create") (param i32 i32))
  (func (export "proxy_on_request_headers") (param i32 i32 i32) (result i32)
    (call $get (i32.const 2) (i32.const 0x300) (i32.const 7))
    (call $replace (i32.const 2) (i32.const 0x320) (i32.const 7))
    (call $responseCode)
    (call $digit (call $httpCall (i32.const 0x380) (i32.const 7) (i32.const 0x400) (i32.const 61)
                                 (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 1000) (i32.const 0x510)))
    (i32.const 0))
  (func (export "proxy_on_response_headers") (param i32 i32 i32) (result i32)
    (call $replace (i32.const 0) (i32.const 0x330) (i32.const 6))
    (call $get (i32.const 0) (i32.const 0x310) (i32.const 5))
    (i32.const 0))
  (func (export "proxy_on_log") (param i32)
    (call $get (i32.const 0) (i32.const 0x310) (i32.const 5))
    (call $replace (i32.const 2) (i32.const 0x340) (i32.const 5))
    (call $get (i32.const 2) (i32.const 0x300) (i32.const 7))
    (call $responseCode))
  (func (export "proxy_on_http_call_response") (param i32 i32 i32 i32 i32))
  (func (export "proxy_on_done") (param i32) (result i32) (i32.const 1))
  (func (export "proxy_on_delete") (param i32)))
