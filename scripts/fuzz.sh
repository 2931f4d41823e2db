#!/usr/bin/env bash
# Runs every fuzz target for RUNS executions each (default 10 million) with cargo-fuzz, which it
# installs if missing. The targets build with the stable toolchain (no sanitizer).
# Usage: bash scripts/fuzz.sh [TARGET ...]
set -euo pipefail
cd "$(dirname "$0")/../fuzz"
command -v cargo-fuzz >/dev/null || cargo install --locked cargo-fuzz
runs=${RUNS:-10000000}
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(conninfo service_file passfile certificates)
for target in "${targets[@]}"; do
    mkdir -p "corpus/$target"
    echo "== $target: $runs runs"
    cargo fuzz run --sanitizer none "$target" "corpus/$target" -- -runs="$runs" -max_len=65536 2>&1 | grep -E '^Done|crash|panicked' || true
done
