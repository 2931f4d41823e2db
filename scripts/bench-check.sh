#!/usr/bin/env bash
# Measures one verify-full check of a loopback server, side by side in one run:
#   pgtls check  vs  openssl s_client -starttls postgres (same verification)  vs  psql -c 'select 1'
# and prints the mean wall times and the ratios. Installs hyperfine and PostgreSQL if missing.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-postgres.sh
if ! command -v hyperfine >/dev/null; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq hyperfine >/dev/null
fi
cargo build --locked --release --quiet
source scripts/local-server.sh
start_local_server "$(mktemp -d /tmp/pgtls-bench-XXXXXX)"

conninfo="host=localhost port=$PGTLS_PORT user=postgres dbname=postgres sslmode=verify-full sslrootcert=$PGTLS_ROOT"
export PGTLS_CONNINFO=$conninfo
out=$(mktemp)
HOME=/nonexistent hyperfine --warmup 10 --runs "${RUNS:-100}" -N --export-json "$out" \
    -n pgtls "target/release/pgtls check '$conninfo'" \
    -n "openssl s_client" "openssl s_client -quiet -no_ign_eof -starttls postgres -connect 127.0.0.1:$PGTLS_PORT -servername localhost -verify_return_error -verify_hostname localhost -CAfile $PGTLS_ROOT" \
    -n psql "psql '$conninfo' -Atqc 'select 1'" >/dev/null
python3 - "$out" <<'PY'
import json, sys
results = {r["command"]: r for r in json.load(open(sys.argv[1]))["results"]}
pgtls = results["pgtls"]["mean"]
for name, r in results.items():
    print(f"{name:18} mean {r['mean']*1000:7.2f} ms  (± {r['stddev']*1000:.2f}, median {r['median']*1000:.2f}, {len(r['times'])} runs)")
print(f"pgtls / openssl s_client = {pgtls / results['openssl s_client']['mean']:.2f}")
print(f"pgtls / psql             = {pgtls / results['psql']['mean']:.2f}")
PY
