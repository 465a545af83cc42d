// The answers the Embedded stdlib's String asks of its Unicode tables, given
// so that every String compares, hashes and orders by its UTF-8 bytes.
//
// Why: Envoy, Istio's filters and Prometheus compare label values, header
// values and property bytes as bytes. With the stdlib's tables, Swift's
// String == and hashing use canonical equivalence, so "café" spelled with
// U+00E9 and spelled with "e" + U+0301 would be one dictionary key, one
// label cache entry and one series, while the proxy and the dashboards see
// two. Linking the tables (libswiftUnicodeDataTables.a) also costs ~40 KB of
// data and lookup code in every module.
//
// What each answer means to the stdlib:
// - every scalar has canonical combining class 0 and is NFC- and NFD-quick-
//   check "yes" (the value ASCII gets without a lookup), so normalization is
//   the identity and comparison walks the scalars, i.e. the UTF-8 bytes
//   (UTF-8 preserves scalar order);
// - no scalar decomposes or composes;
// - no scalar has a grapheme-break property beyond "any", none is an
//   extended pictographic or an Indic consonant: a Character is one scalar
//   (CR LF stays one, by the stdlib's own rule), so `count` is bounded by the
//   scalar count and no peer-chosen sequence builds an unbounded Character.
//
// The definitions are weak, so that a module linking the stdlib's own tables
// object by object gets theirs instead.

#if defined(__wasm32__)

#include <stdbool.h>
#include <stdint.h>

__attribute__((weak)) uint16_t _swift_stdlib_getNormData(uint32_t scalar) {
    (void)scalar;
    return 0;  // combining class 0, NFC_QC yes, NFD_QC yes
}

// The decomposition table is never indexed (no scalar decomposes), but the
// stdlib reads this pointer's value, so it must point at something.
static const uint8_t no_decompositions[1] = {0};
__attribute__((weak)) const uint8_t *const _swift_stdlib_nfd_decompositions = no_decompositions;

__attribute__((weak)) uint32_t _swift_stdlib_getDecompositionEntry(uint32_t scalar) {
    // The entry's low 18 bits name the scalar it belongs to; an entry for
    // another scalar means "no decomposition". Below 2^18 the complement
    // differs in every bit; above, 18 bits cannot equal the scalar.
    return ~scalar & 0x3FFFF;
}

__attribute__((weak)) uint32_t _swift_stdlib_getComposition(uint32_t first, uint32_t second) {
    (void)first;
    (void)second;
    return UINT32_MAX;  // no composition
}

__attribute__((weak)) uint8_t _swift_stdlib_getGraphemeBreakProperty(uint32_t scalar) {
    (void)scalar;
    return 0xFF;  // .any
}

__attribute__((weak)) bool _swift_stdlib_isExtendedPictographic(uint32_t scalar) {
    (void)scalar;
    return false;
}

__attribute__((weak)) bool _swift_stdlib_isInCB_Consonant(uint32_t scalar) {
    (void)scalar;
    return false;
}

#endif
