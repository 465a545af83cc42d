#!/usr/bin/env bash
# Packs one release: the modules, their sha256 sums, each module as an OCI image
# layout (oci/<module>/, Istio's WasmPlugin format), LICENSE and CHANGELOG, in
# build/dist/istio-telemetry-swift-<version>/ and a reproducible tarball beside it.
# Usage: scripts/dist.sh WASM_DIR OUT_DIR
set -euo pipefail
wasm_dir=$1 out=$2
version=$(sed -n 's/.*{ "\([0-9][0-9.]*\)" }.*/\1/p' abi/ProjectVersion.swift)
[ -n "$version" ] || { echo "dist: no version in abi/ProjectVersion.swift" >&2; exit 1; }
name=istio-telemetry-swift-$version
rm -rf "$out/$name" "$out/$name.tar.gz"
mkdir -p "$out/$name"
for module in metadata_exchange stats telemetry; do
  cp "$wasm_dir/$module.wasm" "$out/$name/"
done
cp LICENSE CHANGELOG.md "$out/$name/"
for module in metadata_exchange stats telemetry; do
  python3 scripts/oci_image.py build "$wasm_dir/$module.wasm" "$out/$name/oci/$module" --ref "$version" > /dev/null
done
(cd "$out/$name" && sha256sum metadata_exchange.wasm stats.wasm telemetry.wasm > SHA256SUMS)
# Same bytes for the same inputs: fixed order, times and owners, no gzip timestamp.
tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -C "$out" -cf - "$name" | gzip -n > "$out/$name.tar.gz"
(cd "$out" && sha256sum "$name.tar.gz" > "$name.tar.gz.sha256")
echo "$out/$name.tar.gz"
