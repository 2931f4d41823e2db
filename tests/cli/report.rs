//! The shape of `check`'s output against a real server: the JSON fields scripts rely on, the
//! psql-style line, fingerprints as OpenSSL prints them, and multi-host reports.

use serde_json::Value;

use crate::harness::pgtls;
use crate::pki::{Ca, ServerCert};
use crate::server::{Server, Setup, Version, shared_tempdir};

struct Fixture {
    home: tempfile::TempDir,
    server: Server,
    leaf_pem: String,
}

fn fixture(version: Version) -> Fixture {
    let home = shared_tempdir();
    let root = Ca::root("pgtls report root");
    let inter = root.intermediate("pgtls report intermediate");
    let leaf = inter.server(&ServerCert::localhost());
    let server = Server::start(
        version,
        &Setup::tls(
            format!("{}{}", leaf.cert_pem, inter.cert_pem),
            leaf.key_pem.clone(),
        ),
    );
    std::fs::write(home.path().join("root.crt"), &root.cert_pem).unwrap();
    Fixture {
        home,
        server,
        leaf_pem: leaf.cert_pem,
    }
}

fn json(f: &Fixture, conninfo: &str) -> (i32, Value) {
    let out = pgtls(f.home.path())
        .args(["check", "--format", "json", conninfo])
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        serde_json::from_slice(&out.stdout).expect("check prints JSON"),
    )
}

