//! pgtls's verdict for each driver against the driver itself: pgjdbc (Debian's jar on the JDK),
//! node-postgres (npm `pg`) and asyncpg (PyPI) connect to real servers over a matrix of server
//! certificates, sslmodes, root files and host forms, each given its own connection string, and
//! `pgtls check --client NAME` must give every case the driver's verdict: connected or not,
//! encrypted or not, and the failure's class. One process per driver runs all its cases.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use crate::check::MODES;
use crate::harness::{pgtls, root};
use crate::pki::{Ca, ServerCert};
use crate::server::{Server, Setup, Version, shared_tempdir};

const HOSTS: [&str; 2] = ["localhost", "127.0.0.1"];

#[derive(Clone, Copy, Debug, PartialEq)]
enum Driver {
    Pgjdbc,
    Node,
    Asyncpg,
}

impl Driver {
    fn name(self) -> &'static str {
        match self {
            Driver::Pgjdbc => "pgjdbc",
            Driver::Node => "node-postgres",
            Driver::Asyncpg => "asyncpg",
        }
    }

    /// The driver's own connection string for one case.
    fn string(self, host: &str, port: u16, mode: &str, root_file: Option<&Path>) -> String {
        let root = root_file
            .map(|f| format!("&sslrootcert={}", f.display()))
            .unwrap_or_default();
        match self {
            Driver::Pgjdbc => format!(
                "jdbc:postgresql://{host}:{port}/postgres?user=postgres&sslmode={mode}{root}&connectTimeout=5"
            ),
            Driver::Node | Driver::Asyncpg => {
                format!("postgresql://postgres@{host}:{port}/postgres?sslmode={mode}{root}")
            }
        }
    }

    /// The command that reads strings on standard input and prints one verdict per line.
    fn command(self, home: &Path) -> Command {
        let drivers = root().join("tests/drivers");
        let mut command = match self {
            Driver::Pgjdbc => {
                let mut c = Command::new("java");
                c.args(["-cp", "/usr/share/java/postgresql.jar"])
                    .arg(drivers.join("PgjdbcProbe.java"));
                c
            }
            Driver::Node => {
                let mut c = Command::new("node");
                c.arg(drivers.join("node/probe.js"));
                c
            }
            Driver::Asyncpg => {
                let mut c = Command::new(crate::harness::oracle_python());
                c.arg(drivers.join("asyncpg_probe.py"));
                c
            }
        };
        command
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", home)
            .env("USER", "postgres");
        command
    }

    /// The exit code pgtls must give for the driver's error, by the driver's own words.
    fn expected_code(self, error: &str) -> u8 {
        let table: &[(&str, u8)] = match self {
            Driver::Pgjdbc => &[
                ("Could not open SSL root certificate file", 2),
                ("PKIX path", 6),
                ("could not be verified by hostnameverifier", 7),
                ("does not support SSL", 4),
                ("SSL error", 5),
                ("pg_hba.conf", 8),
            ],
            Driver::Node => &[
                ("ENOENT", 2),
                ("does not match certificate's altnames", 7),
                ("self-signed certificate", 6),
                ("unable to get local issuer certificate", 6),
                ("unable to verify the first certificate", 6),
                ("certificate has expired", 6),
                ("does not support SSL", 4),
                // OpenSSL's verify errors, by Node's codes.
                ("CERT_", 6),
                ("SELF_SIGNED", 6),
                ("UNABLE_TO_", 6),
                ("pg_hba.conf", 8),
            ],
            Driver::Asyncpg => &[
                ("FileNotFoundError", 2),
                ("does not exist or cannot be accessed", 2),
                ("Hostname mismatch", 7),
                ("IP address mismatch", 7),
                ("CERTIFICATE_VERIFY_FAILED", 6),
                ("rejected SSL upgrade", 4),
                ("pg_hba.conf", 8),
            ],
        };
        table
            .iter()
            .find(|(needle, _)| error.contains(needle))
            .map_or_else(
                || panic!("no expected code for {}'s error: {error}", self.name()),
                |(_, code)| *code,
            )
    }

    /// Runs every string through the driver, one process for all.
    fn run(self, home: &Path, strings: &[String]) -> Vec<Value> {
        let input = strings.join("\n") + "\n";
        let out = crate::harness::feed(self.command(home), input);
        assert!(
            out.status.success(),
            "{} failed: {}",
            self.name(),
            String::from_utf8_lossy(&out.stderr)
        );
        let verdicts: Vec<Value> = String::from_utf8(out.stdout)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).expect("one JSON verdict per line"))
            .collect();
        assert_eq!(
            verdicts.len(),
            strings.len(),
            "{} answered {} of {} strings: {}",
            self.name(),
            verdicts.len(),
            strings.len(),
            String::from_utf8_lossy(&out.stderr)
        );
        verdicts
    }
}

