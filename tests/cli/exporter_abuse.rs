//! `pgtls serve` against a scraper that means harm: ad hoc strings that try to use the exporter's
//! identity, files or privileges, a module that would weaken a configured target, host lists
//! that multiply connections, idle and dripping clients, floods of wrong passwords, and reloads
//! from web pages. Real PostgreSQL where the harm is done to a server; counting listeners where
//! only the number of connections matters.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use crate::pki::{Ca, ServerCert};
use crate::serve::{Exporter, counting_listener, get, http, sample, write};
use crate::server::{Server, Setup, Version, shared_tempdir};

/// A query string's value: every byte but unreserved ones percent-encoded.
fn encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn probe(exporter: &Exporter, target: &str) -> (u16, String) {
    get(exporter.port, &format!("/probe?target={}", encode(target)))
}

#[test]
fn ad_hoc_targets_never_act_as_the_exporter() {
    let home = shared_tempdir();
    let dir = home.path();
    let ca = Ca::root("pgtls exporter identity root");
    let leaf = ca.server(&ServerCert::localhost());
    let ca_file = write(dir, "client-ca.crt", &ca.cert_pem);
    crate::server::give_to_server_user(&ca_file);
    let mut setup = Setup::tls(leaf.cert_pem, leaf.key_pem);
    setup
        .settings
        .push(("ssl_ca_file", ca_file.display().to_string()));
    setup.settings.push(("log_connections", "on".to_string()));
    setup.hba = vec!["hostssl all exporter 127.0.0.1/32 cert"];
    let server = Server::start(Version::V15, &setup);
    server.sql("CREATE ROLE exporter LOGIN");
    // The exporter's own identity, where libpq looks for it by default.
    let client = ca.client("exporter");
    let dot = dir.join(".postgresql");
    std::fs::create_dir_all(&dot).unwrap();
    std::fs::write(dot.join("root.crt"), &ca.cert_pem).unwrap();
    std::fs::write(dot.join("postgresql.crt"), &client.cert_pem).unwrap();
    let key = dot.join("postgresql.key");
    std::fs::write(&key, &client.key_pem).unwrap();
    std::fs::set_permissions(&key, std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();
    // A password file and a service the exporter owns.
    let pgpass = dir.join(".pgpass");
    std::fs::write(&pgpass, "*:*:*:exporter:pgpass-secret\n").unwrap();
    std::fs::set_permissions(&pgpass, std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();
    let services = write(
        dir,
        "services.conf",
        "[billing]\nhost=localhost\npassword=service-secret\n",
    );
    let string = format!(
        "host=localhost port={} user=exporter dbname=postgres sslmode=verify-full",
        server.port
    );
    let config = write(
        dir,
        "serve.toml",
        &format!(
            "[allow_any_target]\nhosts = [\"localhost\"]\n[targets.own]\nconninfo = \"{string}\"\n"
        ),
    );
    let exporter = Exporter::start(
        dir,
        &["--config", config.to_str().unwrap()],
        &[("PGSERVICEFILE", services.to_str().unwrap())],
    );

    // The configured target logs in with the exporter's certificate.
    let (status, body) = get(exporter.port, "/probe?target=own");
    assert_eq!(
        (status, sample(&body, "probe_success")),
        (200, Some(1.0)),
        "{body}"
    );
    let authorized = "connection authorized: user=exporter";
    assert_eq!(
        server.log().matches(authorized).count(),
        1,
        "{}",
        server.log()
    );
    // The same string ad hoc offers no certificate: the server refuses it.
    let (status, body) = probe(&exporter, &string);
    assert_eq!(status, 200, "{body}");
    assert_eq!(sample(&body, "probe_success"), Some(0.0), "{body}");
    assert!(
        body.contains("pgtls_exit_code{") && body.contains("} 8"),
        "{body}"
    );
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(
        server.log().matches(authorized).count(),
        1,
        "{}",
        server.log()
    );

    // Keywords beyond where and how are refused before anything is read: the answers to a file
    // that exists and one that does not are the same.
    let refused = [
        ("options", "'-csearch_path=attacker,pg_catalog'"),
        ("replication", "database"),
        ("sslpassword", "GUESS-secret"),
        ("sslcertmode", "require"),
        ("oauth_client_secret", "oauth-secret"),
        ("gssencmode", "prefer"),
        ("passfile", pgpass.to_str().unwrap()),
        ("service", "billing"),
        ("sslcert", "/etc/passwd"),
        ("sslkeylogfile", "/tmp/keys"),
    ];
    for (keyword, value) in refused {
        let (status, body) = probe(&exporter, &format!("{string} {keyword}={value}"));
        assert_eq!(status, 400, "{keyword}: {body}");
        assert!(
            body.contains(&format!("{keyword} cannot be set")),
            "{keyword}: {body}"
        );
    }
    for (keyword, present, absent) in [
        ("passfile", pgpass.to_str().unwrap(), "/nonexistent/pgpass"),
        ("service", "billing", "nosuchservice"),
    ] {
        let answer = |value: &str| probe(&exporter, &format!("{string} {keyword}={value}"));
        assert_eq!(
            answer(present),
            answer(absent),
            "{keyword} tells what exists"
        );
    }
    // A driver's string, and secrets in a string that is not a target at all.
    let (status, body) = probe(
        &exporter,
        &format!(
            "jdbc:postgresql://localhost:{}/postgres?user=exporter",
            server.port
        ),
    );
    assert_eq!(status, 400, "{body}");
    for target in [
        "postgresql://exporter:uri-secret@db.example.com/postgres".to_string(),
        format!("{string} sslpassword=sslpassword-secret"),
        format!("{string} oauth_client_secret=oauth-secret"),
        "host=db.example.com password=plain-secret".to_string(),
    ] {
        let (status, body) = probe(&exporter, &target);
        assert!(status == 400 || status == 404, "{target}: {status} {body}");
        assert!(!body.contains("-secret"), "{target}: {body}");
    }
    let log = exporter.log_with("msg=\"probe refused\"", 17);
    for secret in [
        "uri-secret",
        "sslpassword-secret",
        "oauth-secret",
        "plain-secret",
        "GUESS-secret",
        "pgpass-secret",
        "service-secret",
    ] {
        assert!(!log.contains(secret), "{secret} in the log:\n{log}");
    }
}

#[test]
fn queries_name_pg_catalog_so_that_a_search_path_cannot_take_them_over() {
    let home = shared_tempdir();
    let ca = Ca::root("pgtls search path root");
    let leaf = ca.server(&ServerCert::localhost());
    let server = Server::start(Version::V15, &Setup::tls(leaf.cert_pem, leaf.key_pem));
    // An attacker's schema with a pg_stat_ssl view, a text type and an = operator, each of
    // which records that it ran.
    server.sql(
        "CREATE SCHEMA attacker; CREATE TABLE attacker.hits (what text);
         CREATE FUNCTION attacker.hit(what text) RETURNS boolean LANGUAGE sql
           AS $$ INSERT INTO attacker.hits VALUES (what) RETURNING true $$;
         CREATE VIEW attacker.pg_stat_ssl AS SELECT s.*, attacker.hit('view') AS hit
           FROM pg_catalog.pg_stat_ssl s;
         CREATE FUNCTION attacker.eq(integer, integer) RETURNS boolean LANGUAGE sql
           AS $$ SELECT attacker.hit('operator') AND $1 OPERATOR(pg_catalog.=) $2 $$;
         CREATE OPERATOR attacker.= (LEFTARG = integer, RIGHTARG = integer, FUNCTION = attacker.eq);",
    );
    let out = crate::harness::pgtls(home.path())
        .args(["check", "--format", "json"])
        .arg(format!(
            "host=localhost port={} user=postgres sslmode=require options='-csearch_path=attacker,pg_catalog'",
            server.port
        ))
        .output()
        .unwrap();
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let login = &doc["targets"][0]["login"];
    assert_eq!(login["authenticated"], true, "{doc}");
    assert!(
        login["server_tls"].is_object(),
        "the server's view was read: {doc}"
    );
    let hits = std::process::Command::new("psql")
        .args([
            "-XAtq",
            "-h",
            "127.0.0.1",
            "-p",
            &server.port.to_string(),
            "-U",
            "postgres",
        ])
        .args(["-c", "SELECT count(*) FROM attacker.hits"])
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&hits.stdout).trim(), "0");
}

