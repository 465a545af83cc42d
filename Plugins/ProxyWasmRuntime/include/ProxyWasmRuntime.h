// C runtime glue for Embedded-Swift proxy-wasm modules: the heap
// (allocator.c), Hasher seeding and print (runtime.c). The libc symbols are
// compiled only for wasm32, so natively this target cannot replace the host's;
// natively it exposes the allocator over a caller's buffer for the tests.
#pragma once

#include <stddef.h>

#if !defined(__wasm32__)
/// Starts a fresh heap over `memory` (`size` bytes; nothing grows it).
void proxy_wasm_test_arena_reset(void *memory, size_t size);
void *proxy_wasm_test_malloc(size_t size);
void proxy_wasm_test_free(void *pointer);
void *proxy_wasm_test_realloc(void *pointer, size_t size);
void *proxy_wasm_test_calloc(size_t count, size_t size);
void *proxy_wasm_test_aligned(size_t alignment, size_t size);
size_t proxy_wasm_test_usable_size(void *pointer);
/// The usable bytes of the size class a request of `size` bytes gets (0 if too large).
size_t proxy_wasm_test_class_size(size_t size);
#endif
