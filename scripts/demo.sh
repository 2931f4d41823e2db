#!/usr/bin/env bash
# Shows the main job: starts a throwaway TLS PostgreSQL with its own CA, then runs `pgtls check`
# against it in several sslmodes, good and bad. Installs what it needs on a fresh machine.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-postgres.sh
cargo build --locked --release --quiet
source scripts/local-server.sh
start_local_server "$(mktemp -d /tmp/pgtls-demo-XXXXXX)"
pgtls=target/release/pgtls
base="host=localhost port=$PGTLS_PORT user=postgres"

run() {
    echo
    echo "\$ pgtls check \"$1\""
    set +e
    $pgtls check "$1"
    echo "(exit code $?)"
    set -e
}

run "$base sslmode=verify-full sslrootcert=$PGTLS_ROOT"
run "$base sslmode=require"
run "host=127.0.0.2 hostaddr=127.0.0.1 port=$PGTLS_PORT user=postgres sslmode=verify-full sslrootcert=$PGTLS_ROOT"
run "$base sslmode=verify-full sslrootcert=/etc/ssl/certs/ca-certificates.crt"
run "$base sslmode=prefer sslrootcert=/etc/ssl/certs/ca-certificates.crt"
