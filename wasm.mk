# Building proxy-wasm modules from a Swift package with Embedded Swift for
# wasm32. This repository's Makefile includes it, and so can a plugin package
# that depends on the SDK (Examples/HelloPlugin shows one):
#
#   PROXY_WASM_SWIFT ?= path/to/this/repository
#   include $(PROXY_WASM_SWIFT)/wasm.mk
#   hello.wasm: $(PROXY_WASM_TOOLSET)
#   	$(call proxy-wasm-build,hello,$@,build/hello.build.log)
#
# Needs Swift 6.3 with the Embedded stdlib for wasm32 (`swiftc` on PATH) and
# Debian's wasi-libc, libclang-rt-dev-wasm32 and binaryen.
#
# Compiler flags (a toolset file, because SwiftPM cannot scope flags to the
# wasm triple in Package.swift):
#   Embedded, Extern    Embedded Swift; `@_extern(wasm)` imports
#   -wmo                required by Embedded Swift (SwiftPM debug is not WMO)
#   -disable-stack-protector   nothing provides __stack_chk_* without libc startup
#   -nostdlib, --no-wasm-opt   the clang driver must not add crt1.o/-lc or run
#                       wasm-opt itself; we link exactly what we list and run
#                       wasm-opt explicitly
#   -inline-threshold=0, -sil-inline-caller-benefit-reduction-factor 4
#                       inline less than -Osize does (LLVM's and Swift's own
#                       inliners): 2-3% smaller modules (stats.wasm 207.9 ->
#                       201.4 KB) for 1-3% more operators per request
# Linker flags:
#   --no-entry          a reactor: no _start/main; crt1-reactor.o gives _initialize
#   --gc-sections       drop unused functions
#   --strip-all         no name/debug sections in the shipped module
#   --stack-first       stack below data: an overflow traps instead of
#                       silently overwriting globals
#   -lc                 Debian's wasi-libc: mem*, arc4random_buf (-> WASI
#                       random_get, which Envoy provides); the heap is the SDK's
#   (no UnicodeDataTables: the SDK's runtime answers String's table lookups
#   so that strings compare and hash by their UTF-8 bytes, as Envoy compares
#   them; Plugins/ProxyWasmRuntime/unicode_bytes.c says how)
#   compiler-rt         __multi3 & co. for 64-bit overflow checks
# Optimisation: -Osize, then wasm-opt -Oz, keeping large functions apart:
# binaryen inlines a function with a single caller whatever its size (stats'
# configure grew into one 31 KB function), and V8's optimising compiler, which
# Envoy runs on every function before the first request, needs memory that
# grows with the largest function; the allocator keeps that peak for the life
# of the process (14 MB of RSS per Envoy for stats.wasm). Past 200 binaryen IR
# nodes a single-caller function stays a call.

