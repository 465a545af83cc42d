// The plugins' heap: a segregated-fit allocator replacing wasi-libc's
// dlmalloc in every module.
//
// Why: Embedded Swift allocates every object and array through
// posix_memalign, which dlmalloc serves by over-allocating and trimming
// (internal_memalign + dispose_chunk); measured in WasmKit, one allocation
// cost ~2,000 wasm operators and a request made ~60 of them. Here an
// allocation is a free-list pop or a bump, and a free is a push: a few dozen
// operators, in a fraction of dlmalloc's code size.
//
// Layout: every block starts with a 16-byte header (size class, magic), so
// user pointers are 16-byte aligned, the most any Swift type needs. Sizes up
// to 256 bytes round to multiples of 16; larger ones to four classes per
// power of two (at most 25% slack). Freed blocks go to their class's list and
// serve the next allocation of that class; memory comes from a bump region
// grown with memory.grow (wasm memory never shrinks, under dlmalloc either).
// A block is never split or merged, so the heap holds at most each class's
// peak use: the plugins' caches are bounded and per-request memory is freed
// when the request ends.
//
// A pointer whose header is not ours (a double free, a stray pointer) traps
// instead of corrupting the lists.
//
// The core works on an arena given by its caller, so the same code is
// tested natively (`proxy_wasm_test_*`, used by the Swift tests) and linked
// into the modules as malloc/free/calloc/realloc/posix_memalign/aligned_alloc.

#include <stddef.h>
#include <stdint.h>

#include "ProxyWasmRuntime.h"

#define HEADER_SIZE 16u
#define SMALL_LIMIT 256u
#define SMALL_CLASSES 16u                 // 16, 32, ..., 256
#define CLASS_COUNT (SMALL_CLASSES + 4u * 24u)  // up to 2^32 in quarter powers
#define MAGIC_IN_USE 0x5A11C0DEu
#define MAGIC_FREE 0xF4EEB10Cu
#define MAGIC_ALIGNED 0xA119EDu

typedef struct header {
    uint32_t size_class;
    uint32_t magic;
    uint32_t offset;   // MAGIC_ALIGNED: bytes back to the underlying block's user pointer
    uint32_t reserved;
} header_t;

typedef struct free_block {
    struct free_block *next;
} free_block_t;

typedef struct arena {
    uintptr_t bump;     // next unused byte (16-byte aligned)
    uintptr_t end;      // end of the memory obtained so far
    // Returns the new end after growing by at least `bytes`, or 0.
    uintptr_t (*grow)(struct arena *arena, size_t bytes);
    free_block_t *free_lists[CLASS_COUNT];
} arena_t;

// The class of a request of `size` bytes, and the usable bytes of a class.
static uint32_t class_of(size_t size) {
    if (size <= SMALL_LIMIT) return size == 0 ? 0 : (uint32_t)((size - 1) >> 4);
    // size in (2^p, 2^(p+1)], p >= 8: four classes of 2^(p-2) each.
    size_t n = size - 1;
    uint32_t p = (uint32_t)(sizeof(size_t) * 8 - 1) - (uint32_t)__builtin_clzl(n);  // floor(log2(n)), n >= 256
    uint32_t quarter = (uint32_t)((n >> (p - 2)) & 3u);
    return SMALL_CLASSES + (p - 8u) * 4u + quarter;
}

static size_t class_size(uint32_t size_class) {
    if (size_class < SMALL_CLASSES) return ((size_t)size_class + 1) << 4;
    uint32_t index = size_class - SMALL_CLASSES;
    uint32_t p = 8u + index / 4u;
    size_t quarter = (size_t)1 << (p - 2);
    return ((size_t)1 << p) + quarter * ((index % 4u) + 1);
}

static void *arena_malloc(arena_t *arena, size_t size) {
    if (size > (size_t)0x7FFFFFF0u - HEADER_SIZE) return NULL;
    uint32_t size_class = class_of(size);
    if (size_class >= CLASS_COUNT) return NULL;
    free_block_t *block = arena->free_lists[size_class];
    header_t *header;
    if (block != NULL) {
        arena->free_lists[size_class] = block->next;
        header = (header_t *)((uintptr_t)block - HEADER_SIZE);
    } else {
        size_t total = HEADER_SIZE + class_size(size_class);
        if (arena->end - arena->bump < total) {
            if (arena->grow == NULL || arena->grow(arena, total) == 0 || arena->end - arena->bump < total) return NULL;
        }
        header = (header_t *)arena->bump;
        arena->bump += total;
        header->size_class = size_class;
        header->offset = 0;
        header->reserved = 0;
    }
    header->magic = MAGIC_IN_USE;
    return (void *)((uintptr_t)header + HEADER_SIZE);
}

// The header of the block `pointer` was returned for, following an aligned
// allocation back to its underlying block; traps on anything else.
static header_t *owned_header(void *pointer) {
    header_t *header = (header_t *)((uintptr_t)pointer - HEADER_SIZE);
    if (header->magic == MAGIC_ALIGNED) header = (header_t *)((uintptr_t)pointer - header->offset - HEADER_SIZE);
    if (header->magic != MAGIC_IN_USE || header->size_class >= CLASS_COUNT) __builtin_trap();
    return header;
}

static void arena_free(arena_t *arena, void *pointer) {
    if (pointer == NULL) return;
    header_t *header = owned_header(pointer);
    header_t *own = (header_t *)((uintptr_t)pointer - HEADER_SIZE);
    if (own != header) own->magic = 0;  // an aligned pointer: its marker dies with the block
    header->magic = MAGIC_FREE;
    free_block_t *block = (free_block_t *)((uintptr_t)header + HEADER_SIZE);
    block->next = arena->free_lists[header->size_class];
    arena->free_lists[header->size_class] = block;
}

