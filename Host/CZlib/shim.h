// zlib, for Envoy's `compress` / `uncompress` foreign functions.
#include <zlib.h>
