#!/usr/bin/env bash
# Runs the GitHub Actions step of docs/ci.md the way a runner would, against a throwaway local
# server: see scripts/ci_example.py. Installs what it needs on a fresh machine.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-postgres.sh
if ! .venv/bin/python -c 'import yaml, junitparser' 2>/dev/null; then
    python3 -m venv .venv
    .venv/bin/pip install --quiet --disable-pip-version-check pyyaml junitparser
fi
source scripts/local-server.sh
start_local_server "$(mktemp -d /tmp/pgtls-ci-example-XXXXXX)"
.venv/bin/python scripts/ci_example.py
