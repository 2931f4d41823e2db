#!/usr/bin/env bash
# Measures pgtls against the tools it replaces, side by side in one run, on a local TLS PostgreSQL:
#  1. one verify-full check: pgtls vs `openssl s_client -starttls postgres` (same verification)
#     vs `psql -c 'select 1'`, as mean wall times and ratios (hyperfine); and pgtls on a chain
#     its root file does not verify, which adds the trust diagnosis (the system store, every
#     provider profile's roots, Mozilla's);
#  2. throughput: 500 targets checked by one pgtls run vs the server's own connection capacity
#     measured by `pgbench -C` (a new TLS connection per transaction), as a ratio; and the CPU
#     (user+sys) pgtls spends per verified check against libpq's per connection in `pgbench -C`,
#     with Debian's libpq (OpenSSL 3.0) and with libpq 18 on OpenSSL 3.6 (post-quantum share);
#  3. one `check --audit` of the server;
#  4. peak memory (RSS) of one pgtls run over 1,000 targets;
#  5. `check --client all` (every driver's verdict) against a plain check of the same target, for
#     verify-full (one connection serves every client) and prefer (drivers also need plaintext);
#  6. `pgtls serve`: one /probe against the same `pgtls check`, and an exporter with 1,000
#     configured targets probed once, as Prometheus would each minute: how long the round takes,
#     the exporter's peak RSS and the CPU it uses between rounds;
#  7. fleets at a distance, through fleet-lab's proxy (50 ms each way): LATENCY_TARGETS (10,000)
#     targets on fleet-lab's stand-in endpoint at --concurrency 1000, against the ideal
#     (targets / concurrency) x round trips x 100 ms, with peak RSS and every result present
#     once; then 1,000 targets on the real server at --concurrency 90 (its max_connections is
#     100), whose verdicts must equal a serial run's.
# 8. the release binary's size, and with BUILD_TIME=1 a clean release build's time.
# Installs hyperfine and PostgreSQL if missing. RUNS sets hyperfine's run count (default 100).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-postgres.sh
if ! command -v hyperfine >/dev/null; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq hyperfine >/dev/null
fi
cargo build --locked --release --quiet
source scripts/local-server.sh
work=$(mktemp -d /tmp/pgtls-bench-XXXXXX)
chmod 755 "$work"
start_local_server "$work/server"
pgtls=$PWD/target/release/pgtls
conninfo="host=localhost port=$PGTLS_PORT user=postgres dbname=postgres sslmode=verify-full sslrootcert=$PGTLS_ROOT"
untrusted="host=localhost port=$PGTLS_PORT user=postgres dbname=postgres sslmode=verify-full sslrootcert=$PWD/certs/digicert-global-root-g2.pem"

echo "== one verify-full check (${RUNS:-100} runs each)"
HOME=/nonexistent hyperfine --warmup 10 --runs "${RUNS:-100}" -N --export-json "$work/one.json" \
    -n pgtls "$pgtls check '$conninfo'" \
    -n "openssl s_client" "openssl s_client -quiet -no_ign_eof -starttls postgres -connect 127.0.0.1:$PGTLS_PORT -servername localhost -verify_return_error -verify_hostname localhost -CAfile $PGTLS_ROOT" \
    -n psql "psql '$conninfo' -Atqc 'select 1'" >/dev/null
# Its exit code 6 is the verdict, hence -i.
HOME=/nonexistent hyperfine -i --warmup 10 --runs "${RUNS:-100}" -N --export-json "$work/untrusted.json" \
    -n "pgtls, untrusted chain" "$pgtls check '$untrusted'" >/dev/null
python3 - "$work/one.json" "$work/untrusted.json" <<'PY'
import json, sys
results = {r["command"]: r for f in sys.argv[1:] for r in json.load(open(f))["results"]}
for name, r in results.items():
    print(f"  {name:22} mean {r['mean']*1000:7.2f} ms  (± {r['stddev']*1000:.2f}, median {r['median']*1000:.2f})")
