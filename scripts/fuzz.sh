#!/usr/bin/env bash
# Runs every fuzz target for RUNS executions each (default 10 million) with cargo-fuzz, which it
# installs if missing. The targets build with the stable toolchain (no sanitizer). A crash stops
# the script with a non-zero exit code; libFuzzer leaves the input in fuzz/artifacts/TARGET/.
# Usage: bash scripts/fuzz.sh [TARGET ...]
set -euo pipefail
cd "$(dirname "$0")/../fuzz"
command -v cargo-fuzz >/dev/null || cargo install --locked cargo-fuzz
runs=${RUNS:-10000000}
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(conninfo service_file passfile certificates driver_strings)
log=$(mktemp)
trap 'rm -f "$log"' EXIT
for target in "${targets[@]}"; do
    mkdir -p "corpus/$target"
    echo "== $target: $runs runs"
    if ! cargo fuzz run --sanitizer none "$target" "corpus/$target" -- -runs="$runs" -max_len=65536 >"$log" 2>&1; then
        tail -n 40 "$log"
        echo "== $target: FAILED (the input is in fuzz/artifacts/$target/)"
        exit 1
    fi
    grep -E '^Done' "$log"
done