/// A server certificate setup.
struct CertCase {
    name: &'static str,
    chain: String,
    key: String,
    leaf: String,
}

fn cert_cases(root: &Ca) -> Vec<CertCase> {
    let inter = root.intermediate("pgtls driver intermediate");
    let issued = |spec: ServerCert| inter.server(&spec);
    let named = |cn: Option<&'static str>, dns: Vec<&'static str>, ips: Vec<&str>| ServerCert {
        cn,
        dns,
        ips: ips.iter().map(|ip| ip.parse().unwrap()).collect(),
        ..ServerCert::localhost()
    };
    let mut cases = Vec::new();
    for (name, leaf) in [
        ("good chain", issued(ServerCert::localhost())),
        ("CN only", issued(named(Some("localhost"), vec![], vec![]))),
        (
            "wrong name",
            issued(named(Some("wrong.example"), vec!["wrong.example"], vec![])),
        ),
        (
            "expired",
            issued(ServerCert {
                valid: (-60, -1),
                ..ServerCert::localhost()
            }),
        ),
        (
            "IP-only SAN",
            issued(named(None, vec![], vec!["127.0.0.1"])),
        ),
    ] {
        cases.push(CertCase {
            name,
            chain: format!("{}{}", leaf.cert_pem, inter.cert_pem),
            key: leaf.key_pem,
            leaf: leaf.cert_pem,
        });
    }
    let own = ServerCert::localhost().self_signed();
    cases.push(CertCase {
        name: "self-signed",
        chain: own.cert_pem.clone(),
        key: own.key_pem,
        leaf: own.cert_pem,
    });
    cases
}

/// One case: where it runs and what the root file is.
struct Case {
    what: String,
    host: &'static str,
    port: u16,
    mode: &'static str,
    root_file: Option<PathBuf>,
}

fn matrix(version: Version, drivers: &[Driver]) {
    let home = shared_tempdir();
    let java_home = nix::unistd::User::from_uid(nix::unistd::geteuid())
        .unwrap()
        .map(|u| u.dir)
        .unwrap();
    assert!(
        !java_home.join(".postgresql/root.crt").exists(),
        "{} exists: pgjdbc would read it as its default root file",
        java_home.join(".postgresql/root.crt").display()
    );
    let root = Ca::root("pgtls driver root");
    let other = Ca::root("pgtls driver other root");
    let inter_only = root.intermediate("pgtls driver intermediate");
    let mut cases = Vec::new();
    let mut servers = Vec::new();
    for (n, cert) in cert_cases(&root).into_iter().enumerate() {
        let server = Server::start(version, &Setup::tls(cert.chain.clone(), cert.key.clone()));
        let dir = home.path().join(format!("case-{n}"));
        std::fs::create_dir(&dir).unwrap();
        let files = [
            ("right root", Some(root.cert_pem.clone())),
            ("another CA", Some(other.cert_pem.clone())),
            ("intermediate only", Some(inter_only.cert_pem.clone())),
            ("the server certificate", Some(cert.leaf.clone())),
            ("no root file", None),
        ];
        for (file_name, pem) in files {
            let root_file = pem.map(|pem| {
                let path = dir.join(format!("{}.crt", file_name.replace(' ', "-")));
                std::fs::write(&path, pem).unwrap();
                path
            });
            for host in HOSTS {
                for mode in MODES {
                    cases.push(Case {
                        what: format!("{}, {file_name}, host {host}, sslmode={mode}", cert.name),
                        host,
                        port: server.port,
                        mode,
                        root_file: root_file.clone(),
                    });
                }
            }
        }
        servers.push(server);
    }
    assert_eq!(cases.len(), 360);
    compare(version, home.path(), &cases, drivers);
    drop(servers);
}

