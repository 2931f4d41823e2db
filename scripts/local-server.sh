#!/usr/bin/env bash
# Starts a throwaway TLS-enabled PostgreSQL 15 on 127.0.0.1 with its own CA, for the demo and the
# benchmark. Source it, then call `start_local_server DIR`; it sets PGTLS_PORT and PGTLS_ROOT
# (the CA file clients should trust) and stops the server when the calling shell exits.
# Needs PostgreSQL 15 (bash scripts/install-postgres.sh) and openssl.

start_local_server() {
    local dir=$1
    local bin=${PGTLS_PG15_BIN:-/usr/lib/postgresql/15/bin}
    local run=()
    if [ "$(id -u)" = 0 ]; then
        run=(setpriv --reuid=postgres --regid=postgres --init-groups)
    fi
    mkdir -p "$dir"
    chmod 755 "$dir"
    (
        cd "$dir"
        openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 \
            -keyout ca.key -out root.crt -subj "/CN=pgtls demo root" 2>/dev/null
        openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
            -keyout server.key -out server.csr -subj "/CN=localhost" 2>/dev/null
        printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\n' > ext.cnf
        openssl x509 -req -in server.csr -CA root.crt -CAkey ca.key -CAcreateserial -days 20 \
            -extfile ext.cnf -out server.crt 2>/dev/null
        chmod 600 server.key
        mkdir data
    )
    if [ "$(id -u)" = 0 ]; then
        chown postgres "$dir" "$dir/data" "$dir/server.key" "$dir/server.crt"
    fi
    "${run[@]}" "$bin/initdb" -D "$dir/data" -U postgres -A trust --no-sync >/dev/null
    PGTLS_PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    PGTLS_ROOT=$dir/root.crt
    "${run[@]}" "$bin/pg_ctl" -D "$dir/data" -l "$dir/data/server.log" -w start -o \
        "-p $PGTLS_PORT -k $dir -c listen_addresses=127.0.0.1 -c ssl=on -c ssl_cert_file=$dir/server.crt -c ssl_key_file=$dir/server.key" >/dev/null
    trap "${run[*]} $bin/pg_ctl -D $dir/data -m immediate stop >/dev/null 2>&1; rm -rf $dir" EXIT
    export PGTLS_PORT PGTLS_ROOT
}