pgtls = results["pgtls"]["mean"]
print(f"  pgtls / openssl s_client = {pgtls / results['openssl s_client']['mean']:.2f}")
print(f"  pgtls / psql             = {pgtls / results['psql']['mean']:.2f}")
print(f"  untrusted / verified     = {results['pgtls, untrusted chain']['mean'] / pgtls:.2f}  (the trust diagnosis)")
PY

echo "== throughput: 500 targets vs pgbench -C"
for i in $(seq 500); do echo "$conninfo"; done > "$work/500.txt"
for i in $(seq 1000); do echo "$conninfo"; done > "$work/1000.txt"
echo 'select 1;' > "$work/select1.sql"
bin=${PGTLS_PG15_BIN:-/usr/lib/postgresql/15/bin}
pgbench_tps=$(HOME=/nonexistent "$bin/pgbench" -n -C -c 8 -j 2 -T 10 -f "$work/select1.sql" "$conninfo" 2>/dev/null \
    | sed -n 's/^tps = \([0-9.]*\).*/\1/p' | head -1)
python3 - "$pgtls" "$work/500.txt" "$work/1000.txt" "$pgbench_tps" "$bin/pgbench" "$conninfo" "$work/select1.sql" <<'PY'
import os, resource, shutil, subprocess, sys, time
pgtls, five_hundred, thousand, pgbench = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4])
pgbench_bin, conninfo, script = sys.argv[5], sys.argv[6], sys.argv[7]

def children_cpu():
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime

