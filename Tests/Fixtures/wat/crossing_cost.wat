;; crossing_cost: makes one kind of host call N times on every request's
;; headers, so `BENCH_CROSSINGS=1 make bench-envoy` can price each crossing in
;; Envoy (against the same module making none). The plugin configuration is a
;; kind letter followed by N in decimal, e.g. "p20":
;;   n  no call (the baseline)
;;   p  proxy_get_property request.path   (found: Envoy calls back into the
;;      module's allocator for the value)
;;   u  proxy_get_property no_such.attribute (NotFound: no allocation)
;;   h  proxy_get_header_map_value :path  (found, allocates)
;;   c  proxy_increment_metric on a counter defined at configure
;;   r  proxy_record_metric on a histogram defined at configure
;;   e  proxy_call_foreign_function expr_evaluate of a list of seven request
;;      attributes created at configure (one allocation for the seven values)
(module
  (import "env" "proxy_get_buffer_bytes" (func $get_buffer (param i32 i32 i32 i32 i32) (result i32)))
  (import "env" "proxy_get_property" (func $get_property (param i32 i32 i32 i32) (result i32)))
  (import "env" "proxy_get_header_map_value" (func $get_header (param i32 i32 i32 i32 i32) (result i32)))
  (import "env" "proxy_define_metric" (func $define_metric (param i32 i32 i32 i32) (result i32)))
  (import "env" "proxy_increment_metric" (func $increment_metric (param i32 i64) (result i32)))
  (import "env" "proxy_record_metric" (func $record_metric (param i32 i64) (result i32)))
  (import "env" "proxy_call_foreign_function" (func $foreign (param i32 i32 i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 2)
  (data (i32.const 16) "request\00path")             ;; 12 bytes
  (data (i32.const 32) "no_such\00attribute")        ;; 17 bytes
  (data (i32.const 64) ":path")                      ;; 5 bytes
  (data (i32.const 80) "crossing_cost_counter")      ;; 21 bytes
  (data (i32.const 112) "crossing_cost_histogram")   ;; 23 bytes
  (data (i32.const 144) "expr_create")               ;; 11 bytes
  (data (i32.const 160) "expr_evaluate")             ;; 13 bytes
  (data (i32.const 512) "[request.path, request.host, request.method, request.scheme, request.protocol, request.id, request.url_path]") ;; 108 bytes
  ;; 256: out pointer and size; 264: the configuration's address and size;
  ;; 272/276: the metric ids; 280: the expression's token. The allocator hands out memory from 1024 and
  ;; starts over on every request.
  (global $heap (mut i32) (i32.const 1024))
  (global $kind (mut i32) (i32.const 110))
  (global $count (mut i32) (i32.const 0))
  (func (export "proxy_abi_version_0_2_1"))
  (func (export "proxy_on_memory_allocate") (param $size i32) (result i32)
    (local $p i32)
    (local.set $p (global.get $heap))
    (global.set $heap (i32.add (global.get $heap) (i32.and (i32.add (local.get $size) (i32.const 7)) (i32.const -8))))
    (local.get $p))
  (func (export "proxy_on_vm_start") (param i32 i32) (result i32) (i32.const 1))
  (func (export "proxy_on_configure") (param $root i32) (param $size i32) (result i32)
    (local $at i32) (local $end i32) (local $digit i32)
    (drop (call $get_buffer (i32.const 7) (i32.const 0) (local.get $size) (i32.const 264) (i32.const 268)))
    (local.set $at (i32.load (i32.const 264)))
    (local.set $end (i32.add (local.get $at) (i32.load (i32.const 268))))
    (global.set $kind (i32.load8_u (local.get $at)))
    (global.set $count (i32.const 0))
    (block $done
      (loop $digits
        (local.set $at (i32.add (local.get $at) (i32.const 1)))
        (br_if $done (i32.ge_u (local.get $at) (local.get $end)))
        (local.set $digit (i32.sub (i32.load8_u (local.get $at)) (i32.const 48)))
        (br_if $done (i32.gt_u (local.get $digit) (i32.const 9)))
        (global.set $count (i32.add (i32.mul (global.get $count) (i32.const 10)) (local.get $digit)))
        (br $digits)))
    (drop (call $define_metric (i32.const 0) (i32.const 80) (i32.const 21) (i32.const 272)))
    (drop (call $define_metric (i32.const 2) (i32.const 112) (i32.const 23) (i32.const 276)))
    (if (i32.eq (global.get $kind) (i32.const 101))  ;; e
      (then
        (drop (call $foreign (i32.const 144) (i32.const 11) (i32.const 512) (i32.const 108) (i32.const 256) (i32.const 260)))
        (i32.store (i32.const 280) (i32.load (i32.load (i32.const 256))))))
    (global.set $heap (i32.const 1024))
    (i32.const 1))
  (func (export "proxy_on_context_create") (param i32 i32))
  (func (export "proxy_on_request_headers") (param i32 i32 i32) (result i32)
    (local $i i32)
    (global.set $heap (i32.const 1024))
    (block $done
      (loop $calls
        (br_if $done (i32.ge_u (local.get $i) (global.get $count)))
        (if (i32.eq (global.get $kind) (i32.const 112))  ;; p
          (then (drop (call $get_property (i32.const 16) (i32.const 12) (i32.const 256) (i32.const 260)))))
        (if (i32.eq (global.get $kind) (i32.const 117))  ;; u
          (then (drop (call $get_property (i32.const 32) (i32.const 17) (i32.const 256) (i32.const 260)))))
        (if (i32.eq (global.get $kind) (i32.const 104))  ;; h
          (then (drop (call $get_header (i32.const 0) (i32.const 64) (i32.const 5) (i32.const 256) (i32.const 260)))))
        (if (i32.eq (global.get $kind) (i32.const 99))   ;; c
          (then (drop (call $increment_metric (i32.load (i32.const 272)) (i64.const 1)))))
        (if (i32.eq (global.get $kind) (i32.const 101))  ;; e
          (then (drop (call $foreign (i32.const 160) (i32.const 13) (i32.const 280) (i32.const 4) (i32.const 256) (i32.const 260)))))
        (if (i32.eq (global.get $kind) (i32.const 114))  ;; r
          (then (drop (call $record_metric (i32.load (i32.const 276)) (i64.const 7)))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $calls)))
    (i32.const 0))
  (func (export "proxy_on_response_headers") (param i32 i32 i32) (result i32) (i32.const 0))
  (func (export "proxy_on_log") (param i32))
  (func (export "proxy_on_done") (param i32) (result i32) (i32.const 1))
  (func (export "proxy_on_delete") (param i32)))
