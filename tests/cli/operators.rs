//! Operators' questions, against real servers: did the server pick up the rotated certificate
//! (`--expect-cert`), and does its certificate cover every name clients use (`--also-names`).

use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::harness::finding;
use crate::harness::{libpq_connect, pgtls};
use crate::pki::{Ca, ServerCert};
use crate::server::{Server, Setup, Version, shared_tempdir};

fn write(dir: &Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path.display().to_string()
}

/// `pgtls check --format json ARGS`: the exit code and the first target.
fn check(home: &Path, args: &[&str]) -> (i32, Value) {
    crate::harness::first_target(pgtls(home).args(["check", "--format", "json"]).args(args))
}

/// The SHA-256 pgtls shows for the first certificate of a PEM file.
fn sha256(home: &Path, file: &str) -> String {
    let out = pgtls(home)
        .args(["inspect", "--format", "json", file])
        .output()
        .unwrap();
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    doc["files"][0]["certificates"][0]["sha256"]
        .as_str()
        .unwrap()
        .to_string()
}

#[test]
fn a_rotated_certificate_the_server_has_not_loaded_is_an_error_until_it_reloads() {
    let home = shared_tempdir();
    let dir = home.path();
    let ca = Ca::root("pgtls rotation root");
    let old = ca.server(&ServerCert::localhost());
    let new = ca.server(&ServerCert {
        serial: 2000,
        ..ServerCert::localhost()
    });
    let server = Server::start(
        Version::V15,
        &Setup::tls(old.cert_pem.clone(), old.key_pem.clone()),
    );
    let root = write(dir, "rotation-root.crt", &ca.cert_pem);
    let old_file = write(dir, "old.crt", &old.cert_pem);
    let new_file = write(dir, "new.crt", &new.cert_pem);
    // The chain form: the new leaf with the root after it (a server need not send its root).
    let new_chain = write(
        dir,
        "new-chain.crt",
        &format!("{}{}", new.cert_pem, ca.cert_pem),
    );
    let conninfo = format!(
        "host=localhost port={} user=postgres sslmode=verify-full sslrootcert={root}",
        server.port
    );

    // The new files are on disk; the server still serves the old certificate.
    server.rotate_files(&new.cert_pem, &new.key_pem);
    let (code, target) = check(dir, &["--expect-cert", &new_file, &conninfo]);
    assert_eq!(code, 9, "{target:#}");
    assert_eq!(target["certificates"][0]["sha256"], sha256(dir, &old_file));
    assert_eq!(target["expected_certificate"]["matches"], false);
    assert_eq!(
        target["expected_certificate"]["sha256"],
        sha256(dir, &new_file)
    );
    let differs = finding(&target, "served_certificate_differs").expect("the finding");
    assert_eq!(differs["severity"], "error");
    let message = differs["message"].as_str().unwrap();
    assert!(
        message.starts_with("the server serves \"CN=localhost\", SHA-256 ")
            && message.contains(&sha256(dir, &old_file))
            && message.contains(&format!(
                "not the certificate in {new_file} (\"CN=localhost\", SHA-256 {}",
                sha256(dir, &new_file)
            )),
        "{message}"
    );
    assert!(
        differs["hint"]
            .as_str()
            .unwrap()
            .contains("reload it (pg_ctl reload, or SELECT pg_reload_conf()"),
        "{differs}"
    );
    // The old file is what it serves: no finding, exit 0.
    let (code, target) = check(dir, &["--expect-cert", &old_file, &conninfo]);
    assert_eq!(code, 0, "{target:#}");
    assert_eq!(target["expected_certificate"]["matches"], true);
    assert!(finding(&target, "served_certificate_differs").is_none());

    // After a reload, the new one is served; libpq's connection says the same.
    server.sql("SELECT pg_reload_conf()");
    let started = Instant::now();
    let (code, target) = loop {
        let (code, target) = check(dir, &["--expect-cert", &new_chain, &conninfo]);
        if code == 0 || started.elapsed() > Duration::from_secs(10) {
            break (code, target);
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    assert_eq!(code, 0, "{target:#}");
    assert_eq!(target["expected_certificate"]["matches"], true);
    assert_eq!(target["certificates"][0]["sha256"], sha256(dir, &new_file));
    let libpq = &libpq_connect(dir, std::slice::from_ref(&conninfo))[0];
    assert_eq!(libpq["ok"], true, "{libpq}");

    // Text says it on a line of its own.
    let out = pgtls(dir)
        .args(["check", "--expect-cert", &old_file, &conninfo])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(9));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains(&format!("  expected     the server does NOT serve the certificate in {old_file} (\"CN=localhost\", SHA-256 ")),
        "{text}"
    );
}

