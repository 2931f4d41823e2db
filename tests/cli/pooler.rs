//! PgBouncer (Debian's, installed by scripts/test.sh) as a real part in front of PostgreSQL 15
//! and 18: client-side TLS with its own certificate, SCRAM, and a plaintext leg to the server.
//! Every verdict through it is libpq's on the same string; `channel_binding=require` is
//! predicted to fail and does fail in libpq; the report names the pooler.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::check::{MODES, compare_with_libpq};
use crate::harness::pgtls;
use crate::pki::{Ca, ServerCert};
use crate::server::{
    Server, Setup, Version, as_server_user, free_port, give_to_server_user, shared_tempdir,
};

/// A PgBouncer in front of a server, stopped on drop.
struct Bouncer {
    port: u16,
    dir: tempfile::TempDir,
    child: Child,
}

impl Drop for Bouncer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn write(dir: &Path, name: &str, text: &str, mode: u32) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
    give_to_server_user(&path);
    path
}

impl Bouncer {
    /// PgBouncer on a free port: TLS for clients that ask (`client_tls_sslmode = allow`) with
    /// `cert`/`key`, SCRAM for `scram_user`, session pooling, plaintext to `server`.
    fn start(server: &Server, cert: &str, key: &str) -> Bouncer {
        let dir = shared_tempdir();
        give_to_server_user(dir.path());
        let port = free_port();
        let d = dir.path();
        let cert_file = write(d, "bouncer.crt", cert, 0o644);
        let key_file = write(d, "bouncer.key", key, 0o600);
        let users = write(d, "userlist.txt", "\"scram_user\" \"scram-pw\"\n", 0o600);
        let config = format!(
            "[databases]\npostgres = host=127.0.0.1 port={server} dbname=postgres\n\n\
             [pgbouncer]\nlisten_addr = 127.0.0.1\nlisten_port = {port}\nunix_socket_dir =\n\
             auth_type = scram-sha-256\nauth_file = {users}\npool_mode = session\n\
             client_tls_sslmode = allow\nclient_tls_cert_file = {cert}\nclient_tls_key_file = {key}\n\
             server_tls_sslmode = disable\nlogfile = {log}\npidfile = {pid}\n",
            server = server.port,
            users = users.display(),
            cert = cert_file.display(),
            key = key_file.display(),
            log = d.join("pgbouncer.log").display(),
            pid = d.join("pgbouncer.pid").display(),
        );
        let ini = write(d, "pgbouncer.ini", &config, 0o644);
        let child = as_server_user(Path::new("/usr/sbin/pgbouncer"))
            .arg(&ini)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("pgbouncer runs (scripts/test.sh installs Debian's pgbouncer)");
        let mut bouncer = Bouncer { port, dir, child };
        bouncer.wait_ready();
        bouncer
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("pgbouncer.log")).unwrap_or_default()
    }

    fn wait_ready(&mut self) {
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(15) {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("pgbouncer exited with {status}:\n{}", self.log());
            }
            if std::net::TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!("pgbouncer did not listen within 15 s:\n{}", self.log());
    }
}

struct Fixture {
    home: tempfile::TempDir,
    server: Server,
    bouncer: Bouncer,
    root: PathBuf,
    other_root: PathBuf,
}

fn fixture(version: Version) -> Fixture {
    let home = shared_tempdir();
    let root = Ca::root("pgtls pooler root");
    let server_cert = root.server(&ServerCert::localhost());
    let mut setup = Setup::tls(server_cert.cert_pem, server_cert.key_pem);
    setup.hba = vec!["host all scram_user 127.0.0.1/32 scram-sha-256"];
    let server = Server::start(version, &setup);
    server.sql("CREATE ROLE scram_user LOGIN PASSWORD 'scram-pw'");
    // The pooler's own certificate, from the same root: what clients verify is the pooler's.
    let bouncer_cert = root.server(&ServerCert::localhost());
    let bouncer = Bouncer::start(&server, &bouncer_cert.cert_pem, &bouncer_cert.key_pem);
    let root_file = home.path().join("root.crt");
    std::fs::write(&root_file, &root.cert_pem).unwrap();
    let other_root = home.path().join("other-root.crt");
    std::fs::write(&other_root, Ca::root("not the pooler's root").cert_pem).unwrap();
    Fixture {
        home,
        server,
        bouncer,
        root: root_file,
        other_root,
    }
}