#[test]
fn a_scrape_cannot_choose_another_module_for_a_configured_target() {
    let home = shared_tempdir();
    let dir = home.path();
    let (port, connections, _) = counting_listener(Duration::ZERO);
    let password = write(dir, "orders.password", "orders-secret\n");
    let config = write(
        dir,
        "serve.toml",
        &format!(
            "[modules.default]\nsslmode = \"verify-full\"\n[modules.legacy]\nsslmode = \"disable\"\n\
             [targets.orders]\nconninfo = \"host=127.0.0.1 port={port} user=app\"\npassword_file = \"{}\"\n",
            password.display()
        ),
    );
    let exporter = Exporter::start(dir, &["--config", config.to_str().unwrap()], &[]);
    let (status, body) = get(exporter.port, "/probe?target=orders&module=legacy");
    assert_eq!(status, 400, "{body}");
    assert!(
        body.contains("configured with module \"default\""),
        "{body}"
    );
    assert_eq!(connections.load(Ordering::SeqCst), 0);
    // Its own module, named or not, probes.
    for path in [
        "/probe?target=orders&module=default",
        "/probe?target=orders",
    ] {
        let (status, body) = get(exporter.port, path);
        assert_eq!(status, 200, "{path}: {body}");
    }
    assert!(connections.load(Ordering::SeqCst) >= 2);
}

