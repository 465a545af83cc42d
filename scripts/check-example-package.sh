#!/usr/bin/env bash
# A plugin author's path, checked: Examples/HelloPlugin copied to a fresh
# directory outside the repository builds its module with one command
# (`make PROXY_WASM_SWIFT=<repository>`), the module validates as Envoy would
# load it, and it runs in the host: the configured header on each response,
# its counter counting them.
# Usage: scripts/check-example-package.sh HOST_BIN
set -euo pipefail
host=$(realpath "$1")
repository=$(pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir "$work/hello"
tar -C Examples/HelloPlugin --exclude=.build --exclude=.build-wasm --exclude=build --exclude=hello.wasm \
  --exclude=Package.resolved -cf - . | tar -C "$work/hello" -xf -
make --no-print-directory -C "$work/hello" PROXY_WASM_SWIFT="$repository"
"$host" validate "$work/hello/hello.wasm" > "$work/validate.txt" || { cat "$work/validate.txt"; exit 1; }
cat > "$work/scenario.yaml" <<YAML
proxies:
  - name: edge
    plugins: [{name: hello, module: $work/hello/hello.wasm, configuration: {greeting: hi there}}]
traffic:
  - http: {through: [edge], repeat: 3}
YAML
"$host" run "$work/scenario.yaml" --trace "$work/trace.jsonl" > "$work/run.txt"
grep -q '^hello_responses_total{} 3$' "$work/run.txt" || { echo "example: hello_responses_total is not 3"; cat "$work/run.txt"; exit 1; }
[ "$(grep '"name":"proxy_replace_header_map_value"' "$work/trace.jsonl" | grep -c '"key":"x-hello".*"value":"hi there"')" = 3 ] \
  || { echo "example: x-hello was not set on each response"; grep replace_header "$work/trace.jsonl" | head -3; exit 1; }
echo "example package: hello.wasm built outside the repository, validated, 3 responses stamped and counted"