fn openssl_fingerprint(pem: &str) -> String {
    let mut child = std::process::Command::new("openssl")
        .args(["x509", "-noout", "-fingerprint", "-sha256"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("openssl is installed");
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(pem.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    text.trim().rsplit('=').next().unwrap().to_string()
}

#[test]
fn json_has_the_documented_fields() {
    let f = fixture(Version::V17);
    let root = f.home.path().join("root.crt");
    let conninfo = format!(
        "{} sslmode=verify-full sslrootcert={}",
        f.server.conninfo(),
        root.display()
    );
    let (code, doc) = json(&f, &conninfo);
    assert_eq!(code, 0, "{doc}");
    assert_eq!(doc["schema_version"], 1);
    let t = &doc["targets"][0];
    assert_eq!(t["exit_code"], 0);
    assert_eq!(t["tls"]["protocol"], "TLSv1.3");
    let cipher = t["tls"]["cipher"].as_str().unwrap();
    assert!(
        cipher.starts_with("TLS_AES_") || cipher.starts_with("TLS_CHACHA20"),
        "{cipher}"
    );
    assert_eq!(
        t["tls"]["cipher_iana"], t["tls"]["cipher"],
        "TLS 1.3 names agree"
    );
    assert_eq!(t["tls"]["alpn"], "postgresql");
    assert_eq!(t["tls"]["sni"], "localhost");
    let certs = t["certificates"].as_array().unwrap();
    assert_eq!(certs.len(), 2, "leaf and intermediate, as presented");
    assert_eq!(certs[0]["sha256"], openssl_fingerprint(&f.leaf_pem));
    assert_eq!(
        certs[0]["sans"],
        serde_json::json!(["localhost", "127.0.0.1"])
    );
    assert_eq!(certs[1]["is_ca"], true);
    assert_eq!(t["trust"]["verified"], true);
    assert!(
        t["trust"]["anchor"]["subject"]
            .as_str()
            .unwrap()
            .contains("pgtls report root")
    );
    assert_eq!(t["host_name"]["result"], "matched");
    assert_eq!(t["server"]["answer"], "authentication_ok");
    assert!(t["findings"].is_array());
}

#[test]
fn a_tls_1_2_server_gets_openssl_and_iana_cipher_names() {
    let home = shared_tempdir();
    let root = Ca::root("pgtls tls12 root");
    let leaf = root.server(&ServerCert::localhost());
    let mut setup = Setup::tls(leaf.cert_pem, leaf.key_pem);
    setup
        .settings
        .push(("ssl_max_protocol_version", "TLSv1.2".into()));
    let server = Server::start(Version::V15, &setup);
    let out = pgtls(home.path())
        .args([
            "check",
            "--format",
            "json",
            &format!("{} sslmode=require", server.conninfo()),
        ])
        .output()
        .unwrap();
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    let tls = &doc["targets"][0]["tls"];
    assert_eq!(tls["protocol"], "TLSv1.2");
    assert_eq!(tls["cipher"], "ECDHE-ECDSA-AES256-GCM-SHA384", "{tls}");
    assert_eq!(
        tls["cipher_iana"],
        "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384"
    );
}

#[test]
fn text_starts_with_psqls_ssl_line() {
    let f = fixture(Version::V17);
    let conninfo = format!("{} sslmode=require", f.server.conninfo());
    let out = pgtls(f.home.path())
        .args(["check", &conninfo])
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    let line = text.lines().nth(1).unwrap();
    assert!(
        line.starts_with("SSL connection (protocol: TLSv1.3, cipher: TLS_"),
        "{text}"
    );
    assert!(
        line.ends_with(", compression: off, ALPN: postgresql)"),
        "{text}"
    );
    assert!(text.contains("chain not verified"), "{text}");
    assert!(text.contains("hint: use sslmode=verify-full"), "{text}");
}

#[test]
fn every_host_is_checked_and_the_one_libpq_uses_is_named() {
    let f = fixture(Version::V15);
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let root = f.home.path().join("root.crt");
    let conninfo = format!(
        "host=localhost,127.0.0.1,localhost port={closed},{},{} user=postgres sslmode=verify-full sslrootcert={}",
        f.server.port,
        f.server.port,
        root.display()
    );
    let (code, doc) = json(&f, &conninfo);
    let targets = doc["targets"].as_array().unwrap();
    assert_eq!(targets.len(), 3);
    assert_eq!(targets[0]["exit_code"], 3);
    assert_eq!(targets[1]["exit_code"], 0);
    assert_eq!(
        targets[1]["host_name"]["result"], "matched",
        "127.0.0.1 matches the IP SAN"
    );
    assert_eq!(targets[2]["exit_code"], 0);
    assert_eq!(code, 3, "the exit code is the largest of the targets'");
    let out = pgtls(f.home.path())
        .args(["check", &conninfo])
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains("A libpq client with this string connects to target 2 (127.0.0.1:"),
        "{text}"
    );
}

#[test]
fn direct_tls_is_refused_by_postgresql_15_and_accepted_by_17_and_18() {
    let v15 = fixture(Version::V15);
    let v17 = fixture(Version::V17);
    let v18 = fixture(Version::V18);
    for (f, want) in [(&v15, 5), (&v17, 0), (&v18, 0)] {
        let conninfo = format!(
            "{} sslmode=require sslnegotiation=direct",
            f.server.conninfo()
        );
        let (code, doc) = json(f, &conninfo);
        assert_eq!(code, want, "{doc}");
        if want == 0 {
            assert_eq!(doc["targets"][0]["tls"]["negotiation"], "direct");
            assert_eq!(doc["targets"][0]["tls"]["alpn"], "postgresql");
        }
    }
    let out = pgtls(v17.home.path())
        .args([
            "check",
            &format!(
                "{} sslmode=prefer sslnegotiation=direct",
                v17.server.conninfo()
            ),
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("weak sslmode \"prefer\" may not be used with sslnegotiation=direct")
    );
}

#[test]
fn connect_timeout_bounds_a_silent_server() {
    let home = shared_tempdir();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let start = std::time::Instant::now();
    let out = pgtls(home.path())
        .args([
            "check",
            &format!("host=127.0.0.1 port={port} sslmode=require connect_timeout=2"),
        ])
        .output()
        .unwrap();
    let elapsed = start.elapsed();
    assert_eq!(out.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&out.stdout).contains("timeout expired"));
    assert!(
        elapsed >= std::time::Duration::from_secs(2) && elapsed < std::time::Duration::from_secs(4),
        "{elapsed:?}"
    );
    let start = std::time::Instant::now();
    let out = pgtls(home.path())
        .args([
            "check",
            "--timeout",
            "1",
            &format!("host=127.0.0.1 port={port} sslmode=require"),
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    assert!(
        start.elapsed() < std::time::Duration::from_secs(3),
        "--timeout applies when connect_timeout is unset"
    );
    drop(listener);
}

#[test]
fn a_unix_socket_is_checked_without_tls_as_libpq_connects() {
    let f = fixture(Version::V15);
    let conninfo = format!(
        "host={} port={} user=postgres sslmode=require",
        f.server.socket_dir().display(),
        f.server.port
    );
    let (code, doc) = json(&f, &conninfo);
    assert_eq!(code, 0, "{doc}");
    let t = &doc["targets"][0];
    assert_eq!(t["kind"], "unix_socket");
    assert_eq!(t["encrypted"], false);
    assert_eq!(t["tls"], Value::Null);
    assert!(
        t["findings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["code"] == "unix_socket"),
        "{t}"
    );
    let verdict = crate::harness::libpq_connect(f.home.path(), &[conninfo]);
    assert_eq!(verdict[0]["ok"], true);
    assert_eq!(verdict[0]["ssl"], false);
}

#[test]
fn the_json_names_the_host_libpq_ends_up_on_for_each_string() {
    let f = fixture(Version::V15);
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let first = format!(
        "host=127.0.0.1,localhost port={closed},{} user=postgres sslmode=require",
        f.server.port
    );
    let second = format!(
        "host=localhost port={} user=postgres sslmode=disable",
        f.server.port
    );
    let out = pgtls(f.home.path())
        .args(["check", "--format", "json", &first, &second])
        .output()
        .unwrap();
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    let picks: Vec<(u64, bool)> = doc["targets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["conninfo"].as_u64().unwrap(),
                t["libpq_uses"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(picks, [(0, false), (0, true), (1, true)]);
}

#[test]
fn exit_on_libpq_gates_on_the_host_a_libpq_client_ends_up_on() {
    let f = fixture(Version::V15);
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let port = f.server.port;
    // (strings, exit code with every host, exit code as libpq)
    let table: [(Vec<String>, i32, i32); 3] = [
        // The first host is down; libpq connects to the second.
        (
            vec![format!(
                "host=127.0.0.1,localhost port={closed},{port} user=postgres sslmode=require"
            )],
            3,
            0,
        ),
        // No host connects: the largest of the string's hosts' codes.
        (
            vec![format!(
                "host=127.0.0.1,localhost port={closed},{port} user=postgres sslmode=verify-full sslrootcert={}",
                f.home.path().join("no-such-root.crt").display()
            )],
            3,
            3,
        ),
        // Two strings: the worse of what each string's libpq client experiences.
        (
            vec![
                format!(
                    "host=localhost,127.0.0.1 port={port},{closed} user=postgres sslmode=disable"
                ),
                format!("host=127.0.0.1 port={closed} user=postgres sslmode=disable"),
            ],
            3,
            3,
        ),
    ];
    for (strings, all, libpq) in table {
        for (exit_on, want) in [("all", all), ("libpq", libpq)] {
            let out = pgtls(f.home.path())
                .args(["check", "--format", "json", "--exit-on", exit_on])
                .args(&strings)
                .output()
                .unwrap();
            assert_eq!(
                out.status.code(),
                Some(want),
                "--exit-on {exit_on} {strings:?}"
            );
        }
    }
}

#[test]
fn exit_0_without_encryption_or_verification_is_a_warning_that_fail_on_warning_gates() {
    // What the README says of exit 0: a connection as the sslmode asks, which may be without
    // encryption (prefer, a server without TLS) or without a verified certificate (require); each
    // is a warning, and --fail-on warning turns it into exit 9.
    let home = shared_tempdir();
    let leaf = Ca::root("pgtls gate root").server(&ServerCert::localhost());
    let tls = Server::start(Version::V15, &Setup::tls(leaf.cert_pem, leaf.key_pem));
    let plain = Server::start(
        Version::V15,
        &Setup {
            ssl: false,
            cert: None,
            ..Setup::tls(String::new(), String::new())
        },
    );
    // (port, sslmode, the warning)
    let table = [
        (plain.port, "prefer", "plaintext"),
        (tls.port, "require", "chain_not_verified"),
    ];
    for (port, mode, code) in table {
        let conninfo = format!("host=localhost port={port} user=postgres sslmode={mode}");
        let out = pgtls(home.path())
            .args(["check", "--format", "json", &conninfo])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0), "{mode}");
        let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
        let findings = doc["targets"][0]["findings"].as_array().unwrap().clone();
        assert!(
            findings
                .iter()
                .any(|f| f["code"] == code && f["severity"] == "warning"),
            "{mode}: {findings:?}"
        );
        let gated = pgtls(home.path())
            .args(["check", "--fail-on", "warning", &conninfo])
            .output()
            .unwrap();
        assert_eq!(gated.status.code(), Some(9), "{mode}");
    }
}

#[test]
fn a_refused_connection_keeps_libpqs_question_whether_the_server_is_running() {
    let home = shared_tempdir();
    let port = crate::server::free_port();
    let conninfo = format!("host=127.0.0.1 port={port} user=postgres sslmode=disable");
    let libpq = &crate::harness::libpq_connect(home.path(), std::slice::from_ref(&conninfo))[0];
    let question = "Is the server running on that host and accepting TCP/IP connections?";
    assert!(
        libpq["error"]
            .as_str()
            .unwrap_or_default()
            .contains(question),
        "{libpq}"
    );
    let out = pgtls(home.path())
        .args(["check", "--format", "json", &conninfo])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    let summary = doc["targets"][0]["summary"].as_str().unwrap();
    assert!(
        summary.ends_with(&format!("Connection refused. {question}")),
        "{summary}"
    );
}

/// A bare `pgtls check` goes where psql goes without a host, the default Unix socket; when
/// nothing listens there, the hint says that no host was given, and a named host never gets it.
#[test]
fn a_bare_check_that_fails_on_the_default_socket_says_no_host_was_given() {
    let home = shared_tempdir();
    let port = crate::server::free_port().to_string();
    let hint = |args: &[&str]| {
        let out = pgtls(home.path())
            .env("PGPORT", &port)
            .args(["check", "--format", "json"])
            .args(args)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(3));
        let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
        doc["targets"][0]["findings"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["code"] == "unreachable")
            .map(|f| f["hint"].clone())
            .unwrap()
    };
    let bare = hint(&[]);
    assert!(
        bare.as_str()
            .unwrap_or_default()
            .starts_with("no host was given (no host= in the string, no PGHOST in the environment), so libpq tried its default socket directory /var/run/postgresql"),
        "{bare}"
    );
    assert_eq!(hint(&["host=/var/run/postgresql"]), Value::Null);
}