#[test]
fn names_clients_use_are_checked_on_the_same_connection_as_each_client_checks_them() {
    let home = shared_tempdir();
    let dir = home.path();
    let ca = Ca::root("pgtls names root");
    let leaf = ca.server(&ServerCert {
        dns: vec!["localhost", "db-rw", "db-ro"],
        ..ServerCert::localhost()
    });
    let server = Server::start(Version::V15, &Setup::tls(leaf.cert_pem, leaf.key_pem));
    let root = write(dir, "names-root.crt", &ca.cert_pem);
    let string = |host: &str| {
        format!(
            "host={host} hostaddr=127.0.0.1 port={} user=postgres sslmode=verify-full sslrootcert={root}",
            server.port
        )
    };
    // libpq itself, one connection per name: db-rw and db-ro connect, db-pooler does not.
    let libpq = libpq_connect(
        dir,
        &[string("db-rw"), string("db-ro"), string("db-pooler")],
    );
    let connects: Vec<bool> = libpq.iter().map(|r| r["ok"] == true).collect();
    assert_eq!(connects, [true, true, false], "{libpq:?}");

    // Each client's own string for the name the application uses.
    let port = server.port;
    let strings = [
        (None, string("localhost")),
        (
            Some("pgjdbc"),
            format!(
                "jdbc:postgresql://localhost:{port}/postgres?user=postgres&sslmode=verify-full&sslrootcert={root}"
            ),
        ),
        (
            Some("pgx"),
            format!(
                "host=localhost port={port} user=postgres sslmode=verify-full sslrootcert={root}"
            ),
        ),
    ];
    for (client, conninfo) in &strings {
        let mut args = vec!["--also-names", "db-rw,db-ro", "--also-names", "db-pooler"];
        if let Some(client) = client {
            args.extend(["--client", client]);
        }
        args.push(conninfo);
        let (code, target) = check(dir, &args);
        assert_eq!(code, 9, "{client:?}: {target:#}");
        let covered: Vec<(String, bool)> = target["also_names"]
            .as_array()
            .unwrap()
            .iter()
            .map(|n| {
                (
                    n["name"].as_str().unwrap().to_string(),
                    n["covered"] == true,
                )
            })
            .collect();
        assert_eq!(
            covered,
            [
                ("db-rw".to_string(), true),
                ("db-ro".to_string(), true),
                ("db-pooler".to_string(), false)
            ],
            "{client:?}"
        );
        let refused = finding(&target, "name_not_covered").expect("the finding");
        let message = refused["message"].as_str().unwrap();
        let who = client.unwrap_or("libpq");
        assert!(
            message.starts_with(&format!("the certificate does not cover db-pooler: {who} with sslmode=verify-full would refuse it")),
            "{message}"
        );
    }
    let (code, _) = check(dir, &["--also-names", "db-rw", &string("localhost")]);
    assert_eq!(code, 0);

    // Per target in a targets file: each line's own names.
    let targets = write(
        dir,
        "names-targets.txt",
        &format!(
            "{}  # also-names=db-rw,db-ro\n{}  # also-names=db-pooler\n",
            string("localhost"),
            string("localhost")
        ),
    );
    let out = pgtls(dir)
        .args(["check", "--format", "json", "--targets", &targets])
        .output()
        .unwrap();
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    let codes: Vec<i64> = doc["targets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["exit_code"].as_i64().unwrap())
        .collect();
    assert_eq!(codes, [0, 9], "{doc:#}");
    assert_eq!(doc["targets"][1]["also_names"][0]["name"], "db-pooler");
}

/// The exporter: a target's `expect_cert` and `also_names` become metrics, and how long the
/// served certificate has differed from the expected one; after the server reloads, it matches.
#[test]
fn the_exporter_says_whether_and_how_long_a_target_serves_another_certificate() {
    use crate::serve::{Exporter, get, sample};
    let home = shared_tempdir();
    let dir = home.path();
    let ca = Ca::root("pgtls exporter rotation root");
    let old = ca.server(&ServerCert::localhost());
    let new = ca.server(&ServerCert {
        serial: 3000,
        ..ServerCert::localhost()
    });
    let server = Server::start(
        Version::V15,
        &Setup::tls(old.cert_pem.clone(), old.key_pem.clone()),
    );
    let root = write(dir, "exporter-root.crt", &ca.cert_pem);
    let new_file = write(dir, "exporter-new.crt", &new.cert_pem);
    server.rotate_files(&new.cert_pem, &new.key_pem);
    let config = write(
        dir,
        "serve.toml",
        &format!(
            "[targets.db]\nconninfo = \"host=localhost port={} user=postgres sslmode=verify-full sslrootcert={root}\"\nexpect_cert = \"{new_file}\"\nalso_names = [\"db-rw\"]\n",
            server.port
        ),
    );
    let exporter = Exporter::start(dir, &["--config", config.as_str()], &[]);
    let probe = || get(exporter.port, "/probe?target=db").1;
    let first = probe();
    assert_eq!(
        sample(&first, "pgtls_served_certificate_matches"),
        Some(0.0),
        "{first}"
    );
    assert_eq!(sample(&first, "probe_success"), Some(0.0), "{first}");
    assert_eq!(sample(&first, "pgtls_name_covered"), Some(0.0), "{first}");
    std::thread::sleep(Duration::from_millis(1100));
    let second = probe();
    let differs = sample(&second, "pgtls_served_certificate_differs_seconds").unwrap();
    assert!(differs >= 1.0, "{second}");

    server.sql("SELECT pg_reload_conf()");
    let started = Instant::now();
    let after = loop {
        let body = probe();
        if sample(&body, "pgtls_served_certificate_matches") == Some(1.0)
            || started.elapsed() > Duration::from_secs(10)
        {
            break body;
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    assert_eq!(
        sample(&after, "pgtls_served_certificate_matches"),
        Some(1.0),
        "{after}"
    );
    assert_eq!(
        sample(&after, "pgtls_served_certificate_differs_seconds"),
        Some(0.0),
        "{after}"
    );
    crate::serve::promtool_accepts(&after);
}

/// Chains built at test time whose CAs do not outlive what they sign, compared with libpq (which
/// connects to both today): the report names the certificate that expires first and warns of
/// the day the chain stops verifying.
#[test]
fn a_ca_or_root_that_expires_before_what_it_signs_is_a_warning_with_the_first_to_expire_named() {
    let home = shared_tempdir();
    let dir = home.path();
    // An intermediate that expires in 40 days under a long-lived root, the leaf valid a year.
    let root = Ca::root("pgtls lifetime root");
    let short = root.intermediate_until("pgtls short intermediate", 40);
    let leaf = short.server(&ServerCert::localhost());
    let chain = format!("{}{}", leaf.cert_pem, short.cert_pem);
    let first = Server::start(Version::V15, &Setup::tls(chain, leaf.key_pem));
    let root_file = write(dir, "lifetime-root.crt", &root.cert_pem);
    // A root that expires in 20 days, its leaf valid a year.
    let brief = Ca::root_valid("pgtls brief root", (-1, 20));
    let leaf = brief.server(&ServerCert::localhost());
    let second = Server::start(Version::V15, &Setup::tls(leaf.cert_pem, leaf.key_pem));
    let brief_file = write(dir, "brief-root.crt", &brief.cert_pem);

    let strings = [
        format!(
            "host=localhost port={} user=postgres sslmode=verify-full sslrootcert={root_file}",
            first.port
        ),
        format!(
            "host=localhost port={} user=postgres sslmode=verify-full sslrootcert={brief_file}",
            second.port
        ),
    ];
    let libpq = libpq_connect(dir, &strings);
    assert!(libpq.iter().all(|r| r["ok"] == true), "{libpq:?}");

    let (code, target) = check(dir, &[&strings[0]]);
    assert_eq!(code, 0, "{target:#}");
    assert_eq!(target["earliest_expiry"]["position"], 1);
    assert_eq!(
        target["earliest_expiry"]["subject"],
        "CN=pgtls short intermediate, O=pgtls tests"
    );
    let warning = finding(&target, "ca_expires_before_leaf").expect("the finding");
    assert_eq!(warning["severity"], "warning");
    assert!(
        warning["message"].as_str().unwrap().starts_with(
            "the CA \"CN=pgtls short intermediate, O=pgtls tests\" in the chain expires on "
        ),
        "{warning}"
    );
    assert!(finding(&target, "root_expires_before_chain").is_none());

    let (code, target) = check(dir, &[&strings[1]]);
    assert_eq!(code, 0, "{target:#}");
    assert_eq!(target["earliest_expiry"]["position"], 0);
    let warning = finding(&target, "root_expires_before_chain").expect("the finding");
    assert!(
        warning["message"].as_str().unwrap().starts_with(&format!(
            "the root \"CN=pgtls brief root, O=pgtls tests\" in {brief_file} that anchors the chain expires on "
        )),
        "{warning}"
    );

    // Every format names the first to expire: text, Prometheus, JUnit.
    let out = pgtls(dir).args(["check", &strings[0]]).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("  chain        (as presented; first to expire: 1, on "),
        "{text}"
    );
    let out = pgtls(dir)
        .args(["check", "--format", "prometheus", &strings[0]])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("position=\"1\",subject=\"CN=pgtls short intermediate, O=pgtls tests\"} 1"),
        "{text}"
    );
    let out = pgtls(dir)
        .args(["check", "--format", "junit", &strings[0]])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains(
            "first to expire: 1 &quot;CN=pgtls short intermediate, O=pgtls tests&quot; on "
        ),
        "{text}"
    );
}

