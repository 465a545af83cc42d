#!/usr/bin/env bash
# Checks what scripts/dist.sh packs: the sums verify, the modules are the
# built ones, the version is the host's, and packing again gives the same bytes.
# Usage: scripts/check-dist.sh WASM_DIR HOST_BIN
set -euo pipefail
wasm_dir=$1 host=$2
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
tarball=$(scripts/dist.sh "$wasm_dir" "$out")
version=$("$host" --version | awk '{print $2}')
[ "$(basename "$tarball")" = "istio-telemetry-swift-$version.tar.gz" ] || { echo "dist: $tarball is not version $version" >&2; exit 1; }
(cd "$out" && sha256sum -c --quiet "$(basename "$tarball").sha256")
mkdir "$out/unpacked"
tar -xzf "$tarball" -C "$out/unpacked"
dir=$out/unpacked/istio-telemetry-swift-$version
(cd "$dir" && sha256sum -c --quiet SHA256SUMS)
for module in metadata_exchange stats telemetry; do
  cmp -s "$dir/$module.wasm" "$wasm_dir/$module.wasm" || { echo "dist: $module.wasm differs from the build" >&2; exit 1; }
done
for module in metadata_exchange stats telemetry; do
  index=$dir/oci/$module/index.json
  [ -f "$index" ] || { echo "dist: no OCI layout for $module" >&2; exit 1; }
  grep -q "\"org.opencontainers.image.ref.name\":\"$version\"" "$index" || { echo "dist: $module image is not tagged $version" >&2; exit 1; }
done
[ "$(ls "$dir" | tr '\n' ' ')" = "CHANGELOG.md LICENSE SHA256SUMS metadata_exchange.wasm oci stats.wasm telemetry.wasm " ] \
  || { echo "dist: unexpected contents: $(ls "$dir")" >&2; exit 1; }
first=$(sha256sum < "$tarball")
sleep 1
scripts/dist.sh "$wasm_dir" "$out" > /dev/null
[ "$(sha256sum < "$tarball")" = "$first" ] || { echo "dist: packing twice gave different bytes" >&2; exit 1; }
echo "dist: $(basename "$tarball") verified (sums, contents, version $version, reproducible)"
