// The few C symbols an Embedded-Swift module needs beyond what Debian's
// wasi-libc provides as we link it (memcmp, memcpy, memset); the heap is
// allocator.c's.
//
// arc4random_buf: seeds Swift's Hasher (every Dictionary/Set). wasi-libc's
// version asserts through fprintf, which drags stdio and four extra WASI
// imports into the module; this one asks WASI random_get directly (Envoy
// serves it from BoringSSL) and, should the host refuse, falls back to a
// splitmix64 stream seeded from the host clock: hash-flooding resistance is
// then reduced, but the plugin keeps working.
//
// putchar: Embedded Swift's print() writes one byte at a time through
// putchar. wasi-libc's putchar would pull in stdio and four more WASI
// imports (fd_write, fd_seek, fd_close, fd_fdstat_get); this one buffers a
// line and sends it to the host log with proxy_log at info level instead.

#if defined(__wasm32__)

#include "ProxyWasmRuntime.h"

__attribute__((import_module("env"), import_name("proxy_log")))
extern unsigned proxy_log(unsigned level, const unsigned char *message, unsigned long size);

__attribute__((import_module("wasi_snapshot_preview1"), import_name("random_get")))
extern unsigned short wasi_random_get(unsigned char *buffer, unsigned long length);

__attribute__((import_module("env"), import_name("proxy_get_current_time_nanoseconds")))
extern unsigned proxy_get_current_time_nanoseconds(unsigned long long *time);

static unsigned long long fallback_state;

static unsigned long long splitmix64(void) {
    unsigned long long z = (fallback_state += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

void arc4random_buf(void *buffer, unsigned long length) {
    unsigned char *bytes = (unsigned char *)buffer;
    // WASI caps one call at 64 KiB in Envoy; Hasher asks for 16 bytes.
    while (length > 0) {
        unsigned long chunk = length > 65536 ? 65536 : length;
        if (wasi_random_get(bytes, chunk) != 0) break;
        bytes += chunk;
        length -= chunk;
    }
    if (length == 0) return;
    if (fallback_state == 0) {
        unsigned long long now = 0;
        proxy_get_current_time_nanoseconds(&now);
        fallback_state = now ^ (unsigned long long)(unsigned long)buffer;
    }
    while (length > 0) {
        unsigned long long value = splitmix64();
        for (int i = 0; i < 8 && length > 0; i++, length--) *bytes++ = (unsigned char)(value >> (8 * i));
    }
}

#define LINE_CAPACITY 512
static unsigned char line[LINE_CAPACITY];
static unsigned long line_length;

static void flush_line(void) {
    if (line_length > 0) {
        proxy_log(2 /* info */, line, line_length);
        line_length = 0;
    }
}

int putchar(int c) {
    if (c == '\n') {
        flush_line();
        return c;
    }
    if (line_length == LINE_CAPACITY) flush_line();
    line[line_length++] = (unsigned char)c;
    return c;
}

#endif
