;; peer_field_reader: reads fields of the exchanged upstream peer by property
;; path in on_response_headers and logs each value at info level (or
;; "missing" when the host answers anything but Ok). Placed before
;; metadata_exchange on a client sidecar, it sees the response after the
;; exchange stored the peer. Run by Tests/Envoy/test_peer_properties.py in
;; Envoy and by PeerPropertyDeclarationTests in the host.
(module
  (import "env" "proxy_get_property" (func $get (param i32 i32 i32 i32) (result i32)))
  (import "env" "proxy_log" (func $log (param i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (global $heap (mut i32) (i32.const 4096))
  (data (i32.const 0x100) "upstream_peer\00workload_name")
  (data (i32.const 0x200) "upstream_peer\00labels\00app\00value")
  (data (i32.const 0x280) "upstream_peer\00no_such_field")
  (data (i32.const 0x400) "missing")
  (func (export "proxy_abi_version_0_2_1"))
  (func (export "proxy_on_memory_allocate") (param $size i32) (result i32)
    (local $p i32)
    (local.set $p (global.get $heap))
    (global.set $heap (i32.add (global.get $heap) (i32.and (i32.add (local.get $size) (i32.const 7)) (i32.const -8))))
    (local.get $p))
  (func (export "proxy_on_vm_start") (param i32 i32) (result i32) (i32.const 1))
  (func (export "proxy_on_configure") (param i32 i32) (result i32) (i32.const 1))
  (func (export "proxy_on_context_create") (param i32 i32))
  (func $show (param $path i32) (param $size i32)
    (if (i32.eqz (call $get (local.get $path) (local.get $size) (i32.const 0x300) (i32.const 0x304)))
      (then (drop (call $log (i32.const 2) (i32.load (i32.const 0x300)) (i32.load (i32.const 0x304)))))
      (else (drop (call $log (i32.const 2) (i32.const 0x400) (i32.const 7))))))
  (func (export "proxy_on_response_headers") (param i32 i32 i32) (result i32)
    (call $show (i32.const 0x100) (i32.const 27))
    (call $show (i32.const 0x200) (i32.const 30))
    (call $show (i32.const 0x280) (i32.const 27))
    (i32.const 0))
  (func (export "proxy_on_done") (param i32) (result i32) (i32.const 1))
  (func (export "proxy_on_delete") (param i32)))