best = None
cpu_per_check = None
for _ in range(3):
    start, cpu = time.monotonic(), children_cpu()
    run = subprocess.run([pgtls, "check", "--format", "json", "--concurrency", "8", "--targets", five_hundred],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    elapsed, cpu = time.monotonic() - start, children_cpu() - cpu
    assert run.returncode == 0, run.returncode
    best = elapsed if best is None else min(best, elapsed)
    cpu_per_check = cpu / 500 if cpu_per_check is None else min(cpu_per_check, cpu / 500)
rate = 500 / best
print(f"  pgbench -C         {pgbench:8.1f} connections/s")
print(f"  pgtls, 500 targets {rate:8.1f} checks/s  ({best:.2f} s, best of 3)")
print(f"  pgtls / pgbench -C = {rate / pgbench:.2f}")
# CPU (user+sys) of the client side alone: pgtls per verified check (post-quantum key exchange
# included), libpq per connection as pgbench -C makes them (800 connections, best of 3).
libpq_cpu = None
for _ in range(3):
    cpu = children_cpu()
    subprocess.run([pgbench_bin, "-n", "-C", "-c", "8", "-j", "2", "-t", "100", "-f", script, conninfo],
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True,
                   env={**os.environ, "HOME": "/nonexistent"})
    per = (children_cpu() - cpu) / 800
    libpq_cpu = per if libpq_cpu is None else min(libpq_cpu, per)
print(f"  CPU per verified check: pgtls {cpu_per_check * 1000:.2f} ms, libpq (pgbench -C) {libpq_cpu * 1000:.2f} ms per connection = {cpu_per_check / libpq_cpu:.2f}x")
# The same with libpq 18 on OpenSSL 3.6 (PostgreSQL 18's pgbench in the Debian forky folder), whose
# first flight carries the post-quantum key share as pgtls's does.
forky = "/opt/pgtls/forky"
if os.path.exists(f"{forky}/usr/lib/postgresql/18/bin/pgbench"):
    root = conninfo.split("sslrootcert=")[1].split()[0]
    os.makedirs(f"{forky}/tmp/pgtls-bench", exist_ok=True)
    with open(root, "rb") as src, open(f"{forky}/tmp/pgtls-bench/root.crt", "wb") as dst:
        dst.write(src.read())
    with open(script, "rb") as src, open(f"{forky}/tmp/pgtls-bench/select1.sql", "wb") as dst:
        dst.write(src.read())
    inside = conninfo.replace(root, "/tmp/pgtls-bench/root.crt")
    pq_cpu = None
    for _ in range(3):
        cpu = children_cpu()
        subprocess.run([shutil.which("chroot"), forky, "/usr/lib/postgresql/18/bin/pgbench", "-n", "-C", "-c", "8", "-j", "2",
                        "-t", "100", "-f", "/tmp/pgtls-bench/select1.sql", inside],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True,
                       env={"PATH": "/usr/bin:/bin", "HOME": "/nonexistent"})
        per = (children_cpu() - cpu) / 800
        pq_cpu = per if pq_cpu is None else min(pq_cpu, per)
    print(f"  CPU per verified check: pgtls {cpu_per_check * 1000:.2f} ms, libpq 18 on OpenSSL 3.6 {pq_cpu * 1000:.2f} ms per connection = {cpu_per_check / pq_cpu:.2f}x")
print("== one --audit of a loopback server")
best = None
for _ in range(5):
    start = time.monotonic()
    subprocess.run([pgtls, "check", "--audit", "--format", "json", open(five_hundred).readline().strip()],
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    elapsed = time.monotonic() - start
    best = elapsed if best is None else min(best, elapsed)
print(f"  {best * 1000:.0f} ms (best of 5)")
print("== peak memory, 1,000 targets")
run = subprocess.run([pgtls, "check", "--format", "json", "--concurrency", "8", "--targets", thousand],
                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
assert run.returncode == 0, run.returncode
print(f"  peak RSS {resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024:.1f} MB")
PY

echo "== --client all vs a plain check (${RUNS:-100} runs each)"
prefer="host=localhost port=$PGTLS_PORT user=postgres dbname=postgres sslmode=prefer"
# node-postgres refuses the prefer target (it verifies like verify-full, and the CA is private):
# that verdict's exit code 6 is expected, hence -i.
HOME=/nonexistent hyperfine -i --warmup 10 --runs "${RUNS:-100}" -N --export-json "$work/clients.json" \
    -n "verify-full" "$pgtls check '$conninfo'" \
    -n "verify-full, --client all" "$pgtls check --client all '$conninfo'" \
    -n "prefer" "$pgtls check '$prefer'" \
    -n "prefer, --client all" "$pgtls check --client all '$prefer'" >/dev/null
python3 - "$work/clients.json" <<'PY'
import json, sys
results = {r["command"]: r["mean"] for r in json.load(open(sys.argv[1]))["results"]}
for mode in ["verify-full", "prefer"]:
    plain, every = results[mode], results[f"{mode}, --client all"]
    print(f"  {mode:12} plain {plain*1000:6.2f} ms, --client all {every*1000:6.2f} ms: {every / plain:.2f}x")
PY

echo "== pgtls serve: one /probe vs one check (${RUNS:-100} runs each, after 10 to warm up)"
serve_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
{
    echo "max_concurrent_probes = 16"
    for i in $(seq 1000); do
        printf '[targets.db%04d]\nconninfo = "%s"\n' "$i" "$conninfo"
    done
} > "$work/serve.toml"
HOME=/nonexistent "$pgtls" serve --config "$work/serve.toml" --listen "127.0.0.1:$serve_port" 2>"$work/serve.log" &
serve_pid=$!
for _ in $(seq 100); do
    curl -sf "http://127.0.0.1:$serve_port/-/ready" >/dev/null && break
    sleep 0.1
done
# The check as a process (hyperfine); the probe as Prometheus makes it, over a kept-alive
# connection (a new curl process would add its own start-up, about as long as the check).
HOME=/nonexistent hyperfine --warmup 10 --runs "${RUNS:-100}" -N --export-json "$work/serve.json" \
    -n "check" "$pgtls check '$conninfo'" >/dev/null
python3 - "$work/serve.json" "$serve_port" "${RUNS:-100}" <<'PY'
import http.client, json, statistics, sys, time
check = json.load(open(sys.argv[1]))["results"][0]["mean"]
connection = http.client.HTTPConnection("127.0.0.1", int(sys.argv[2]), timeout=30)
times = []
for i in range(10 + int(sys.argv[3])):
    start = time.monotonic()
    connection.request("GET", "/probe?target=db0001")
    body = connection.getresponse().read()
    assert b"probe_success 1" in body, body
    if i >= 10:
        times.append(time.monotonic() - start)
probe = statistics.mean(times)
print(f"  pgtls check {check*1000:6.2f} ms (a process), /probe {probe*1000:6.2f} ms (a scrape): {probe / check:.2f}x")
PY
python3 - "$serve_pid" "$serve_port" <<'PY'
import concurrent.futures, os, sys, time, urllib.request
pid, port = int(sys.argv[1]), sys.argv[2]
tick = os.sysconf("SC_CLK_TCK")
def cpu():
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / tick
def probe(i):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/probe?target=db{i:04d}", timeout=30) as r:
        return b"probe_success 1" in r.read()
print("== pgtls serve: 1,000 targets, one scrape round (Prometheus's default 10 scrapes at once)")
before = cpu()
start = time.monotonic()
with concurrent.futures.ThreadPoolExecutor(10) as pool:
    ok = sum(pool.map(probe, range(1, 1001)))
elapsed = time.monotonic() - start
used = cpu() - before
assert ok == 1000, ok
idle_start = cpu()
time.sleep(10)
idle = (cpu() - idle_start) / 10
rss = next(int(l.split()[1]) for l in open(f"/proc/{pid}/status") if l.startswith("VmHWM:"))
print(f"  1,000 probes in {elapsed:.1f} s, {used:.1f} s of CPU: {used / 60 * 100:.1f}% of one core over a minute")
print(f"  between rounds: {idle * 100:.2f}% of one core; peak RSS {rss / 1024:.1f} MB")
PY
kill "$serve_pid"

echo "== fleets at a distance: 100 ms round trips (fleet-lab proxy, 50 ms each way)"
cargo build --locked --release --quiet --example fleet-lab
lab=$PWD/target/release/examples/fleet-lab
(
    cd "$work"
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 \
        -keyout lab-ca.key -out lab-root.crt -subj "/CN=fleet-lab root" 2>/dev/null
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
        -keyout lab.key -out lab.csr -subj "/CN=localhost" 2>/dev/null
    printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\n' > lab-ext.cnf
    openssl x509 -req -in lab.csr -CA lab-root.crt -CAkey lab-ca.key -CAcreateserial -days 20 \
        -extfile lab-ext.cnf -out lab.crt 2>/dev/null
)
"$lab" endpoint --cert "$work/lab.crt" --key "$work/lab.key" > "$work/endpoint.addr" &
endpoint_pid=$!
python3 "$PWD/scripts/wait_for_line.py" "$work/endpoint.addr"
"$lab" proxy --to "$(cut -d' ' -f2 "$work/endpoint.addr")" --delay-ms 50 > "$work/proxy.addr" &
proxy_pid=$!
"$lab" proxy --to "127.0.0.1:$PGTLS_PORT" --delay-ms 50 > "$work/pg-proxy.addr" &
pg_proxy_pid=$!
python3 "$PWD/scripts/wait_for_line.py" "$work/proxy.addr" "$work/pg-proxy.addr"
python3 - "$pgtls" "$work" "${LATENCY_TARGETS:-10000}" "$PGTLS_PORT" "$PGTLS_ROOT" "$endpoint_pid" "$proxy_pid" <<'PY'
import json, os, resource, subprocess, sys, time
pgtls, work, targets, pg_port, pg_root = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5]
lab_pids = [int(p) for p in sys.argv[6:8]]
tick = os.sysconf("SC_CLK_TCK")
def lab_cpu():
    total = 0
    for pid in lab_pids:
        fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
        total += (int(fields[11]) + int(fields[12])) / tick
    return total
def port(name):
    return open(f"{work}/{name}").read().split()[1].rsplit(":", 1)[1]

def run(lines, concurrency, name):
    path = f"{work}/{name}.txt"
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.monotonic()
    out = subprocess.run([pgtls, "check", "--format", "jsonl", "--order", "input", "--concurrency", str(concurrency), "--targets", path],
                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env={"HOME": "/nonexistent"})
    elapsed = time.monotonic() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    results = [json.loads(l) for l in out.stdout.decode().splitlines()]
    assert sorted(r["conninfo"] for r in results) == list(range(len(lines))), "every result exactly once"
    return results, elapsed, cpu, after.ru_maxrss

line = f"host=localhost port={port('proxy.addr')} user=bench sslmode=verify-full sslrootcert={work}/lab-root.crt"
lab_before = lab_cpu()
results, elapsed, cpu, rss = run([line] * targets, 1000, "distance")
lab = lab_cpu() - lab_before
trips = results[0]["attempts"][0]["timings"]["round_trips"]
ideal = -(-targets // 1000) * trips * 0.1
ok = sum(r["exit_code"] == 0 for r in results)
cores = os.cpu_count()
floor = (cpu + lab) / cores
print(f"  {targets} targets on the stand-in, --concurrency 1000: {elapsed:.2f} s, {ok} OK")
print(f"  ideal ({targets} / 1000) x {trips} round trips x 100 ms = {ideal:.2f} s: {elapsed / ideal:.2f}x")
print(f"  pgtls used {cpu:.1f} s of CPU ({cpu / targets * 1000:.2f} ms per check); peak RSS {rss / 1024:.1f} MB")
# Proxy, stand-in and pgtls share this machine's cores: when their CPU time over the cores
# exceeds the network ideal, the run is bound by the machine, not by round trips.
print(f"  stand-in and proxy used {lab:.1f} s; all three over {cores} cores: {floor:.2f} s of CPU-bound floor")
print(f"  wall / max(ideal, CPU-bound floor) = {elapsed / max(ideal, floor):.2f}x")
line = f"host=localhost port={port('pg-proxy.addr')} user=postgres dbname=postgres sslmode=verify-full sslrootcert={pg_root}"
near = f"host=localhost port={pg_port} user=postgres dbname=postgres sslmode=verify-full sslrootcert={pg_root}"
far, elapsed, _, _ = run([line] * 1000, 90, "far")
serial, _, _, _ = run([near] * 1000, 1, "serial")
trips = far[0]["attempts"][0]["timings"]["round_trips"]
ideal = -(-1000 // 90) * trips * 0.1
same = all(a["exit_code"] == b["exit_code"] and a["summary"] == b["summary"] for a, b in zip(far, serial))
print(f"  1000 targets on PostgreSQL, --concurrency 90: {elapsed:.2f} s; ideal {ideal:.2f} s ({trips} round trips): {elapsed / ideal:.2f}x")
print(f"  verdicts equal to a serial run's: {same}")
assert same, "verdicts at a distance differ from a serial run's"
PY
kill "$endpoint_pid" "$proxy_pid" "$pg_proxy_pid"

echo "== the release binary"
echo "  size: $(stat -c %s "$pgtls" | awk '{printf "%.2f MB", $1 / 1e6}')"
# A clean release build takes minutes: BUILD_TIME=1 measures it, in a target directory of its own.
if [ "${BUILD_TIME:-0}" = 1 ]; then
    start=$(date +%s)
    CARGO_TARGET_DIR="$work/clean-target" cargo build --locked --release --quiet
    echo "  clean release build: $(( $(date +%s) - start )) s"
fi