/// `sslkeylogfile` (libpq 18), with libpq's file rules, compared with psycopg's libpq on the same
/// servers: the same labels per connection (TLS 1.3's five secrets, TLS 1.2's CLIENT_RANDOM), the
/// NSS key log format, a file created 0600 and appended to, and a file that cannot be opened a
/// warning on standard error while the check goes on.
#[test]
fn sslkeylogfile_logs_the_labels_libpq_logs_with_its_file_rules() {
    use std::collections::BTreeSet;
    use std::os::unix::fs::PermissionsExt;
    let home = shared_tempdir();
    let dir = home.path();
    let ca = Ca::root("pgtls keylog root");
    let leaf = ca.server(&ServerCert::localhost());
    let tls13 = Server::start(
        Version::V15,
        &Setup::tls(leaf.cert_pem.clone(), leaf.key_pem.clone()),
    );
    let mut setup = Setup::tls(leaf.cert_pem, leaf.key_pem);
    setup.settings = vec![("ssl_max_protocol_version", "TLSv1.2".to_string())];
    let tls12 = Server::start(Version::V15, &setup);
    let root = write(dir, "keylog-root.crt", &ca.cert_pem);
    let labels = |file: &Path| -> BTreeSet<String> {
        let text = std::fs::read_to_string(file).unwrap_or_default();
        for line in text.lines() {
            let fields: Vec<&str> = line.split(' ').collect();
            assert_eq!(fields.len(), 3, "{line}");
            assert_eq!(fields[1].len(), 64, "a 32-byte client random: {line}");
            assert!(
                fields[1..]
                    .iter()
                    .all(|f| f.chars().all(|c| c.is_ascii_hexdigit()))
            );
        }
        text.lines()
            .map(|l| l.split(' ').next().unwrap().to_string())
            .collect()
    };
    for (server, want) in [
        (
            &tls13,
            &[
                "CLIENT_HANDSHAKE_TRAFFIC_SECRET",
                "CLIENT_TRAFFIC_SECRET_0",
                "EXPORTER_SECRET",
                "SERVER_HANDSHAKE_TRAFFIC_SECRET",
                "SERVER_TRAFFIC_SECRET_0",
            ][..],
        ),
        (&tls12, &["CLIENT_RANDOM"][..]),
    ] {
        let ours = dir.join(format!("pgtls-{}.keys", server.port));
        let theirs = dir.join(format!("libpq-{}.keys", server.port));
        let string = |file: &Path| {
            format!(
                "host=localhost port={} user=postgres sslmode=verify-full sslrootcert={root} sslkeylogfile={}",
                server.port,
                file.display()
            )
        };
        let libpq = &libpq_connect(dir, &[string(&theirs)])[0];
        assert_eq!(libpq["ok"], true, "{libpq}");
        let (code, target) = check(dir, &[&string(&ours)]);
        assert_eq!(code, 0, "{target:#}");
        let want: BTreeSet<String> = want.iter().map(|s| s.to_string()).collect();
        assert_eq!(labels(&theirs), want, "libpq");
        assert_eq!(labels(&ours), want, "pgtls");
        let mode = std::fs::metadata(&ours).unwrap().permissions().mode();
        assert_eq!(mode & 0o077, 0, "created private: {mode:o}");
        // Appended, one connection's lines after another's.
        let before = std::fs::read_to_string(&ours).unwrap().lines().count();
        check(dir, &[&string(&ours)]);
        assert_eq!(
            std::fs::read_to_string(&ours).unwrap().lines().count(),
            2 * before
        );
    }
    // A directory where the file should be: libpq's warning, and the verdict stands.
    let out = pgtls(dir)
        .args([
            "check",
            &format!(
                "host=localhost port={} user=postgres sslmode=verify-full sslrootcert={root} sslkeylogfile={}",
                tls13.port,
                dir.display()
            ),
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains(&format!(
            "WARNING: could not open SSL key logging file \"{}\": Is a directory",
            dir.display()
        )),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