static size_t usable_size(void *pointer) {
    header_t *header = owned_header(pointer);
    uintptr_t start = (uintptr_t)header + HEADER_SIZE;
    return class_size(header->size_class) - ((uintptr_t)pointer - start);
}

static void *arena_realloc(arena_t *arena, void *pointer, size_t size) {
    if (pointer == NULL) return arena_malloc(arena, size);
    size_t usable = usable_size(pointer);
    if (size <= usable) return pointer;
    void *moved = arena_malloc(arena, size);
    if (moved == NULL) return NULL;
    __builtin_memcpy(moved, pointer, usable);
    arena_free(arena, pointer);
    return moved;
}

static void *arena_calloc(arena_t *arena, size_t count, size_t size) {
    size_t total;
    if (__builtin_mul_overflow(count, size, &total)) return NULL;
    void *pointer = arena_malloc(arena, total);
    if (pointer != NULL) __builtin_memset(pointer, 0, total);
    return pointer;
}

static void *arena_aligned(arena_t *arena, size_t alignment, size_t size) {
    if (alignment <= HEADER_SIZE) return arena_malloc(arena, size);
    if ((alignment & (alignment - 1)) != 0 || size > (size_t)0x7FFFFFF0u - alignment - HEADER_SIZE) return NULL;
    // Room to move the pointer up to the alignment and still have a header before it.
    uintptr_t base = (uintptr_t)arena_malloc(arena, size + alignment + HEADER_SIZE);
    if (base == 0) return NULL;
    uintptr_t aligned = (base + HEADER_SIZE + alignment - 1) & ~(uintptr_t)(alignment - 1);
    header_t *header = (header_t *)(aligned - HEADER_SIZE);
    header->magic = MAGIC_ALIGNED;
    header->offset = (uint32_t)(aligned - base);
    header->size_class = 0;
    header->reserved = 0;
    return (void *)aligned;
}

#if defined(__wasm32__)

extern unsigned char __heap_base;

static uintptr_t wasm_grow(arena_t *arena, size_t bytes) {
    // At least 1 MiB at a time: memory.grow is a host call, and a fresh page
    // range stays contiguous with the bump region.
    size_t want = bytes - (arena->end - arena->bump);
    if (want < (1u << 20)) want = 1u << 20;
    size_t pages = (want + 65535u) >> 16;
    size_t previous = __builtin_wasm_memory_grow(0, pages);
    if (previous == (size_t)-1) {
        pages = ((bytes - (arena->end - arena->bump)) + 65535u) >> 16;  // retry with just enough
        previous = __builtin_wasm_memory_grow(0, pages);
        if (previous == (size_t)-1) return 0;
    }
    if (previous * 65536u != arena->end) arena->bump = previous * 65536u;  // someone else grew memory
    arena->end = (previous + pages) * 65536u;
    return arena->end;
}

static arena_t heap;

static arena_t *wasm_heap(void) {
    if (heap.grow == NULL) {
        heap.grow = wasm_grow;
        heap.bump = ((uintptr_t)&__heap_base + 15u) & ~(uintptr_t)15u;
        heap.end = __builtin_wasm_memory_size(0) * 65536u;
        if (heap.end < heap.bump) heap.end = heap.bump;
    }
    return &heap;
}

void *malloc(size_t size) { return arena_malloc(wasm_heap(), size); }
void free(void *pointer) { arena_free(wasm_heap(), pointer); }
void *calloc(size_t count, size_t size) { return arena_calloc(wasm_heap(), count, size); }
void *realloc(void *pointer, size_t size) { return arena_realloc(wasm_heap(), pointer, size); }
void *aligned_alloc(size_t alignment, size_t size) { return arena_aligned(wasm_heap(), alignment, size); }
size_t malloc_usable_size(void *pointer) { return pointer == NULL ? 0 : usable_size(pointer); }

int posix_memalign(void **result, size_t alignment, size_t size) {
    if (alignment < sizeof(void *) || (alignment & (alignment - 1)) != 0) return 22;  // EINVAL
    void *pointer = arena_aligned(wasm_heap(), alignment, size);
    if (pointer == NULL) return 12;  // ENOMEM
    *result = pointer;
    return 0;
}

#else

// Native builds: the same allocator over a caller's buffer, for the tests.
static arena_t test_arena;

void proxy_wasm_test_arena_reset(void *memory, size_t size) {
    __builtin_memset(&test_arena, 0, sizeof(test_arena));
    uintptr_t start = ((uintptr_t)memory + 15u) & ~(uintptr_t)15u;
    test_arena.bump = start;
    test_arena.end = (uintptr_t)memory + size;
    if (test_arena.end < start) test_arena.end = start;
}

void *proxy_wasm_test_malloc(size_t size) { return arena_malloc(&test_arena, size); }
void proxy_wasm_test_free(void *pointer) { arena_free(&test_arena, pointer); }
void *proxy_wasm_test_realloc(void *pointer, size_t size) { return arena_realloc(&test_arena, pointer, size); }
void *proxy_wasm_test_calloc(size_t count, size_t size) { return arena_calloc(&test_arena, count, size); }
void *proxy_wasm_test_aligned(size_t alignment, size_t size) { return arena_aligned(&test_arena, alignment, size); }
size_t proxy_wasm_test_usable_size(void *pointer) { return usable_size(pointer); }
size_t proxy_wasm_test_class_size(size_t size) {
    uint32_t size_class = class_of(size);
    return size_class >= CLASS_COUNT ? 0 : class_size(size_class);
}

#endif
