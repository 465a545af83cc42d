;; attribute_probe: on_log, reads the attributes Envoy gives a plaintext HTTP/1.1 request or TCP
;; connection and logs the status and the size (one character of 0-9A-Z each, sizes above 35 as Z)
;; of each, in the order of Tests/Envoy/test_default_attributes.py ATTRIBUTES, which runs it in Envoy
;; and in the host.
(module
  (import "env" "proxy_log" (func $log (param i32 i32 i32) (result i32)))
  (import "env" "proxy_get_property" (func $getProperty (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (global $heap (mut i32) (i32.const 16384))
  (data (i32.const 0x200) "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ")
  (data (i32.const 4096) "source\00address")  ;; source.address
  (data (i32.const 4160) "source\00port")  ;; source.port
  (data (i32.const 4224) "destination\00address")  ;; destination.address
  (data (i32.const 4288) "destination\00port")  ;; destination.port
  (data (i32.const 4352) "upstream\00address")  ;; upstream.address
  (data (i32.const 4416) "upstream\00port")  ;; upstream.port
  (data (i32.const 4480) "connection\00id")  ;; connection.id
  (data (i32.const 4544) "connection\00mtls")  ;; connection.mtls
  (data (i32.const 4608) "connection\00requested_server_name")  ;; connection.requested_server_name
  (data (i32.const 4672) "connection\00tls_version")  ;; connection.tls_version
  (data (i32.const 4736) "upstream\00tls_version")  ;; upstream.tls_version
  (data (i32.const 4800) "upstream\00local_address")  ;; upstream.local_address
  (data (i32.const 4864) "connection\00termination_details")  ;; connection.termination_details
  (data (i32.const 4928) "upstream\00transport_failure_reason")  ;; upstream.transport_failure_reason
  (data (i32.const 4992) "request\00protocol")  ;; request.protocol
  (data (i32.const 5056) "response\00code_details")  ;; response.code_details
  (data (i32.const 5120) "connection\00uri_san_peer_certificate")  ;; connection.uri_san_peer_certificate
  (data (i32.const 5184) "upstream\00uri_san_peer_certificate")  ;; upstream.uri_san_peer_certificate
  (data (i32.const 5248) "response\00flags")  ;; response.flags
  (data (i32.const 5312) "request\00total_size")  ;; request.total_size
  (data (i32.const 5376) "response\00total_size")  ;; response.total_size
  (data (i32.const 5440) "response\00code")  ;; response.code
  (data (i32.const 5504) "request\00duration")  ;; request.duration
  (func (export "proxy_abi_version_0_2_1"))
  (func (export "proxy_on_memory_allocate") (param $size i32) (result i32)
    (local $p i32)
    (local.set $p (global.get $heap))
    (global.set $heap (i32.add (global.get $heap) (i32.and (i32.add (local.get $size) (i32.const 7)) (i32.const -8))))
    (local.get $p))
  (func $digit (param $v i32) (drop (call $log (i32.const 2) (i32.add (i32.const 0x200) (local.get $v)) (i32.const 1))))
  (func $probe (param $path i32) (param $n i32)
    (local $status i32) (local $size i32)
    (i32.store (i32.const 0x300) (i32.const 0))
    (i32.store (i32.const 0x304) (i32.const 0))
    (local.set $status (call $getProperty (local.get $path) (local.get $n) (i32.const 0x300) (i32.const 0x304)))
    (call $digit (local.get $status))
    (local.set $size (i32.load (i32.const 0x304)))
    (if (i32.gt_u (local.get $size) (i32.const 35)) (then (local.set $size (i32.const 35))))
    (call $digit (local.get $size)))
  (func (export "proxy_on_vm_start") (param i32 i32) (result i32) (i32.const 1))
  (func (export "proxy_on_configure") (param i32 i32) (result i32) (i32.const 1))
  (func (export "proxy_on_context_create") (param i32 i32))
  (func (export "proxy_on_log") (param i32)
    (call $probe (i32.const 4096) (i32.const 14))
    (call $probe (i32.const 4160) (i32.const 11))
    (call $probe (i32.const 4224) (i32.const 19))
    (call $probe (i32.const 4288) (i32.const 16))
    (call $probe (i32.const 4352) (i32.const 16))
    (call $probe (i32.const 4416) (i32.const 13))
    (call $probe (i32.const 4480) (i32.const 13))
    (call $probe (i32.const 4544) (i32.const 15))
    (call $probe (i32.const 4608) (i32.const 32))
    (call $probe (i32.const 4672) (i32.const 22))
    (call $probe (i32.const 4736) (i32.const 20))
    (call $probe (i32.const 4800) (i32.const 22))
    (call $probe (i32.const 4864) (i32.const 30))
    (call $probe (i32.const 4928) (i32.const 33))
    (call $probe (i32.const 4992) (i32.const 16))
    (call $probe (i32.const 5056) (i32.const 21))
    (call $probe (i32.const 5120) (i32.const 35))
    (call $probe (i32.const 5184) (i32.const 33))
    (call $probe (i32.const 5248) (i32.const 14))
    (call $probe (i32.const 5312) (i32.const 18))
    (call $probe (i32.const 5376) (i32.const 19))
    (call $probe (i32.const 5440) (i32.const 13))
    (call $probe (i32.const 5504) (i32.const 16)))
  (func (export "proxy_on_done") (param i32) (result i32) (i32.const 1))
  (func (export "proxy_on_delete") (param i32)))