PROXY_WASM_MK     := $(abspath $(lastword $(MAKEFILE_LIST)))
SWIFT             ?= swift
PROXY_WASM_SWIFTC := $(shell command -v swiftc 2>/dev/null)
PROXY_WASM_SWIFT_ROOT := $(abspath $(dir $(realpath $(PROXY_WASM_SWIFTC)))/..)
WASM_TRIPLE       := wasm32-unknown-none-wasm
WASM_SCRATCH      ?= .build-wasm
EMBEDDED_STDLIB   := $(PROXY_WASM_SWIFT_ROOT)/lib/swift/embedded/$(WASM_TRIPLE)
WASI_LIBC         := /usr/lib/wasm32-wasi
COMPILER_RT        = $(firstword $(wildcard /usr/lib/llvm-*/lib/clang/*/lib/wasi/libclang_rt.builtins-wasm32.a))
PROXY_WASM_TOOLSET ?= build/toolset-embedded-wasm32.json

WASM_OPT_FLAGS    := -Oz --one-caller-inline-max-function-size=200
# wasm-ld drops the target_features section with --strip-all, and binaryen 108
# then assumes MVP; these are the features the Swift/LLVM output uses.
WASM_OPT_FEATURES := --enable-bulk-memory --enable-sign-ext --enable-mutable-globals \
                     --enable-nontrapping-float-to-int --enable-multivalue --enable-reference-types

$(PROXY_WASM_TOOLSET): $(PROXY_WASM_MK)
	@mkdir -p $(dir $@)
	@[ -d "$(EMBEDDED_STDLIB)" ] || { echo "no Embedded Swift stdlib for $(WASM_TRIPLE) under $(PROXY_WASM_SWIFT_ROOT)"; exit 1; }
	@[ -f "$(WASI_LIBC)/crt1-reactor.o" ] || { echo "no wasi-libc in $(WASI_LIBC) (Debian package wasi-libc)"; exit 1; }
	@[ -n "$(COMPILER_RT)" ] || { echo "no compiler-rt for wasm32 (Debian package libclang-rt-dev-wasm32)"; exit 1; }
	@printf '%s\n' \
	  '{' \
	  '  "schemaVersion": "1.0",' \
	  '  "swiftCompiler": { "extraCLIOptions": [' \
	  '    "-enable-experimental-feature", "Embedded", "-enable-experimental-feature", "Extern",' \
	  '    "-wmo", "-Xfrontend", "-disable-stack-protector", "-Xcc", "-ffreestanding",' \
	  '    "-Xllvm", "-inline-threshold=0", "-Xfrontend", "-sil-inline-caller-benefit-reduction-factor", "-Xfrontend", "4",' \
	  '    "-Xclang-linker", "-nostdlib", "-Xclang-linker", "--no-wasm-opt" ] },' \
	  '  "cCompiler": { "extraCLIOptions": [ "-ffreestanding", "-fno-stack-protector" ] },' \
	  '  "linker": { "extraCLIOptions": [' \
	  '    "--no-entry", "--gc-sections", "--strip-all", "--stack-first", "-z", "stack-size=131072",' \
	  '    "$(WASI_LIBC)/crt1-reactor.o", "$(COMPILER_RT)",' \
	  '    "-L$(WASI_LIBC)", "-lc" ] }' \
	  '}' > $@

# The exports every module keeps: the memory, the start and ABI markers, the
# allocator and the context lifecycle the SDK's dispatcher needs.
PROXY_WASM_CORE_EXPORTS := memory _initialize proxy_abi_version_0_2_1 proxy_on_memory_allocate \
                           proxy_on_context_create proxy_on_vm_start proxy_on_configure proxy_on_delete

# $(call proxy-wasm-export-graph,NAMES): a wasm-metadce graph whose roots are
# the exports NAMES; every other export, and the code only it reached, goes.
proxy-wasm-comma := ,
proxy-wasm-export-graph = [$(subst } {,}$(proxy-wasm-comma) {,$(foreach name,$(1),{"name": "$(name)"$(proxy-wasm-comma) "root": true$(proxy-wasm-comma) "export": "$(name)"}))]

# $(call proxy-wasm-build,PRODUCT,OUTPUT.wasm,BUILD.log[,CALLBACKS]): builds the
# package's executable product PRODUCT for wasm32 and writes the optimised
# module; the compiler's output goes to BUILD.log, shown only on failure.
#
# CALLBACKS, if given, are the `proxy_on_*` callbacks the module exports
# besides PROXY_WASM_CORE_EXPORTS (without it: every callback the SDK has).
# Envoy does not enter a module for a callback it does not export, so a plugin
# that lists only the phases it handles costs no VM entry for the others (a
# body chunk, on_done, on_log); the dispatch code for them is dropped too. A
# callback the plugin overrides but does not list is never called: the build
# fails if a listed name is not an export of the SDK.
define proxy-wasm-build
mkdir -p $(dir $(2)) $(dir $(3)); \
$(SWIFT) build --triple $(WASM_TRIPLE) -c release --product $(1) \
  --scratch-path $(WASM_SCRATCH) --toolset $(PROXY_WASM_TOOLSET) -Xswiftc -Osize > $(3) 2>&1 \
  || { cat $(3); exit 1; }; \
$(if $(strip $(4)),\
  printf '%s\n' '$(call proxy-wasm-export-graph,$(PROXY_WASM_CORE_EXPORTS) $(4))' > $(WASM_SCRATCH)/$(1).exports.json; \
  wasm-metadce $(WASM_OPT_FEATURES) $(WASM_SCRATCH)/release/$(1).wasm -f $(WASM_SCRATCH)/$(1).exports.json \
    -o $(WASM_SCRATCH)/$(1).exported.wasm >> $(3) 2>&1 || { cat $(3); exit 1; }; \
  exports=$$(wasm-objdump -x -j Export $(WASM_SCRATCH)/$(1).exported.wasm); \
  for name in $(PROXY_WASM_CORE_EXPORTS) $(4); do \
    printf '%s\n' "$$exports" | grep -q -- "-> \"$$name\"" || { echo "$(1): $$name is not an export of the module"; exit 1; }; \
  done; \
  wasm-opt $(WASM_OPT_FEATURES) $(WASM_OPT_FLAGS) $(WASM_SCRATCH)/$(1).exported.wasm -o $(2),\
  wasm-opt $(WASM_OPT_FEATURES) $(WASM_OPT_FLAGS) $(WASM_SCRATCH)/release/$(1).wasm -o $(2))
endef