/// `n` listeners on 127.0.0.1 that hold each connection for `hold`; their ports, the
/// connections they took in all, and the most open at once across all of them.
fn counting_listeners(n: usize, hold: Duration) -> (Vec<u16>, Arc<AtomicUsize>, Arc<AtomicUsize>) {
    let (total, peak, open) = (
        Arc::new(AtomicUsize::new(0)),
        Arc::new(AtomicUsize::new(0)),
        Arc::new(AtomicUsize::new(0)),
    );
    let ports = (0..n)
        .map(|_| {
            let listener = TcpListener::bind("127.0.0.1:0").unwrap();
            let port = listener.local_addr().unwrap().port();
            let (t, p, o) = (total.clone(), peak.clone(), open.clone());
            std::thread::spawn(move || {
                for stream in listener.incoming().flatten() {
                    t.fetch_add(1, Ordering::SeqCst);
                    p.fetch_max(o.fetch_add(1, Ordering::SeqCst) + 1, Ordering::SeqCst);
                    let o = o.clone();
                    std::thread::spawn(move || {
                        std::thread::sleep(hold);
                        o.fetch_sub(1, Ordering::SeqCst);
                        drop(stream);
                    });
                }
            });
            port
        })
        .collect();
    (ports, total, peak)
}

#[test]
fn ad_hoc_host_lists_are_capped_deduplicated_and_checked_a_few_at_a_time() {
    let home = shared_tempdir();
    let dir = home.path();
    let config = write(
        dir,
        "serve.toml",
        "[allow_any_target]\nhosts = [\"127.0.0.0/8\"]\n[modules.default]\ntimeout = 20\n",
    );
    let exporter = Exporter::start(dir, &["--config", config.to_str().unwrap()], &[]);

    // 3,000 copies of one host: one connection.
    let (port, connections, _) = counting_listener(Duration::ZERO);
    let hosts = vec!["127.0.0.1"; 3000].join(",");
    let (status, body) = probe(
        &exporter,
        &format!("host={hosts} port={port} sslmode=disable connect_timeout=2"),
    );
    assert_eq!(status, 200, "{body}");
    assert_eq!(connections.load(Ordering::SeqCst), 1);

    // Nine different hosts: refused, nothing connects.
    let (ports, total, peak) = counting_listeners(9, Duration::from_millis(500));
    let list = |ports: &[u16]| {
        let hosts = vec!["127.0.0.1"; ports.len()].join(",");
        let ports: Vec<String> = ports.iter().map(u16::to_string).collect();
        format!(
            "host={hosts} port={} sslmode=disable connect_timeout=5",
            ports.join(",")
        )
    };
    let (status, body) = probe(&exporter, &list(&ports));
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("9 hosts"), "{body}");
    assert_eq!(total.load(Ordering::SeqCst), 0);
    // Eight: each host once, four at a time.
    let (status, body) = probe(&exporter, &list(&ports[..8]));
    assert_eq!(status, 200, "{body}");
    assert_eq!(total.load(Ordering::SeqCst), 8);
    assert!(
        peak.load(Ordering::SeqCst) <= 4,
        "{} at once",
        peak.load(Ordering::SeqCst)
    );
}

