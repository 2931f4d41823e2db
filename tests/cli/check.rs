//! `pgtls check` against real PostgreSQL servers, with libpq itself giving the expected verdict:
//! for every case the test connects with libpq (psycopg's bundled libpq 18) and with pgtls, and
//! requires the same outcome: connected or not, encrypted or not, and the failure's category.

use std::path::Path;

use serde_json::Value;

use crate::harness::pgtls;
use crate::pki::{Ca, ServerCert};
use crate::server::{Server, Setup, Version, shared_tempdir};

/// The exit code pgtls must give for libpq's verdict.
fn expected_code(libpq: &Value) -> u8 {
    if libpq["ok"] == true {
        return 0;
    }
    let error = libpq["error"].as_str().unwrap_or_default();
    let table: [(&str, u8); 19] = [
        ("weak sslmode", 2),
        ("could not read certificate file", 2),
        ("could not load private key file", 2),
        ("password authentication failed", 8),
        ("SASL authentication failed", 8),
        ("channel binding required", 8),
        ("channel binding is required", 8),
        ("requires a valid client certificate", 8),
        ("server did not request an SSL certificate", 8),
        ("database \"", 8),
        ("does not exist\nEither provide the file", 2),
        ("could not read root certificate file", 2),
        ("certificate verify failed", 6),
        ("does not match host name", 7),
        ("host name must be specified", 7),
        ("server does not support SSL, but SSL was required", 4),
        ("no pg_hba.conf entry", 8),
        ("Connection refused", 3),
        ("SSL error", 5),
    ];
    table
        .iter()
        .find(|(needle, _)| error.contains(needle))
        .map_or_else(
            || panic!("no expected code for libpq's error: {error}"),
            |(_, code)| *code,
        )
}

/// Runs pgtls on each string and compares with libpq on the same strings.
pub fn compare_with_libpq(home: &Path, cases: &[String]) {
    compare_with_libpq_in(home, cases, &[]);
}