/// Runs every case through each driver and through `pgtls check --client`, and requires the
/// same verdict; prints how often each driver differs from libpq itself.
fn compare(version: Version, home: &Path, cases: &[Case], drivers: &[Driver]) {
    // libpq itself on the same settings, for the measured differences.
    let libpq_strings: Vec<String> = cases
        .iter()
        .map(|c| {
            let root = c
                .root_file
                .as_ref()
                .map(|f| format!(" sslrootcert={}", f.display()))
                .unwrap_or_default();
            format!(
                "host={} port={} user=postgres dbname=postgres sslmode={}{root}",
                c.host, c.port, c.mode
            )
        })
        .collect();
    let libpq = crate::harness::libpq_connect(home, &libpq_strings);
    let mut report = Vec::new();
    let mut failures = Vec::new();
    for &driver in drivers {
        let strings: Vec<String> = cases
            .iter()
            .map(|c| driver.string(c.host, c.port, c.mode, c.root_file.as_deref()))
            .collect();
        let theirs = driver.run(home, &strings);
        let targets = home.join(format!("{}.targets", driver.name()));
        std::fs::write(&targets, strings.join("\n") + "\n").unwrap();
        let out = pgtls(home)
            .env("USER", "postgres")
            .args(["check", "--client", driver.name(), "--format", "json"])
            .args(["--timeout", "5", "--concurrency", "8", "--targets"])
            .arg(&targets)
            .output()
            .unwrap();
        let doc: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
            panic!(
                "pgtls printed no JSON ({e}): {}",
                String::from_utf8_lossy(&out.stderr)
            )
        });
        let ours = doc["targets"].as_array().unwrap();
        assert_eq!(ours.len(), cases.len());
        let (mut laxer, mut stricter, mut encryption) = (0, 0, 0);
        let mut outcomes = std::collections::BTreeMap::new();
        for (((case, theirs), ours), libpq) in cases.iter().zip(&theirs).zip(ours).zip(&libpq) {
            let verdict = &ours["clients"][0];
            assert_eq!(verdict["name"], driver.name(), "{}", case.what);
            let (connects, encrypted, code) = match theirs["ok"].as_bool() {
                Some(true) => (true, theirs["ssl"].as_bool().unwrap(), 0),
                _ => {
                    let error = theirs["error"].as_str().unwrap_or_default();
                    (false, false, driver.expected_code(error))
                }
            };
            let got = (
                verdict["connects"].as_bool().unwrap(),
                verdict["encrypted"].as_bool().unwrap(),
                verdict["exit_code"].as_u64().unwrap() as u8,
            );
            if got != (connects, encrypted, code) {
                failures.push(format!(
                    "{} on PostgreSQL {version:?}: {}\n    {}: {theirs}\n    pgtls: connects {}, encrypted {}, exit {} ({})",
                    driver.name(),
                    case.what,
                    driver.name(),
                    got.0,
                    got.1,
                    got.2,
                    verdict["summary"]
                ));
            }
            *outcomes
                .entry(match (connects, encrypted) {
                    (true, true) => "connects with TLS".to_string(),
                    (true, false) => "connects in plaintext".to_string(),
                    _ => format!("fails with exit {code}"),
                })
                .or_insert(0) += 1;
            let libpq_connects = libpq["ok"] == true;
            let libpq_encrypted = libpq_connects && libpq["ssl"] == true;
            match (libpq_connects, connects) {
                (false, true) => laxer += 1,
                (true, false) => stricter += 1,
                (true, true) if libpq_encrypted != encrypted => encryption += 1,
                _ => {}
            }
        }
        report.push(format!(
            "{}: differs from libpq in {} of {} cases: connects where libpq does not in {laxer}, fails where libpq connects in {stricter}, encrypts differently in {encryption}; outcomes {outcomes:?}",
            driver.name(),
            laxer + stricter + encryption,
            cases.len()
        ));
    }
    eprintln!("PostgreSQL {version:?}:\n  {}", report.join("\n  "));
    assert!(
        failures.is_empty(),
        "{} cases where pgtls's verdict is not the driver's:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

const ALL: [Driver; 3] = [Driver::Pgjdbc, Driver::Node, Driver::Asyncpg];

#[test]
fn every_drivers_verdict_is_predicted_on_postgresql_15() {
    matrix(Version::V15, &ALL);
}

#[test]
fn every_drivers_verdict_is_predicted_on_postgresql_17() {
    matrix(Version::V17, &ALL);
}

/// Servers that refuse TLS, or accept only TLS or only plaintext (pg_hba.conf's `hostssl` and
/// `hostnossl`): each driver's fallbacks between TLS and plaintext, against the driver.
fn fallback_matrix(version: Version, drivers: &[Driver]) {
    let home = shared_tempdir();
    let root = Ca::root("pgtls fallback root");
    let leaf = root.server(&ServerCert::localhost());
    let root_file = home.path().join("root.crt");
    std::fs::write(&root_file, &root.cert_pem).unwrap();
    let tls = |hba: Vec<&'static str>| Setup {
        hba,
        ..Setup::tls(leaf.cert_pem.clone(), leaf.key_pem.clone())
    };
    let setups = [
        (
            "TLS off",
            Setup {
                ssl: false,
                cert: None,
                ..tls(vec![
                    "host all all 127.0.0.1/32 trust",
                    "host all all ::1/128 trust",
                ])
            },
        ),
        (
            "hostssl only",
            tls(vec![
                "hostssl all all 127.0.0.1/32 trust",
                "hostssl all all ::1/128 trust",
            ]),
        ),
        (
            "hostnossl only",
            tls(vec![
                "hostnossl all all 127.0.0.1/32 trust",
                "hostnossl all all ::1/128 trust",
            ]),
        ),
    ];
    let mut servers = Vec::new();
    let mut cases = Vec::new();
    for (name, setup) in setups {
        let server = Server::start(version, &setup);
        for file in [Some(root_file.clone()), None] {
            for mode in MODES {
                cases.push(Case {
                    what: format!(
                        "{name}, {}, sslmode={mode}",
                        if file.is_some() {
                            "right root"
                        } else {
                            "no root file"
                        }
                    ),
                    host: "localhost",
                    port: server.port,
                    mode,
                    root_file: file.clone(),
                });
            }
        }
        servers.push(server);
    }
    compare(version, home.path(), &cases, drivers);
    drop(servers);
}

