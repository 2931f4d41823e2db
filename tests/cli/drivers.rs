//! pgtls's verdict for each driver against the driver itself: pgjdbc (42.7.14 from Maven Central,
//! and Debian's 42.5.5, on the JDK), node-postgres (npm `pg`), asyncpg (PyPI), pgx and lib/pq (Go
//! module proxy, `tests/drivers/go`), sqlx and tokio-postgres (crates.io, `tests/drivers/rust`)
//! connect to real servers over a matrix of server certificates, sslmodes, root files and host
//! forms, each given its own connection string, and
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
    /// pgjdbc's current release (Maven Central).
    Pgjdbc,
    /// Debian's pgjdbc 42.5.5, the older line.
    Pgjdbc425,
    Node,
    Asyncpg,
    Pgx,
    LibPq,
    /// lib/pq 1.10.9, the older line.
    LibPq110,
    Sqlx,
    TokioPostgres,
}

/// Where `scripts/test.sh` puts pgjdbc's current jar and the Go and Rust drivers' probes.
fn installed(name: &str) -> PathBuf {
    let path = PathBuf::from("/opt/pgtls").join(name);
    assert!(
        path.exists(),
        "{} is missing: run `bash scripts/test.sh`, which installs it",
        path.display()
    );
    path
}

impl Driver {
    fn name(self) -> &'static str {
        match self {
            Driver::Pgjdbc => "pgjdbc",
            Driver::Pgjdbc425 => "pgjdbc@42.5",
            Driver::Node => "node-postgres",
            Driver::Asyncpg => "asyncpg",
            Driver::Pgx => "pgx",
            Driver::LibPq => "lib-pq",
            Driver::LibPq110 => "lib-pq@1.10",
            Driver::Sqlx => "sqlx",
            Driver::TokioPostgres => "tokio-postgres",
        }
    }

    /// The driver and the version the test runs, for the printed figures.
    fn label(self) -> &'static str {
        match self {
            Driver::Pgjdbc => "pgjdbc 42.7.14",
            Driver::Pgjdbc425 => "pgjdbc 42.5.5",
            Driver::Node => "node-postgres 8 (Node.js 20)",
            Driver::Asyncpg => "asyncpg 0.32.0",
            Driver::Pgx => "pgx v5.13.0",
            Driver::LibPq => "lib/pq v1.12.3",
            Driver::LibPq110 => "lib/pq v1.10.9",
            Driver::Sqlx => "sqlx 0.9.1",
            Driver::TokioPostgres => "tokio-postgres 0.7.18",
        }
    }

    /// The driver's own connection string for one case. tokio-postgres has no root file
    /// setting: its connector reads OpenSSL's default store, which [`Driver::cert_file`] sets.
    fn string(self, host: &str, port: u16, mode: &str, root_file: Option<&Path>) -> String {
        let root = root_file
            .map(|f| format!("&sslrootcert={}", f.display()))
            .unwrap_or_default();
        match self {
            Driver::Pgjdbc | Driver::Pgjdbc425 => format!(
                "jdbc:postgresql://{host}:{port}/postgres?user=postgres&sslmode={mode}{root}&connectTimeout=5"
            ),
            Driver::TokioPostgres => {
                format!("postgresql://postgres@{host}:{port}/postgres?sslmode={mode}")
            }
            _ => format!("postgresql://postgres@{host}:{port}/postgres?sslmode={mode}{root}"),
        }
    }

    /// `SSL_CERT_FILE` for a case's root file, for a driver whose roots are OpenSSL's default
    /// store.
    fn cert_file(self, root_file: Option<&Path>) -> Option<PathBuf> {
        match self {
            Driver::TokioPostgres => root_file.map(Path::to_path_buf),
            _ => None,
        }
    }

    /// The command that reads strings on standard input and prints one verdict per line.
    fn command(self, home: &Path) -> Command {
        let drivers = root().join("tests/drivers");
        let mut command = match self {
            Driver::Pgjdbc | Driver::Pgjdbc425 => {
                let jar = match self {
                    Driver::Pgjdbc => installed("pgjdbc/postgresql-42.7.14.jar"),
                    _ => PathBuf::from("/usr/share/java/postgresql.jar"),
                };
                let mut c = Command::new("java");
                c.arg("-cp").arg(jar).arg(drivers.join("PgjdbcProbe.java"));
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
            Driver::Pgx | Driver::LibPq => {
                let mut c = Command::new(installed("driver-probes/go-driverprobe"));
                c.arg(self.name());
                c
            }
            Driver::LibPq110 => Command::new(installed("driver-probes/go-lib-pq-1.10-driverprobe")),
            Driver::Sqlx | Driver::TokioPostgres => {
                let mut c = Command::new(installed("driver-probes/rust-driverprobe"));
                c.arg(self.name());
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
            Driver::Pgjdbc | Driver::Pgjdbc425 => &[
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
            Driver::Pgx | Driver::LibPq | Driver::LibPq110 => &[
                ("unsupported sslmode", 2),
                ("unable to read CA file", 2),
                ("no such file or directory", 2),
                ("not valid for", 7),
                ("is valid for", 7),
                ("legacy Common Name", 7),
                ("doesn't contain any IP SANs", 7),
                ("x509:", 6),
                ("refused TLS", 4),
                ("SSL is not enabled", 4),
                ("pg_hba.conf", 8),
            ],
            Driver::Sqlx => &[
                ("No such file", 2),
                ("NotValidForName", 7),
                ("not valid for name", 7),
                ("invalid peer certificate", 6),
                ("does not support TLS", 4),
                ("pg_hba.conf", 8),
            ],
            Driver::TokioPostgres => &[
                ("invalid value for option", 2),
                ("hostname mismatch", 7),
                ("IP address mismatch", 7),
                ("certificate verify failed", 6),
                ("does not support TLS", 4),
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

    /// Runs every string through the driver, one process for all; `cert_files` gives each
    /// string's `SSL_CERT_FILE` for the drivers that read one.
    fn run_with(
        self,
        home: &Path,
        strings: &[String],
        cert_files: &[Option<PathBuf>],
    ) -> Vec<Value> {
        let input: String = strings
            .iter()
            .zip(cert_files.iter().chain(std::iter::repeat(&None)))
            .map(|(s, file)| match file {
                Some(f) => format!("SSL_CERT_FILE={}\t{s}\n", f.display()),
                None => format!("{s}\n"),
            })
            .collect();
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

    /// Runs every string through the driver, one process for all.
    fn run(self, home: &Path, strings: &[String]) -> Vec<Value> {
        self.run_with(home, strings, &[])
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
        let cert_files: Vec<Option<PathBuf>> = cases
            .iter()
            .map(|c| driver.cert_file(c.root_file.as_deref()))
            .collect();
        let theirs = driver.run_with(home, &strings, &cert_files);
        let ours = pgtls_verdicts(home, driver, &strings, &cert_files);
        assert_eq!(ours.len(), cases.len());
        let (mut laxer, mut stricter, mut encryption) = (0, 0, 0);
        let mut outcomes = std::collections::BTreeMap::new();
        for (((case, theirs), ours), libpq) in cases.iter().zip(&theirs).zip(&ours).zip(&libpq) {
            // A string the driver refuses while reading it has no client verdict: the target's
            // exit code is the driver's.
            let verdict = match &ours["clients"][0] {
                Value::Null => &serde_json::json!({
                    "connects": false,
                    "encrypted": false,
                    "exit_code": ours["exit_code"],
                    "summary": ours["summary"],
                }),
                v => {
                    assert_eq!(v["name"], driver.name(), "{}", case.what);
                    v
                }
            };
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
            driver.label(),
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

/// `pgtls check --client` over every string, in one process per `SSL_CERT_FILE`: each string's
/// target, in the strings' order.
fn pgtls_verdicts(
    home: &Path,
    driver: Driver,
    strings: &[String],
    cert_files: &[Option<PathBuf>],
) -> Vec<Value> {
    let mut groups: Vec<(Option<PathBuf>, Vec<usize>)> = Vec::new();
    for (i, file) in cert_files.iter().enumerate() {
        match groups.iter_mut().find(|(f, _)| f == file) {
            Some((_, members)) => members.push(i),
            None => groups.push((file.clone(), vec![i])),
        }
    }
    let mut ours = vec![Value::Null; strings.len()];
    for (n, (file, members)) in groups.iter().enumerate() {
        let targets = home.join(format!("{}-{n}.targets", driver.name()));
        let list: Vec<&str> = members.iter().map(|&i| strings[i].as_str()).collect();
        std::fs::write(&targets, list.join("\n") + "\n").unwrap();
        let mut command = pgtls(home);
        command.env("USER", "postgres");
        if let Some(file) = file {
            command.env("SSL_CERT_FILE", file);
        }
        // lib/pq 1.10 stops at PGSYSCONFDIR, which the harness sets for libpq and the drivers'
        // processes do not have.
        if driver == Driver::LibPq110 {
            command.env_remove("PGSYSCONFDIR");
        }
        let out = command
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
        let targets = doc["targets"].as_array().unwrap();
        assert_eq!(targets.len(), members.len());
        for (&i, target) in members.iter().zip(targets) {
            ours[i] = target.clone();
        }
    }
    ours
}

const ALL: [Driver; 9] = [
    Driver::Pgjdbc,
    Driver::Pgjdbc425,
    Driver::Node,
    Driver::Asyncpg,
    Driver::Pgx,
    Driver::LibPq,
    Driver::LibPq110,
    Driver::Sqlx,
    Driver::TokioPostgres,
];

#[test]
fn every_drivers_verdict_is_predicted_on_postgresql_15() {
    matrix(Version::V15, &ALL);
}

#[test]
fn every_drivers_verdict_is_predicted_on_postgresql_18() {
    matrix(Version::V18, &ALL);
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
    // JDK 17 (no post-quantum group), Node.js 20, Python's ssl and tokio-postgres's system
    // OpenSSL 3.0, rustls on ring (sqlx), and Go 1.26 (pgx, lib/pq): only the Go drivers
    // connect. pgtls models pgjdbc on the JDK and sqlx on ring (they fail, with the groups they
    // offered), the Go drivers on Go 1.26 (they connect), and node-postgres, asyncpg and
    // tokio-postgres on OpenSSL 3.5 (they connect), and its audit warns about the older stacks
    // these drivers run on here. The tap shows the groups each driver really offered, which must
    // be the ones pgtls names.
    let home = shared_tempdir();
    let root_ca = Ca::root("pgtls groups root");
    let leaf = root_ca.server(&ServerCert::localhost());
    let root_file = home.path().join("root.crt");
    std::fs::write(&root_file, &root_ca.cert_pem).unwrap();
    let mut setup = Setup::tls(leaf.cert_pem, leaf.key_pem);
    setup.settings.push(("ssl_groups", "X25519MLKEM768".into()));
    let server = Server::start(Version::V18Pq, &setup);
    let tap = crate::tap::Tap::start(server.port);
    // (driver, whether the driver here connects, whether pgtls's model of its current line
    // does, the older stack the audit warns about)
    let table = [
        (Driver::Pgjdbc, false, false, None),
        (Driver::Node, false, true, Some("Node.js 20")),
        (
            Driver::Asyncpg,
            false,
            true,
            Some("Python linked with OpenSSL older than 3.5"),
        ),
        (Driver::Pgx, true, true, Some("Go 1.23 and older")),
        (Driver::LibPq, true, true, Some("Go 1.23 and older")),
        (Driver::Sqlx, false, false, None),
        (
            Driver::TokioPostgres,
            false,
            true,
            Some("tokio-postgres on a system with OpenSSL older than 3.5"),
        ),
    ];
    for (driver, here, modelled, older_stack) in table {
        // tokio-postgres's connector verifies the chain and the name under require.
        let mode = match driver {
            Driver::TokioPostgres => "require",
            _ => "verify-full",
        };
        let cert_file = driver.cert_file(Some(&root_file));
        let string = driver.string("localhost", tap.port, mode, Some(&root_file));
        let theirs = &driver.run_with(
            home.path(),
            std::slice::from_ref(&string),
            std::slice::from_ref(&cert_file),
        )[0];
        let offered = tap.next()["offered"].clone();
        let offered: Vec<&str> = offered
            .as_array()
            .unwrap()
            .iter()
            .map(|g| g.as_str().unwrap())
            .collect();
        assert_eq!(theirs["ok"], here, "{driver:?}: {theirs}");
        assert_eq!(
            offered.contains(&"X25519MLKEM768"),
            here,
            "{driver:?}: {offered:?}"
        );
        // pgtls connects to the server itself: the tap sees the drivers' handshakes only.
        let direct = driver.string("localhost", server.port, mode, Some(&root_file));
        let mut command = pgtls(home.path());
        if let Some(file) = &cert_file {
            command.env("SSL_CERT_FILE", file);
        }
        let (code, t) = crate::harness::first_target(
            command
                .env("USER", "postgres")
                .args([
                    "check",
                    "--format",
                    "json",
                    "--audit",
                    "--client",
                    driver.name(),
                ])
                .arg(&direct),
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
        assert_eq!(verdict["connects"], modelled, "{driver:?}: {t}");
        assert_eq!(code, if modelled { 0 } else { 5 }, "{driver:?}: {t}");
        if !modelled {
            // The groups pgtls says the driver offered are the ones the tap saw.
            let error = verdict["error"].as_str().unwrap();
            assert!(error.contains(&groups), "{driver:?}: {groups} in {error}");
        }
        match older_stack {
            None => assert!(older.is_empty(), "{driver:?}: {t}"),
            // Where the driver here runs the older stack, the warning names its real groups.
            Some(stack) => assert!(
                older
                    .iter()
                    .any(|m| m.contains(stack) && (here || m.contains(&groups))),
                "{driver:?}: {stack} {groups} in {older:?}"
            ),
        }
        // The current line of node-postgres, Node.js 24 (OpenSSL 3.5), connects as the model
        // says, with the groups the model gives it.
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

#[test]
fn a_misspelt_sslmode_is_named_as_each_driver_treats_it() {
    // pgx, lib/pq and asyncpg send a key they do not know to the server, which refuses it; sqlx
    // and node-postgres ignore it and connect without verifying; tokio-postgres refuses the
    // string. pgtls says which, with the key meant.
    let home = shared_tempdir();
    let leaf = Ca::root("pgtls unknown root").server(&ServerCert::localhost());
    let server = Server::start(Version::V15, &Setup::tls(leaf.cert_pem, leaf.key_pem));
    let url = format!(
        "postgresql://postgres@localhost:{}/postgres?sslmod=verify-full",
        server.port
    );
    // (driver, the driver's words, pgtls's exit code)
    let table = [
        (Driver::Pgx, "unrecognized configuration parameter", 2),
        (Driver::LibPq, "unrecognized configuration parameter", 2),
        (Driver::Asyncpg, "unrecognized configuration parameter", 2),
        (Driver::Node, "", 0),
        (Driver::Sqlx, "", 0),
        (Driver::TokioPostgres, "unknown option", 2),
    ];
    for (driver, words, code) in table {
        let theirs = &driver.run(home.path(), std::slice::from_ref(&url))[0];
        if words.is_empty() {
            assert_eq!(theirs["ok"], true, "{driver:?}: {theirs}");
        } else {
            let error = theirs["error"].as_str().unwrap_or_default();
            assert!(error.contains(words), "{driver:?}: {theirs}");
        }
        let (got, t) = check_as(home.path(), &["--client", driver.name()], &url);
        assert_eq!(got, code, "{driver:?}: {t}");
        let text = t.to_string();
        assert!(text.contains("did you mean"), "{driver:?}: {t}");
        if code == 0 {
            assert_eq!(t["clients"][0]["connects"], true, "{t}");
            assert_eq!(t["clients"][0]["chain_verified"], false, "{t}");
            assert!(
                t["findings"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|f| f["code"] == "ignored_parameter"),
                "{t}"
            );
        }
    }
}