fn check_json(home: &Path, conninfo: &str) -> (i32, Value) {
    let out = pgtls(home)
        .args(["check", "--format", "json", "--timeout", "10", conninfo])
        .output()
        .unwrap();
    let doc: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|_| panic!("JSON from pgtls: {}", String::from_utf8_lossy(&out.stderr)));
    (out.status.code().unwrap(), doc["targets"][0].clone())
}

fn codes(target: &Value) -> Vec<String> {
    target["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["code"].as_str().unwrap().to_string())
        .collect()
}

/// pgtls's `login.protocol_version` (or its refusal) against libpq's on the same strings.
fn compare_protocol_versions(home: &Path, strings: &[String]) {
    let libpq = crate::harness::libpq_connect(home, strings);
    let mut failures = Vec::new();
    for (conninfo, theirs) in strings.iter().zip(&libpq) {
        let (code, t) = check_json(home, conninfo);
        let ours = t["login"]["protocol_version"].clone();
        let agrees = if theirs["ok"] == true {
            let full = theirs["protocol"].as_i64().unwrap_or_default();
            code == 0 && ours == format!("{}.{}", full / 10_000, full % 10_000)
        } else {
            // Up to a quoted part: PgBouncer quotes the startup header, whose length differs.
            let words = |e: &str| e.split('\'').next().unwrap_or_default().to_string();
            let error = words(t["attempts"][0]["error"].as_str().unwrap_or("(none)"));
            code != 0 && words(theirs["error"].as_str().unwrap_or_default()).ends_with(&error)
        };
        if !agrees {
            failures.push(format!(
                "{conninfo}\n    libpq: {theirs}\n    pgtls: exit {code}, protocol {ours}, {}",
                t["attempts"][0]["error"]
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn verdicts_through_pgbouncer_are_libpqs_and_the_pooler_is_named_in_the_report() {
    for version in [Version::V15, Version::V18] {
        let f = fixture(version);
        let port = f.bouncer.port;
        let base = |rest: &str| {
            format!("host=localhost port={port} dbname=postgres user=scram_user {rest}")
        };
        let mut cases = Vec::new();
        for mode in MODES {
            for root in [&f.root, &f.other_root, &f.home.path().join("missing.crt")] {
                cases.push(base(&format!(
                    "password=scram-pw sslmode={mode} sslrootcert={}",
                    root.display()
                )));
            }
        }
        for binding in ["disable", "prefer", "require"] {
            cases.push(base(&format!(
                "password=scram-pw sslmode=verify-full sslrootcert={} channel_binding={binding}",
                f.root.display()
            )));
        }
        cases.push(base("password=wrong sslmode=require"));
        compare_with_libpq(f.home.path(), &cases);

        // The protocol version, directly and through PgBouncer, as PQfullProtocolVersion says.
        let mut strings = Vec::new();
        for port in [f.server.port, port] {
            for versions in ["", "max_protocol_version=3.2", "min_protocol_version=3.2"] {
                strings.push(format!(
                    "host=localhost port={port} dbname=postgres user=scram_user password=scram-pw sslmode=verify-full sslrootcert={} {versions}",
                    f.root.display()
                ));
            }
        }
        compare_protocol_versions(f.home.path(), &strings);

        // Logged in through it: the cancel key is PgBouncer's, not the backend's, and the
        // server sees the pooler's plaintext leg.
        let (code, t) = check_json(
            f.home.path(),
            &base(&format!(
                "password=scram-pw sslmode=verify-full sslrootcert={}",
                f.root.display()
            )),
        );
        assert_eq!(code, 0, "{version:?}: {t:#}");
        let evidence = t["server"]["pooler"]["evidence"].to_string();
        assert!(evidence.contains("cancel key"), "{version:?}: {evidence}");
        assert!(
            evidence.contains("without SCRAM-SHA-256-PLUS"),
            "{version:?}: {evidence}"
        );
        assert_eq!(t["login"]["server_tls"]["ssl"], false, "{version:?}: {t:#}");
        let found = codes(&t);
        assert!(found.contains(&"pooler_in_front".to_string()), "{found:?}");
        assert!(
            found.contains(&"server_view_differs".to_string()),
            "{found:?}"
        );

        // channel_binding=require: predicted from the mechanisms offered, and libpq fails too
        // (compared above).
        let (code, t) = check_json(
            f.home.path(),
            &base(&format!(
                "sslmode=verify-full sslrootcert={} channel_binding=require",
                f.root.display()
            )),
        );
        assert_ne!(code, 0, "{version:?}: {t:#}");
        assert!(
            codes(&t).contains(&"channel_binding_impossible".to_string()),
            "{t:#}"
        );

        // PgBouncer 1.18 refuses a protocol 3.2 startup instead of negotiating (libpq fails the
        // same way, compared above): named, with what to do.
        let (code, t) = check_json(
            f.home.path(),
            &base(&format!(
                "password=scram-pw sslmode=verify-full sslrootcert={} max_protocol_version=3.2",
                f.root.display()
            )),
        );
        assert_eq!(code, 8, "{version:?}: {t:#}");
        assert_eq!(t["server"]["pooler"]["name"], "PgBouncer", "{t:#}");
        assert!(
            codes(&t).contains(&"protocol_version_refused".to_string()),
            "{t:#}"
        );

        // --audit, directly and through PgBouncer: the startup versions, GREASE, cancel over TLS.
        let newest = if version == Version::V18 {
            "3.2"
        } else {
            "3.0"
        };
        for (port, through) in [(f.server.port, false), (port, true)] {
            let out = pgtls(f.home.path())
                .args(["check", "--audit", "--format", "json", "--timeout", "10"])
                .arg(format!(
                    "host=localhost port={port} dbname=postgres user=scram_user sslmode=verify-full sslrootcert={}",
                    f.root.display()
                ))
                .output()
                .unwrap();
            let t = serde_json::from_slice::<Value>(&out.stdout).unwrap()["targets"][0].clone();
            let audit = &t["audit"];
            let versions = &audit["startup_versions"];
            let found = codes(&t);
            assert_eq!(versions[0]["found"]["answer"], "accepted", "{audit:#}");
            assert_eq!(audit["cancel_over_tls"], true, "{audit:#}");
            if through {
                // PgBouncer 1.18 does not negotiate: it refuses 3.2 and GREASE alike.
                assert_eq!(versions[1]["found"]["answer"], "refused", "{audit:#}");
                assert_eq!(versions[2]["found"]["answer"], "refused", "{audit:#}");
                for code in [
                    "protocol_version_refused",
                    "protocol_negotiation_broken",
                    "channel_binding_impossible",
                    "pooler_in_front",
                ] {
                    assert!(found.contains(&code.to_string()), "{code}: {found:?}");
                }
            } else {
                let expected = if version == Version::V18 {
                    "accepted"
                } else {
                    "negotiated"
                };
                assert_eq!(versions[1]["found"]["answer"], expected, "{audit:#}");
                assert_eq!(versions[2]["found"]["newest"], newest, "{audit:#}");
                assert_eq!(
                    versions[2]["found"]["options"][0], "_pq_.pgtls_grease",
                    "{audit:#}"
                );
                for code in [
                    "protocol_version_refused",
                    "protocol_negotiation_broken",
                    "channel_binding_impossible",
                    "pooler_in_front",
                    "cancel_over_tls_refused",
                ] {
                    assert!(!found.contains(&code.to_string()), "{code}: {found:?}");
                }
            }
        }

        // PgBouncer's own words name it.
        let (_, t) = check_json(
            f.home.path(),
            &format!(
                "host=localhost port={port} dbname=nosuchdb user=scram_user password=scram-pw sslmode=verify-full sslrootcert={}",
                f.root.display()
            ),
        );
        assert_eq!(
            t["server"]["pooler"]["name"], "PgBouncer",
            "{version:?}: {t:#}"
        );
    }
}

#[test]
fn postgresql_itself_is_not_taken_for_a_pooler() {
    let home = shared_tempdir();
    let root = Ca::root("pgtls direct root");
    let cert = root.server(&ServerCert::localhost());
    let mut setup = Setup::tls(cert.cert_pem, cert.key_pem);
    setup.hba = vec!["host all scram_user 127.0.0.1/32 scram-sha-256"];
    let server = Server::start(Version::V18, &setup);
    server.sql("CREATE ROLE scram_user LOGIN PASSWORD 'scram-pw'");
    let root_file = home.path().join("root.crt");
    std::fs::write(&root_file, &root.cert_pem).unwrap();
    for rest in ["password=scram-pw", "", "dbname=nosuchdb password=scram-pw"] {
        let (_, t) = check_json(
            home.path(),
            &format!(
                "host=localhost port={} dbname=postgres user=scram_user sslmode=verify-full sslrootcert={} {rest}",
                server.port,
                root_file.display()
            ),
        );
        assert_eq!(t["server"]["pooler"], Value::Null, "{rest}: {t:#}");
        assert!(
            !codes(&t).contains(&"pooler_in_front".to_string()),
            "{rest}: {t:#}"
        );
    }
}