#[test]
fn every_drivers_fallbacks_are_predicted_on_postgresql_15() {
    fallback_matrix(Version::V15, &ALL);
}

#[test]
fn pgjdbc_takes_hosts_ports_and_database_from_the_query_as_pgjdbc_does() {
    let home = shared_tempdir();
    let root_ca = Ca::root("pgtls jdbc query root");
    let leaf = root_ca.server(&ServerCert::localhost());
    let server = Server::start(Version::V15, &Setup::tls(leaf.cert_pem, leaf.key_pem));
    let (live, dead) = (server.port, crate::server::free_port());
    let tail = "user=postgres&sslmode=require&connectTimeout=5";
    let urls = [
        format!("jdbc:postgresql://127.0.0.1:{dead}/postgres?port={live}&{tail}"),
        format!("jdbc:postgresql://127.0.0.1:{dead}/postgres?PGPORT={live}&{tail}"),
        format!("jdbc:postgresql://127.0.0.2:{live}/postgres?host=127.0.0.1&{tail}"),
        format!("jdbc:postgresql://127.0.0.2:{live}/postgres?Host=127.0.0.1&{tail}"),
        format!("jdbc:postgresql://127.0.0.2:{dead}/postgres?HOST=127.0.0.1&Port={live}&{tail}"),
        format!("jdbc:postgresql://127.0.0.1:{live}/postgres?port={dead}&{tail}"),
        format!("jdbc:postgresql://127.0.0.1:{live}/nosuchdb?dbname=postgres&{tail}"),
        format!("jdbc:postgresql://127.0.0.1:{live}/postgres?pghost=127.0.0.2&{tail}"),
        format!("jdbc:postgresql://127.0.0.1:{live},127.0.0.1:{dead}/postgres?port={live}&{tail}"),
        format!("jdbc:postgresql://127.0.0.1:{live}/postgres?host=127.0.0.1,&{tail}"),
    ];
    let verdicts = Driver::Pgjdbc.run(home.path(), &urls);
    for (url, theirs) in urls.iter().zip(&verdicts) {
        let out = pgtls(home.path())
            .args(["check", "--client", "pgjdbc", url])
            .output()
            .unwrap();
        let code = out.status.code().unwrap_or(-1);
        let error = theirs["error"].as_str().unwrap_or_default();
        let expected = if theirs["ok"] == true {
            0
        } else if error.contains("Unable to parse URL") {
            2
        } else if error.contains("Connection refused") || error.contains("Connection to") {
            3
        } else if error.contains("does not exist") {
            8
        } else {
            panic!("{url}: no expected code for pgjdbc's error: {error}")
        };
        assert_eq!(
            code,
            expected,
            "{url}\npgjdbc: {theirs}\npgtls:\n{}",
            String::from_utf8_lossy(&out.stdout)
        );
    }
    // The cases are not all alike: some connect, some do not.
    assert!(verdicts.iter().any(|v| v["ok"] == true));
    assert!(verdicts.iter().any(|v| v["ok"] == false));
}