/// A connection to the exporter from `source` (another loopback address than the scraper's).
fn connect_from(source: &str, to: u16) -> TcpStream {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let socket = tokio::net::TcpSocket::new_v4().unwrap();
        socket.bind(format!("{source}:0").parse().unwrap()).unwrap();
        let to: SocketAddr = format!("127.0.0.1:{to}").parse().unwrap();
        socket.connect(to).await.unwrap().into_std().unwrap()
    })
}

/// Whether the exporter has closed `stream` (reads end), waiting up to `within`.
fn closed_within(stream: &mut TcpStream, within: Duration) -> bool {
    stream.set_nonblocking(false).unwrap();
    stream.set_read_timeout(Some(within)).unwrap();
    let mut buf = [0u8; 256];
    loop {
        match stream.read(&mut buf) {
            Ok(0) => return true,
            // A 408 or 400 the server writes before closing.
            Ok(_) => continue,
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => return true,
            Err(_) => return false,
        }
    }
}

#[test]
fn idle_and_dripping_clients_cannot_hold_the_exporter() {
    let home = shared_tempdir();
    // 200 open files: 50 connections at once, the last 12 places kept for addresses that hold
    // fewer than 16.
    let exporter = Exporter::start_with_open_files(home.path(), &[], &[], 200);
    exporter.log_with("max_connections=50", 1);
    // More idle connections from one address than it may hold.
    let mut idle: Vec<TcpStream> = (0..250)
        .map(|_| connect_from("127.0.0.2", exporter.port))
        .collect();
    let started = Instant::now();
    let (status, _) = get(exporter.port, "/-/healthy");
    assert_eq!(status, 200);
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    // One that sends a byte a second.
    let mut drip = connect_from("127.0.0.3", exporter.port);
    let dripping = std::thread::spawn(move || {
        let started = Instant::now();
        for byte in b"GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\n" {
            if drip.write_all(&[*byte]).is_err() {
                break;
            }
            std::thread::sleep(Duration::from_secs(1));
        }
        started.elapsed()
    });
    // Every idle one is closed within the header deadline (10 s) and a little.
    let deadline = Instant::now() + Duration::from_secs(13);
    for (n, stream) in idle.iter_mut().enumerate() {
        let left = deadline
            .saturating_duration_since(Instant::now())
            .max(Duration::from_millis(10));
        assert!(
            closed_within(stream, left),
            "idle connection {n} still open"
        );
    }
    let dripped = dripping.join().unwrap();
    assert!(
        dripped < Duration::from_secs(15),
        "a dripping client held on for {dripped:?}"
    );
}

