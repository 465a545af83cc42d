;; cel_probe: calls Envoy's CEL foreign functions and logs what comes back, one value
;; per log line (a status or size as one character of 0-9A-Z, or the raw result bytes). At
;; configure: expr_create of six expressions (status, result size, token each) and of
;; unparsable text (status, size). On request headers: expr_evaluate of each token
;; (status, size, bytes). Tests/Envoy/test_cel_foreign_functions.py runs it in Envoy and in
;; the host and compares the lines.
(module
  (import "env" "proxy_call_foreign_function" (func $ff (param i32 i32 i32 i32 i32 i32) (result i32)))
  (import "env" "proxy_log" (func $log (param i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (global $heap (mut i32) (i32.const 8192))
  (data (i32.const 0x100) "expr_create")
  (data (i32.const 0x110) "expr_evaluate")
  (data (i32.const 0x120) "expr_delete")
  (data (i32.const 0x400) "request.host + 'x'")   ;; 18
  (data (i32.const 0x420) "1 + 2")                 ;; 5
  (data (i32.const 0x440) "request.nothing")       ;; 15
  (data (i32.const 0x460) "1 / 0")                 ;; 5
  (data (i32.const 0x480) "true")                  ;; 4
  (data (i32.const 0x4a0) "{'a': 'b'}")            ;; 10
  (data (i32.const 0x4c0) "((")                    ;; 2
  (data (i32.const 0x200) "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ")
  (func (export "proxy_abi_version_0_2_1"))
  (func (export "proxy_on_memory_allocate") (param $size i32) (result i32)
    (local $p i32)
    (local.set $p (global.get $heap))
    (global.set $heap (i32.add (global.get $heap) (i32.and (i32.add (local.get $size) (i32.const 7)) (i32.const -8))))
    (local.get $p))
  (func $digit (param $v i32) (drop (call $log (i32.const 2) (i32.add (i32.const 0x200) (local.get $v)) (i32.const 1))))
  (func $create (param $text i32) (param $n i32) (param $slot i32)
    (local $r i32)
    (i32.store (i32.const 0x304) (i32.const 0))
    (local.set $r (call $ff (i32.const 0x100) (i32.const 11) (local.get $text) (local.get $n) (i32.const 0x300) (i32.const 0x304)))
    (call $digit (local.get $r))
    (call $digit (i32.load (i32.const 0x304)))
    (if (i32.eq (i32.load (i32.const 0x304)) (i32.const 4))
      (then (i32.store (local.get $slot) (i32.load (i32.load (i32.const 0x300))))
            (call $digit (i32.load (local.get $slot))))))
  (func (export "proxy_on_vm_start") (param i32 i32) (result i32) (i32.const 1))
  (func (export "proxy_on_configure") (param i32 i32) (result i32)
    (call $create (i32.const 0x400) (i32.const 18) (i32.const 0x500))
    (call $create (i32.const 0x420) (i32.const 5) (i32.const 0x504))
    (call $create (i32.const 0x440) (i32.const 15) (i32.const 0x508))
    (call $create (i32.const 0x460) (i32.const 5) (i32.const 0x50c))
    (call $create (i32.const 0x480) (i32.const 4) (i32.const 0x510))
    (call $create (i32.const 0x4a0) (i32.const 10) (i32.const 0x514))
    (call $create (i32.const 0x4c0) (i32.const 2) (i32.const 0x518))
    (i32.const 1))
  (func (export "proxy_on_context_create") (param i32 i32))
  (func $eval (param $slot i32)
    (local $r i32)
    (i32.store (i32.const 0x304) (i32.const 0))
    (local.set $r (call $ff (i32.const 0x110) (i32.const 13) (local.get $slot) (i32.const 4) (i32.const 0x300) (i32.const 0x304)))
    (call $digit (local.get $r))
    (call $digit (i32.load (i32.const 0x304)))
    (if (i32.gt_u (i32.load (i32.const 0x304)) (i32.const 0))
      (then (drop (call $log (i32.const 2) (i32.load (i32.const 0x300)) (i32.load (i32.const 0x304)))))))
  (func (export "proxy_on_request_headers") (param i32 i32 i32) (result i32)
    (call $eval (i32.const 0x500))
    (call $eval (i32.const 0x504))
    (call $eval (i32.const 0x508))
    (call $eval (i32.const 0x50c))
    (call $eval (i32.const 0x510))
    (call $eval (i32.const 0x514))
    (i32.const 0)))