/// `pgtls check --format json` with `extra`, as the driver tests run it (USER=postgres), on one
/// string: its exit code and its target.
fn check_as(home: &Path, extra: &[&str], string: &str) -> (i32, Value) {
    crate::harness::first_target(
        pgtls(home)
            .env("USER", "postgres")
            .args(["check", "--format", "json"])
            .args(extra)
            .arg(string),
    )
}

#[test]
fn on_a_post_quantum_only_server_each_driver_gets_its_own_stacks_verdict() {
    // PostgreSQL 18 on OpenSSL 3.6 that accepts X25519MLKEM768 only. The drivers here run on the
    // JDK 17 (no post-quantum group), Node.js 20 and Python's ssl on OpenSSL 3.0: none of them
    // connects. pgtls models pgjdbc on the JDK (it fails, with the groups it offered), and
    // node-postgres and asyncpg on OpenSSL 3.5 (they connect), and its audit warns about the
    // older stacks these drivers run on here. The tap shows the groups each driver really offered,
    // which must be the ones pgtls names.
    let home = shared_tempdir();
    let root_ca = Ca::root("pgtls groups root");
    let leaf = root_ca.server(&ServerCert::localhost());
    let root_file = home.path().join("root.crt");
    std::fs::write(&root_file, &root_ca.cert_pem).unwrap();
    let mut setup = Setup::tls(leaf.cert_pem, leaf.key_pem);
    setup.settings.push(("ssl_groups", "X25519MLKEM768".into()));
    let server = Server::start(Version::V18Pq, &setup);
    let tap = crate::tap::Tap::start(server.port);
    for driver in [Driver::Pgjdbc, Driver::Node, Driver::Asyncpg] {
        let string = driver.string("localhost", tap.port, "verify-full", Some(&root_file));
        let theirs = &driver.run(home.path(), std::slice::from_ref(&string))[0];
        let offered = tap.next()["offered"].clone();
        let offered: Vec<&str> = offered
            .as_array()
            .unwrap()
            .iter()
            .map(|g| g.as_str().unwrap())
            .collect();
        assert_eq!(theirs["ok"], false, "{driver:?}: {theirs}");
        assert!(
            !offered.contains(&"X25519MLKEM768"),
            "{driver:?}: {offered:?}"
        );
        // pgtls connects to the server itself: the tap sees the drivers' handshakes only.
        let direct = driver.string("localhost", server.port, "verify-full", Some(&root_file));
        let (code, t) = check_as(
            home.path(),
            &["--audit", "--client", driver.name()],
            &direct,
        );
        let verdict = &t["clients"][0];
        let groups = format!("({})", offered.join(", "));
        let older: Vec<&str> = t["findings"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["code"] == "older_stack_fails")
            .map(|f| f["message"].as_str().unwrap())
            .collect();
        match driver {
            Driver::Pgjdbc => {
                assert_eq!(code, 5, "{t}");
                assert_eq!(verdict["connects"], false, "{t}");
                let error = verdict["error"].as_str().unwrap();
                assert!(error.contains(&groups), "{groups} in {error}");
                assert!(older.is_empty(), "{t}");
            }
            Driver::Node | Driver::Asyncpg => {
                assert_eq!(code, 0, "{t}");
                assert_eq!(verdict["connects"], true, "{t}");
                // The current line, Node.js 24 (OpenSSL 3.5), connects as the model says, with
                // the groups the model gives it.
                if driver == Driver::Node {
                    let current = node24(home.path(), &string);
                    let offered = tap.next()["offered"].clone();
                    assert_eq!(current["ok"], true, "Node.js 24: {current}");
                    assert_eq!(offered[0], "X25519MLKEM768", "Node.js 24: {offered}");
                    assert!(
                        verdict["models"]
                            .as_str()
                            .is_some_and(|m| m.contains("Node.js 22.20 or later")),
                        "{verdict}"
                    );
                }
                let stack = match driver {
                    Driver::Node => "Node.js 20",
                    _ => "Python linked with OpenSSL older than 3.5",
                };
                assert!(
                    older
                        .iter()
                        .any(|m| m.contains(stack) && m.contains(&groups)),
                    "{stack} {groups} in {older:?}"
                );
            }
        }
    }
}

