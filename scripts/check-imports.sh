#!/usr/bin/env bash
# Fails if a proxy-wasm module imports anything but `env.proxy_*` host calls
# and WASI functions, i.e. anything Envoy would refuse to link. (The host's
# `validate` command checks exact names and signatures; this is the build's
# quick guard.)
set -euo pipefail
module=$1
imports=$(wasm-objdump -x -j Import "$module" | sed -n 's/.*<- \([A-Za-z0-9_]*\)\.\([A-Za-z0-9_]*\)$/\1.\2/p')
bad=$(grep -Ev '^(env\.proxy_[a-z_]+|wasi_snapshot_preview1\.[a-z_]+)$' <<<"$imports" || true)
if [ -n "$bad" ]; then
  echo "$module imports functions Envoy does not provide:" >&2
  echo "$bad" | sed 's/^/  /' >&2
  exit 1
fi
printf '  %-28s imports: %s\n' "$module" "$(tr '\n' ' ' <<<"$imports")"