/// The same, with extra environment variables for both.
pub fn compare_with_libpq_in(home: &Path, cases: &[String], vars: &[(&str, &str)]) {
    let verdicts = crate::harness::libpq_connect_in(home, cases, vars);
    assert_eq!(verdicts.len(), cases.len());
    let mut failures = Vec::new();
    for (conninfo, libpq) in cases.iter().zip(&verdicts) {
        let out = pgtls(home)
            .envs(vars.iter().copied())
            .args(["check", "--format", "json", "--timeout", "5", conninfo])
            .output()
            .unwrap();
        let code = out.status.code().unwrap_or(-1);
        let want = expected_code(libpq);
        let doc: Option<Value> = serde_json::from_slice(&out.stdout).ok();
        let target = doc
            .as_ref()
            .map(|d| d["targets"][0].clone())
            .unwrap_or(Value::Null);
        // Deliberate difference: where TLS is mandatory, pgtls reports a broken local file
        // before connecting; libpq reads it after the server's answer and may report that first.
        // (In JSON, an argument whose root file cannot be used is a target of the document.)
        let stderr = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stderr),
            target["summary"].as_str().unwrap_or_default()
        );
        let local_file_first = code == 2
            && libpq["ok"] == false
            && (stderr.contains("root certificate file")
                || stderr.contains("could not read root certificate"));
        let encrypted_agrees = libpq["ok"] != true || target["encrypted"] == libpq["ssl"];
        if (code != i32::from(want) && !local_file_first) || !encrypted_agrees {
            failures.push(format!(
                "{conninfo}\n    libpq: {}\n    pgtls: exit {code}, encrypted {}, {}{}",
                if libpq["ok"] == true {
                    format!("connects (ssl {})", libpq["ssl"])
                } else {
                    libpq["error"].to_string()
                },
                target["encrypted"],
                target["summary"],
                String::from_utf8_lossy(&out.stderr)
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases differ from libpq:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

/// libpq's sslmodes, weakest first.
pub const MODES: [&str; 6] = [
    "disable",
    "allow",
    "prefer",
    "require",
    "verify-ca",
    "verify-full",
];

/// One server certificate setup and the root file clients get.
pub(crate) struct CertCase {
    pub(crate) name: &'static str,
    pub(crate) chain: String,
    pub(crate) key: String,
    pub(crate) root_file: String,
}

fn cert_cases() -> Vec<CertCase> {
    let root = Ca::root("pgtls test root");
    let inter = root.intermediate("pgtls test intermediate");
    let other = Ca::root("pgtls other root");
    let chain_of = |leaf: &crate::pki::Issued| format!("{}{}", leaf.cert_pem, inter.cert_pem);
    let valid = inter.server(&ServerCert::localhost());
    let wrong = inter.server(&ServerCert {
        dns: vec!["db.example.com"],
        cn: Some("db.example.com"),
        ips: vec![],
        ..ServerCert::localhost()
    });
    let expired = inter.server(&ServerCert {
        valid: (-30, -1),
        ..ServerCert::localhost()
    });
    let cn_only = inter.server(&ServerCert {
        dns: vec![],
        ips: vec![],
        ..ServerCert::localhost()
    });
    let ip_only = inter.server(&ServerCert {
        dns: vec![],
        cn: Some("not-the-host"),
        ..ServerCert::localhost()
    });
    let self_signed = ServerCert::localhost().self_signed();
    // `openssl req -x509`, as PostgreSQL's documentation makes a server certificate: CA:TRUE.
    let openssl_style = ServerCert::localhost().ca_flagged().self_signed();
    let ca_flagged_leaf = inter.server(&ServerCert::localhost().ca_flagged());
    let ca_flagged_expired = inter.server(&ServerCert {
        valid: (-30, -1),
        ..ServerCert::localhost().ca_flagged()
    });
    // pathLen 0 allows no CA below the intermediate; OpenSSL does not count the leaf, even one
    // marked as a CA.
    let limited = root.intermediate_limited("pgtls pathlen-0 intermediate", 0);
    let ca_flagged_under_limit = limited.server(&ServerCert::localhost().ca_flagged());
    let under_limited = limited.intermediate("pgtls intermediate below pathlen 0");
    let ca_flagged_beyond_limit = under_limited.server(&ServerCert::localhost().ca_flagged());
    let not_ca = Ca::root_not_ca("pgtls root that is not a CA");
    let from_not_ca = not_ca.server(&ServerCert::localhost());
    let no_cert_sign = Ca::root_without_cert_sign("pgtls root without keyCertSign");
    let from_no_cert_sign = no_cert_sign.server(&ServerCert::localhost());
    let cert_sign_only = inter.server(&ServerCert {
        key_usage: Some(vec![rcgen::KeyUsagePurpose::KeyCertSign]),
        ..ServerCert::localhost()
    });
    let no_sign_inter =
        root.intermediate_without_cert_sign("pgtls intermediate without keyCertSign");
    let from_no_sign_inter = no_sign_inter.server(&ServerCert::localhost());
    let self_signed_cert_sign_only = ServerCert {
        key_usage: Some(vec![rcgen::KeyUsagePurpose::KeyCertSign]),
        ..ServerCert::localhost()
    }
    .self_signed();
    let expired_root = Ca::root_valid("pgtls expired root", (-60, -1));
    let from_expired_root = expired_root.server(&ServerCert::localhost());
    let future_root = Ca::root_valid("pgtls future root", (2, 60));
    let from_future_root = future_root.server(&ServerCert::localhost());
    vec![
        CertCase {
            name: "intermediate without keyCertSign",
            chain: format!("{}{}", from_no_sign_inter.cert_pem, no_sign_inter.cert_pem),
            key: from_no_sign_inter.key_pem.clone(),
            root_file: root.cert_pem.clone(),
        },
        CertCase {
            name: "self-signed in root file, key only for signing certificates",
            chain: self_signed_cert_sign_only.cert_pem.clone(),
            key: self_signed_cert_sign_only.key_pem.clone(),
            root_file: self_signed_cert_sign_only.cert_pem.clone(),
        },
        CertCase {
            name: "root that is not a CA",
            chain: from_not_ca.cert_pem.clone(),
            key: from_not_ca.key_pem.clone(),
            root_file: not_ca.cert_pem.clone(),
        },
        CertCase {
            name: "root without keyCertSign",
            chain: from_no_cert_sign.cert_pem.clone(),
            key: from_no_cert_sign.key_pem.clone(),
            root_file: no_cert_sign.cert_pem.clone(),
        },
        CertCase {
            name: "leaf whose key may only sign certificates",
            chain: chain_of(&cert_sign_only),
            key: cert_sign_only.key_pem.clone(),
            root_file: root.cert_pem.clone(),
        },
        CertCase {
            name: "CA-flagged leaf under a pathlen-0 intermediate",
            chain: format!("{}{}", ca_flagged_under_limit.cert_pem, limited.cert_pem),
            key: ca_flagged_under_limit.key_pem.clone(),
            root_file: root.cert_pem.clone(),
        },
        CertCase {
            name: "CA-flagged leaf beyond a pathlen-0 intermediate",
            chain: format!(
                "{}{}{}",
                ca_flagged_beyond_limit.cert_pem, under_limited.cert_pem, limited.cert_pem
            ),
            key: ca_flagged_beyond_limit.key_pem.clone(),
            root_file: root.cert_pem.clone(),
        },
        CertCase {
            name: "expired root",
            chain: from_expired_root.cert_pem.clone(),
            key: from_expired_root.key_pem.clone(),
            root_file: expired_root.cert_pem.clone(),
        },
        CertCase {
            name: "root not valid yet",
            chain: from_future_root.cert_pem.clone(),
            key: from_future_root.key_pem.clone(),
            root_file: future_root.cert_pem.clone(),
        },
        CertCase {
            name: "CA-flagged leaf, unknown CA",
            chain: chain_of(&ca_flagged_leaf),
            key: ca_flagged_leaf.key_pem.clone(),
            root_file: other.cert_pem.clone(),
        },
        CertCase {
            name: "CA-flagged leaf, expired",
            chain: chain_of(&ca_flagged_expired),
            key: ca_flagged_expired.key_pem.clone(),
            root_file: root.cert_pem.clone(),
        },
        CertCase {
            name: "CA-flagged leaf",
            chain: chain_of(&ca_flagged_leaf),
            key: ca_flagged_leaf.key_pem.clone(),
            root_file: root.cert_pem.clone(),
        },
        CertCase {
            name: "CA-flagged self-signed in root file",
            chain: openssl_style.cert_pem.clone(),
            key: openssl_style.key_pem.clone(),
            root_file: openssl_style.cert_pem.clone(),
        },
        CertCase {
            name: "CA-flagged self-signed, not in root file",
            chain: openssl_style.cert_pem.clone(),
            key: openssl_style.key_pem.clone(),
            root_file: root.cert_pem.clone(),
        },
        CertCase {
            name: "valid chain",
            chain: chain_of(&valid),
            key: valid.key_pem.clone(),
            root_file: root.cert_pem.clone(),
        },
        CertCase {
            name: "wrong host name",
            chain: chain_of(&wrong),
            key: wrong.key_pem.clone(),
            root_file: root.cert_pem.clone(),
        },
        CertCase {
            name: "expired",
            chain: chain_of(&expired),
            key: expired.key_pem.clone(),
            root_file: root.cert_pem.clone(),
        },
        CertCase {
            name: "unknown CA",
            chain: chain_of(&valid),
            key: valid.key_pem.clone(),
            root_file: other.cert_pem.clone(),
        },
        CertCase {
            name: "CN only",
            chain: chain_of(&cn_only),
            key: cn_only.key_pem.clone(),
            root_file: root.cert_pem.clone(),
        },
        CertCase {
            name: "IP SAN only",
            chain: chain_of(&ip_only),
            key: ip_only.key_pem.clone(),
            root_file: root.cert_pem.clone(),
        },
        CertCase {
            name: "self-signed in root file",
            chain: self_signed.cert_pem.clone(),
            key: self_signed.key_pem.clone(),
            root_file: self_signed.cert_pem.clone(),
        },
        CertCase {
            name: "intermediate-only root file",
            chain: chain_of(&valid),
            key: valid.key_pem.clone(),
            root_file: inter.cert_pem.clone(),
        },
        CertCase {
            name: "root and intermediate in root file",
            chain: valid.cert_pem.clone(),
            key: valid.key_pem,
            root_file: format!("{}{}", inter.cert_pem, root.cert_pem),
        },
        p521_case(
            "P-521 root and leaf, SHA-256 signatures (OpenSSL's default)",
            "-sha256",
        ),
        p521_case("P-521 root and leaf, SHA-512 signatures", "-sha512"),
    ]
}

/// A P-521 root and a P-521 leaf for localhost signed with `digest`, made by OpenSSL (the
/// certificate library here cannot make P-521 keys).
pub(crate) fn p521_case(name: &'static str, digest: &str) -> CertCase {
    let dir = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| crate::pki::openssl(dir.path(), args);
    let ec = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-521",
        "-nodes",
    ];
    run(&[
        &["req", "-x509"][..],
        &ec,
        &[
            "-keyout",
            "ca.key",
            "-out",
            "ca.crt",
            "-days",
            "30",
            "-subj",
            "/CN=pgtls P-521 root",
            digest,
        ],
    ]
    .concat());
    run(&[
        &["req"][..],
        &ec,
        &[
            "-keyout",
            "leaf.key",
            "-out",
            "leaf.csr",
            "-subj",
            "/CN=localhost",
        ],
    ]
    .concat());
    std::fs::write(
        dir.path().join("ext.cnf"),
        "subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\n",
    )
    .unwrap();
    run(&[
        "x509",
        "-req",
        "-in",
        "leaf.csr",
        "-CA",
        "ca.crt",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-days",
        "20",
        "-extfile",
        "ext.cnf",
        "-out",
        "leaf.crt",
        digest,
    ]);
    let read = |file: &str| std::fs::read_to_string(dir.path().join(file)).unwrap();
    CertCase {
        name,
        chain: read("leaf.crt"),
        key: read("leaf.key"),
        root_file: read("ca.crt"),
    }
}

fn host_forms(port: u16) -> [String; 4] {
    [
        format!("host=localhost port={port}"),
        format!("host=127.0.0.1 port={port}"),
        format!("host=localhost hostaddr=127.0.0.1 port={port}"),
        format!("host=wrong.invalid hostaddr=127.0.0.1 port={port}"),
    ]
}

fn certificate_matrix(version: Version) {
    let home = shared_tempdir();
    let mut cases = Vec::new();
    let mut servers = Vec::new();
    for (n, case) in cert_cases().into_iter().enumerate() {
        let server = Server::start(version, &Setup::tls(case.chain.clone(), case.key.clone()));
        let root_file = home.path().join(format!("root-{n}.crt"));
        std::fs::write(&root_file, &case.root_file).unwrap();
        for host in host_forms(server.port) {
            for mode in MODES {
                for negotiation in ["postgres", "direct"] {
                    cases.push(format!(
                        "{host} user=postgres dbname=postgres sslmode={mode} sslnegotiation={negotiation} sslrootcert={}",
                        root_file.display()
                    ));
                }
            }
        }
        let _ = case.name;
        servers.push(server);
    }
    // No root file at all, and a missing one.
    let port = servers[0].port;
    let garbage = home.path().join("garbage.crt");
    std::fs::write(&garbage, "this is not a certificate\n").unwrap();
    let directory = home.path().join("a-directory.crt");
    std::fs::create_dir(&directory).unwrap();
    for mode in MODES {
        cases.push(format!(
            "host=localhost port={port} user=postgres sslmode={mode}"
        ));
        for file in [
            home.path().join("missing.crt"),
            garbage.clone(),
            directory.clone(),
        ] {
            cases.push(format!(
                "host=localhost port={port} user=postgres sslmode={mode} sslrootcert={}",
                file.display()
            ));
        }
    }
    compare_with_libpq(home.path(), &cases);
}

#[test]
fn certificate_cases_get_libpqs_verdict_on_postgresql_15() {
    certificate_matrix(Version::V15);
}

#[test]
fn certificate_cases_get_libpqs_verdict_on_postgresql_17() {
    certificate_matrix(Version::V17);
}

#[test]
fn certificate_cases_get_libpqs_verdict_on_postgresql_18() {
    certificate_matrix(Version::V18);
}

fn server_config_matrix(version: Version) {
    let home = shared_tempdir();
    let root = Ca::root("pgtls test root");
    let leaf = root.server(&ServerCert::localhost());
    let root_file = home.path().join("root.crt");
    std::fs::write(&root_file, &root.cert_pem).unwrap();
    let ssl_off = Server::start(
        version,
        &Setup {
            ssl: false,
            cert: None,
            ..Setup::tls(String::new(), String::new())
        },
    );
    let hostssl = Server::start(
        version,
        &Setup {
            hba: vec!["hostssl all all 127.0.0.1/32 trust"],
            ..Setup::tls(leaf.cert_pem.clone(), leaf.key_pem.clone())
        },
    );
    let hostnossl = Server::start(
        version,
        &Setup {
            hba: vec!["hostnossl all all 127.0.0.1/32 trust"],
            ..Setup::tls(leaf.cert_pem.clone(), leaf.key_pem.clone())
        },
    );
    let mut cases = Vec::new();
    for server in [&ssl_off, &hostssl, &hostnossl] {
        for mode in MODES {
            cases.push(format!(
                "host=localhost port={} user=postgres sslmode={mode} sslrootcert={}",
                server.port,
                root_file.display()
            ));
            cases.push(format!(
                "host=localhost port={} user=postgres sslmode={mode}",
                server.port
            ));
        }
    }
    compare_with_libpq(home.path(), &cases);
}

#[test]
fn server_configurations_get_libpqs_verdict_on_postgresql_15() {
    server_config_matrix(Version::V15);
}

#[test]
fn server_configurations_get_libpqs_verdict_on_postgresql_17() {
    server_config_matrix(Version::V17);
}

#[test]
fn server_configurations_get_libpqs_verdict_on_postgresql_18() {
    server_config_matrix(Version::V18);
}

#[test]
fn crls_are_checked_for_every_certificate_as_libpq_checks_them() {
    let home = shared_tempdir();
    let root = Ca::root("pgtls crl root");
    let inter = root.intermediate("pgtls crl intermediate");
    let direct = root.server(&ServerCert {
        serial: 7,
        ..ServerCert::localhost()
    });
    let chained = inter.server(&ServerCert {
        serial: 8,
        ..ServerCert::localhost()
    });
    let direct_server = Server::start(
        Version::V15,
        &Setup::tls(direct.cert_pem.clone(), direct.key_pem.clone()),
    );
    let chained_server = Server::start(
        Version::V15,
        &Setup::tls(
            format!("{}{}", chained.cert_pem, inter.cert_pem),
            chained.key_pem.clone(),
        ),
    );
    let write = |name: &str, text: String| {
        let path = home.path().join(name);
        std::fs::write(&path, text).unwrap();
        path.display().to_string()
    };
    let roots = write("root.crt", root.cert_pem.clone());
    let revokes_direct = write("revokes-direct.crl", root.crl(&[7]));
    let revokes_nothing = write("empty.crl", root.crl(&[]));
    let both = write("both.crl", format!("{}{}", root.crl(&[]), inter.crl(&[])));
    let revokes_chained = write(
        "revokes-chained.crl",
        format!("{}{}", root.crl(&[]), inter.crl(&[8])),
    );
    let crl_dir = home.path().join("crls");
    std::fs::create_dir(&crl_dir).unwrap();
    let mut cases = Vec::new();
    for mode in ["require", "verify-ca", "verify-full", "prefer"] {
        let base = |port: u16| {
            format!("host=localhost port={port} user=postgres sslmode={mode} sslrootcert={roots}")
        };
        cases.push(format!(
            "{} sslcrl={revokes_direct}",
            base(direct_server.port)
        ));
        cases.push(format!(
            "{} sslcrl={revokes_nothing}",
            base(direct_server.port)
        ));
        // Only the root's CRL: the intermediate's certificate has none, so OpenSSL refuses.
        cases.push(format!(
            "{} sslcrl={revokes_nothing}",
            base(chained_server.port)
        ));
        cases.push(format!("{} sslcrl={both}", base(chained_server.port)));
        cases.push(format!(
            "{} sslcrl={revokes_chained}",
            base(chained_server.port)
        ));
        cases.push(format!(
            "{} sslcrldir={}",
            base(chained_server.port),
            crl_dir.display()
        ));
    }
    compare_with_libpq(home.path(), &cases);
}

#[test]
fn system_roots_come_from_ssl_cert_file_as_in_libpq() {
    let home = shared_tempdir();
    let root = Ca::root("pgtls system root");
    let leaf = root.server(&ServerCert::localhost());
    let server = Server::start(
        Version::V15,
        &Setup::tls(leaf.cert_pem.clone(), leaf.key_pem.clone()),
    );
    let bundle = home.path().join("bundle.pem");
    std::fs::write(&bundle, &root.cert_pem).unwrap();
    let other = home.path().join("other.pem");
    std::fs::write(&other, Ca::root("pgtls unrelated root").cert_pem).unwrap();
    let cases = vec![
        format!(
            "host=localhost port={} user=postgres sslrootcert=system",
            server.port
        ),
        format!(
            "host=127.0.0.1 port={} user=postgres sslrootcert=system",
            server.port
        ),
        format!(
            "host=wrong.invalid hostaddr=127.0.0.1 port={} user=postgres sslrootcert=system",
            server.port
        ),
    ];
    compare_with_libpq_in(
        home.path(),
        &cases,
        &[("SSL_CERT_FILE", bundle.to_str().unwrap())],
    );
    compare_with_libpq_in(
        home.path(),
        &cases,
        &[("SSL_CERT_FILE", other.to_str().unwrap())],
    );
}

#[test]
fn protocol_bounds_apply_as_in_libpq_within_what_rustls_speaks() {
    let home = shared_tempdir();
    let root = Ca::root("pgtls protocol root");
    let leaf = root.server(&ServerCert::localhost());
    let mut setup = Setup::tls(leaf.cert_pem.clone(), leaf.key_pem.clone());
    setup
        .settings
        .push(("ssl_max_protocol_version", "TLSv1.2".into()));
    let tls12 = Server::start(Version::V15, &setup);
    let mut cases = Vec::new();
    for mode in ["require", "prefer"] {
        for bounds in [
            "ssl_min_protocol_version=TLSv1.3",
            "ssl_max_protocol_version=TLSv1.2",
            "ssl_min_protocol_version=TLSv1.2",
        ] {
            cases.push(format!(
                "host=localhost port={} user=postgres sslmode={mode} {bounds}",
                tls12.port
            ));
        }
    }
    compare_with_libpq(home.path(), &cases);
    // Below TLS 1.2 pgtls cannot speak at all, and says so instead of guessing.
    let out = pgtls(home.path())
        .args(["check", &format!("host=localhost port={} sslmode=require ssl_min_protocol_version=TLSv1 ssl_max_protocol_version=TLSv1.1", tls12.port)])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("pgtls speaks only TLS 1.2 and 1.3"));
}

#[test]
fn unusable_root_files_end_as_in_libpq_after_showing_the_chain_and_crl_files_before_connecting() {
    let home = shared_tempdir();
    let write = |name: &str, bytes: &[u8]| {
        let path = home.path().join(name);
        std::fs::write(&path, bytes).unwrap();
        path.display().to_string()
    };
    let root = Ca::root("pgtls preflight root");
    let leaf = root.server(&ServerCert::localhost());
    let server = Server::start(Version::V15, &Setup::tls(leaf.cert_pem, leaf.key_pem));
    let good_root = write("root.crt", root.cert_pem.as_bytes());
    let empty = write("empty.crt", b"");
    let garbage = write("garbage.crt", b"garbage\n");
    let key = write(
        "key.pem",
        ServerCert::localhost().self_signed().key_pem.as_bytes(),
    );
    let der = write("root.der", &[0x30, 0x82, 0x01, 0x0a, 0x02]);
    let dir = home.path().display().to_string();
    let missing = format!("{dir}/missing.crt");
    // Nothing listens on this port.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    // Root files: libpq's verdict (exit 2) once the server agrees to TLS, with the chain shown
    // and a hint; against a closed port, the port's verdict (exit 3) and the file as a warning.
    let roots = [
        (
            format!("sslrootcert={missing}"),
            "root certificate file \"",
            "does not exist",
        ),
        (
            format!("sslrootcert={dir}"),
            "could not read root certificate file",
            "Is a directory",
        ),
        (
            format!("sslrootcert={empty}"),
            "could not read root certificate file",
            "the file is empty",
        ),
        (
            format!("sslrootcert={garbage}"),
            "could not read root certificate file",
            "no certificate or crl found",
        ),
        (
            format!("sslrootcert={key}"),
            "could not read root certificate file",
            "private key",
        ),
        (
            format!("sslrootcert={der}"),
            "could not read root certificate file",
            "DER",
        ),
    ];
    for (setting, start, detail) in &roots {
        for (port, code, severity) in [(server.port, 2, "error"), (closed, 3, "warning")] {
            let conninfo =
                format!("host=localhost port={port} user=postgres sslmode=verify-full {setting}");
            let out = pgtls(home.path())
                .args(["check", "--format", "json", &conninfo])
                .output()
                .unwrap();
            assert_eq!(out.status.code(), Some(code), "{conninfo}");
            let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
            let target = &doc["targets"][0];
            let finding = target["findings"]
                .as_array()
                .unwrap()
                .iter()
                .find(|f| f["code"] == "configuration")
                .unwrap_or_else(|| panic!("{conninfo}: {target}"));
            let message = finding["message"].as_str().unwrap();
            assert!(
                message.contains(start) && message.contains(detail),
                "{conninfo}: {message}"
            );
            assert_eq!(finding["severity"], severity, "{conninfo}");
            assert!(finding["hint"].is_string(), "{conninfo}: {finding}");
            if code == 2 {
                // The chain the server presented, and why no other store verifies it.
                assert_eq!(
                    target["certificates"][0]["subject"], "CN=localhost",
                    "{conninfo}"
                );
                assert!(target["trust"]["roots_unusable"].is_string(), "{conninfo}");
                assert!(
                    !target["trust"]["diagnosis"].as_array().unwrap().is_empty(),
                    "{conninfo}"
                );
            }
        }
    }
    // CRL settings that cannot be used: errors before anything connects.
    let base = format!("host=127.0.0.1 port={closed} sslmode=verify-full sslrootcert={good_root}");
    let crls = [
        (format!("{base} sslcrl={missing}"), "No such file"),
        (format!("{base} sslcrl={garbage}"), "no CRL found"),
        (format!("{base} sslcrldir={garbage}"), "not a directory"),
    ];
    for (conninfo, detail) in crls {
        let out = pgtls(home.path())
            .args(["check", &conninfo])
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{conninfo}: {stderr}");
        assert!(
            stderr.contains("could not read certificate revocation list")
                && stderr.contains(detail),
            "{conninfo}: {stderr}"
        );
        assert!(out.stdout.is_empty(), "no report when nothing was checked");
    }
}

#[test]
fn a_ca_flagged_self_signed_certificate_and_an_expired_root_get_openssls_reasons() {
    let home = shared_tempdir();
    // `openssl req -x509`, PostgreSQL's documented recipe, marks the certificate as a CA.
    let openssl_style = ServerCert::localhost().ca_flagged().self_signed();
    let self_signed = Server::start(
        Version::V17,
        &Setup::tls(openssl_style.cert_pem, openssl_style.key_pem),
    );
    let expired_root = Ca::root_valid("pgtls expired root", (-60, -1));
    let leaf = expired_root.server(&ServerCert::localhost());
    let from_expired = Server::start(Version::V17, &Setup::tls(leaf.cert_pem, leaf.key_pem));
    let other = home.path().join("other.crt");
    std::fs::write(&other, Ca::root("pgtls unrelated root").cert_pem).unwrap();
    let expired = home.path().join("expired.crt");
    std::fs::write(&expired, &expired_root.cert_pem).unwrap();
    for (server, file, reason, hint) in [
        (
            &self_signed,
            &other,
            "certificate verify failed: self-signed certificate",
            "the server's certificate is self-signed; add it to",
        ),
        (
            &from_expired,
            &expired,
            "certificate verify failed: certificate has expired",
            "so the root in",
        ),
    ] {
        let out = pgtls(home.path())
            .args(["check", "--format", "json"])
            .arg(format!(
                "{} sslmode=verify-full sslrootcert={}",
                server.conninfo(),
                file.display()
            ))
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(6));
        let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
        let finding = &doc["targets"][0]["findings"][0];
        assert_eq!(finding["message"], reason, "{doc:#}");
        assert!(finding["hint"].as_str().unwrap().contains(hint), "{doc:#}");
    }
}