/// node-postgres on Node.js 24 (`/opt/pgtls/node-24`, which `scripts/test.sh` installs, or
/// `PGTLS_NODE24`), for one string.
fn node24(home: &Path, string: &str) -> Value {
    let node = std::env::var_os("PGTLS_NODE24").map_or_else(
        || PathBuf::from("/opt/pgtls/node-24/bin/node"),
        PathBuf::from,
    );
    assert!(
        node.is_file(),
        "no Node.js 24 at {} (run `bash scripts/test.sh`, or set PGTLS_NODE24)",
        node.display()
    );
    let mut command = Command::new(node);
    command
        .arg(root().join("tests/drivers/node/probe.js"))
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", home)
        .env("USER", "postgres");
    let out = crate::harness::feed(command, format!("{string}\n"));
    let line = String::from_utf8_lossy(&out.stdout);
    serde_json::from_str(line.lines().next().unwrap_or("null")).expect("one JSON verdict")
}

#[test]
fn a_misspelt_pgjdbc_parameter_is_ignored_by_pgjdbc_and_named_by_pgtls() {
    // pgjdbc ignores properties it does not know: `sslmod=verify-full` leaves the default mode,
    // which connects to a server whose certificate nothing here trusts.
    let home = shared_tempdir();
    let leaf = Ca::root("pgtls unknown root").server(&ServerCert::localhost());
    let server = Server::start(Version::V15, &Setup::tls(leaf.cert_pem, leaf.key_pem));
    let url = format!(
        "jdbc:postgresql://localhost:{}/postgres?user=postgres&sslmod=verify-full&connectTimeout=5",
        server.port
    );
    let theirs = &Driver::Pgjdbc.run(home.path(), std::slice::from_ref(&url))[0];
    assert_eq!(theirs["ok"], true, "{theirs}");
    let (code, t) = check_as(home.path(), &[], &url);
    assert_eq!(code, 0, "{t}");
    assert_eq!(t["clients"][0]["connects"], true, "{t}");
    assert_eq!(t["clients"][0]["chain_verified"], false, "{t}");
    let finding = t["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["code"] == "ignored_parameter")
        .unwrap_or_else(|| panic!("no ignored_parameter: {t}"));
    assert!(
        finding["message"]
            .as_str()
            .unwrap()
            .contains("\"sslmod\" (did you mean \"sslmode\"?)"),
        "{finding}"
    );
}

#[test]
fn nonvalidatingfactory_is_named_as_why_pgjdbc_leaves_the_chain_unverified() {
    // NonValidatingFactory accepts any chain; under verify-full pgjdbc still checks the name,
    // which is localhost alone here.
    let home = shared_tempdir();
    let name_only = ServerCert {
        ips: Vec::new(),
        ..ServerCert::localhost()
    };
    let leaf = Ca::root("pgtls unknown root").server(&name_only);
    let server = Server::start(Version::V15, &Setup::tls(leaf.cert_pem, leaf.key_pem));
    let factory = "sslfactory=org.postgresql.ssl.NonValidatingFactory";
    for (host, connects) in [("localhost", true), ("127.0.0.1", false)] {
        let url = format!(
            "jdbc:postgresql://{host}:{}/postgres?user=postgres&sslmode=verify-full&{factory}&connectTimeout=5",
            server.port
        );
        let theirs = &Driver::Pgjdbc.run(home.path(), std::slice::from_ref(&url))[0];
        assert_eq!(theirs["ok"], connects, "{host}: {theirs}");
        let (code, t) = check_as(home.path(), &[], &url);
        let verdict = &t["clients"][0];
        assert_eq!(verdict["connects"], connects, "{host}: {t}");
        assert!(
            verdict["mode"]
                .as_str()
                .unwrap()
                .ends_with("with sslfactory=NonValidatingFactory"),
            "{t}"
        );
        if connects {
            assert_eq!(code, 0, "{t}");
            assert_eq!(verdict["chain_verified"], false, "{t}");
            assert_eq!(verdict["host_name_verified"], true, "{t}");
            let hints: Vec<&str> = t["findings"]
                .as_array()
                .unwrap()
                .iter()
                .filter_map(|f| f["hint"].as_str())
                .collect();
            assert!(
                hints
                    .iter()
                    .any(|h| h.contains("NonValidatingFactory accepts any chain")),
                "{hints:?}"
            );
        } else {
            // As pgjdbc: the name check fails, and says so in pgjdbc's words.
            assert_eq!(code, 7, "{t}");
            let error = theirs["error"].as_str().unwrap();
            assert_eq!(verdict["error"].as_str(), Some(error), "{t}");
        }
    }
}