#[test]
fn wrong_passwords_neither_slow_a_remembered_one_nor_tell_which_users_exist() {
    let home = shared_tempdir();
    let dir = home.path();
    let hash = bcrypt::hash("scrape-pw", 8).unwrap();
    let config = write(
        dir,
        "serve.toml",
        &format!("[web.basic_auth_users]\nprometheus = \"{hash}\"\n"),
    );
    let exporter = Exporter::start(dir, &["--config", config.to_str().unwrap()], &[]);
    let basic = |credentials: &str| {
        use base64::Engine as _;
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(credentials)
        )
    };
    let timed = |credentials: &str| {
        let header = basic(credentials);
        let started = Instant::now();
        let (status, _) = http(
            exporter.port,
            "GET",
            "/metrics",
            &[("Authorization", &header)],
        );
        (status, started.elapsed())
    };
    assert_eq!(timed("prometheus:scrape-pw").0, 200);
    // An unknown user costs what a known one with a wrong password does.
    let median = |credentials: &str| {
        let mut times: Vec<Duration> = (0..5)
            .map(|_| {
                let (status, time) = timed(credentials);
                assert_eq!(status, 401, "{credentials}");
                time
            })
            .collect();
        times.sort();
        times[2]
    };
    let (known, unknown) = (median("prometheus:wrong"), median("nobody:wrong"));
    assert!(
        unknown * 2 > known && known * 2 > unknown,
        "known user {known:?}, unknown {unknown:?}"
    );
    // A flood of wrong passwords; the remembered credential stays fast meanwhile.
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let port = exporter.port;
    let flood: Vec<_> = (0..8)
        .map(|n| {
            let (stop, header) = (stop.clone(), basic(&format!("prometheus:wrong-{n}")));
            std::thread::spawn(move || {
                while !stop.load(Ordering::SeqCst) {
                    http(port, "GET", "/metrics", &[("Authorization", &header)]);
                }
            })
        })
        .collect();
    std::thread::sleep(Duration::from_millis(300));
    let mut times: Vec<Duration> = (0..20)
        .map(|_| {
            let (status, time) = timed("prometheus:scrape-pw");
            assert_eq!(status, 200);
            time
        })
        .collect();
    stop.store(true, Ordering::SeqCst);
    for thread in flood {
        thread.join().unwrap();
    }
    times.sort();
    assert!(
        times[10] < Duration::from_millis(100),
        "remembered credential during a flood: median {:?} (known {known:?})",
        times[10]
    );
}

#[test]
fn reloading_over_http_is_off_unless_enabled_and_never_from_a_web_page() {
    let home = shared_tempdir();
    let dir = home.path();
    let config = write(dir, "serve.toml", "max_concurrent_probes = 4\n");
    let off = Exporter::start(dir, &["--config", config.to_str().unwrap()], &[]);
    let (status, body) = http(off.port, "POST", "/-/reload", &[]);
    assert_eq!(status, 403, "{body}");
    assert!(body.contains("--enable-reload"), "{body}");

    let on = Exporter::start(
        dir,
        &["--config", config.to_str().unwrap(), "--enable-reload"],
        &[],
    );
    let cases: [(&[(&str, &str)], u16); 4] = [
        (&[], 200),
        (&[("Origin", "http://attacker.example")], 403),
        (&[("Sec-Fetch-Site", "cross-site")], 403),
        (&[("Content-Type", "text/plain"), ("Origin", "null")], 403),
    ];
    for (headers, want) in cases {
        let (status, body) = http(on.port, "POST", "/-/reload", headers);
        assert_eq!(status, want, "{headers:?}: {body}");
    }
    // A name that is not this machine's (DNS rebinding).
    let mut stream = TcpStream::connect(("127.0.0.1", on.port)).unwrap();
    stream
        .write_all(b"POST /-/reload HTTP/1.1\r\nHost: attacker.example:9819\r\nConnection: close\r\nContent-Length: 0\r\n\r\n")
        .unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 403"), "{answer}");
    let (_, metrics) = get(on.port, "/metrics");
    assert_eq!(
        sample(
            &metrics,
            "pgtls_exporter_requests_refused_total{reason=\"forbidden\"}"
        ),
        Some(4.0)
    );
}
