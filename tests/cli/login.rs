//! Logging in after TLS against PostgreSQL 15, 17 and 18: SCRAM with and without channel binding,
//! MD5, trust, certificate authentication, hostssl/hostnossl, wrong passwords, missing and
//! encrypted client keys. Every verdict is libpq's on the same string.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::check::{compare_with_libpq, compare_with_libpq_in};
use crate::harness::pgtls;
use crate::pki::{Ca, ServerCert};
use crate::server::{Server, Setup, Version, shared_tempdir};

struct Fixture {
    home: tempfile::TempDir,
    server: Server,
    root: PathBuf,
    cert: PathBuf,
    key: PathBuf,
    encrypted_key: PathBuf,
}

fn write(dir: &Path, name: &str, text: &str, mode: u32) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
    path
}

fn fixture(version: Version) -> Fixture {
    let home = shared_tempdir();
    let root = Ca::root("pgtls login root");
    let leaf = root.server(&ServerCert::localhost());
    let client = root.client("cert_user");
    let ca_file = write(home.path(), "client-ca.crt", &root.cert_pem, 0o644);
    crate::server::give_to_server_user(&ca_file);
    let mut setup = Setup::tls(leaf.cert_pem.clone(), leaf.key_pem.clone());
    setup
        .settings
        .push(("ssl_ca_file", ca_file.display().to_string()));
    setup.hba = vec![
        "hostssl all scram_user 127.0.0.1/32 scram-sha-256",
        "host all md5_user 127.0.0.1/32 md5",
        "hostssl all cert_user 127.0.0.1/32 cert",
        "hostssl all ssl_only 127.0.0.1/32 trust",
        "hostnossl all nossl_only 127.0.0.1/32 trust",
        "host all postgres 127.0.0.1/32 trust",
    ];
    let server = Server::start(version, &setup);
    server.sql("CREATE ROLE scram_user LOGIN PASSWORD 'scram-pw'");
    server.sql("SET password_encryption = 'md5'; CREATE ROLE md5_user LOGIN PASSWORD 'md5-pw'");
    server.sql(
        "CREATE ROLE cert_user LOGIN; CREATE ROLE ssl_only LOGIN; CREATE ROLE nossl_only LOGIN",
    );
    let root_file = write(home.path(), "root.crt", &root.cert_pem, 0o644);
    let cert = write(home.path(), "client.crt", &client.cert_pem, 0o644);
    let key = write(home.path(), "client.key", &client.key_pem, 0o600);
    let encrypted_key = home.path().join("client.enc.key");
    let status = std::process::Command::new("openssl")
        .args([
            "pkcs8",
            "-topk8",
            "-v2",
            "aes-256-cbc",
            "-passout",
            "pass:key-secret",
            "-in",
        ])
        .arg(&key)
        .arg("-out")
        .arg(&encrypted_key)
        .status()
        .unwrap();
    assert!(status.success());
    std::fs::set_permissions(&encrypted_key, std::fs::Permissions::from_mode(0o600)).unwrap();
    Fixture {
        home,
        server,
        root: root_file,
        cert,
        key,
        encrypted_key,
    }
}

fn cases(f: &Fixture) -> Vec<String> {
    let port = f.server.port;
    let base = |user: &str, rest: &str| {
        format!(
            "host=localhost port={port} dbname=postgres user={user} sslrootcert={} {rest}",
            f.root.display()
        )
    };
    let (cert, key, enc) = (f.cert.display(), f.key.display(), f.encrypted_key.display());
    vec![
        base("scram_user", "password=scram-pw sslmode=verify-full"),
        base(
            "scram_user",
            "password=scram-pw sslmode=require channel_binding=disable",
        ),
        base(
            "scram_user",
            "password=scram-pw sslmode=require channel_binding=require",
        ),
        base("scram_user", "password=wrong sslmode=require"),
        base("scram_user", "password=scram-pw sslmode=disable"),
        base("md5_user", "password=md5-pw sslmode=prefer"),
        base("md5_user", "password=md5-pw sslmode=disable"),
        base("md5_user", "password=wrong sslmode=require"),
        base(
            "md5_user",
            "password=md5-pw sslmode=require channel_binding=require",
        ),
        base("postgres", "sslmode=require"),
        format!("host=localhost port={port} user=scram_user password=scram-pw sslmode=require"),
        base("postgres", "sslmode=require channel_binding=require"),
        base(
            "cert_user",
            &format!("sslmode=verify-full sslcert={cert} sslkey={key}"),
        ),
        base("cert_user", "sslmode=verify-full"),
        base(
            "cert_user",
            &format!("sslmode=verify-full sslcert={cert} sslkey={key} sslcertmode=disable"),
        ),
        base(
            "cert_user",
            &format!("sslmode=verify-full sslcert={cert} sslkey={enc} sslpassword=key-secret"),
        ),
        base(
            "cert_user",
            &format!("sslmode=verify-full sslcert={cert} sslkey={enc} sslpassword=wrong"),
        ),
        base(
            "cert_user",
            &format!("sslmode=verify-full sslcert={cert} sslkey={key} sslcertmode=require"),
        ),
        base("ssl_only", "sslmode=disable"),
        base("ssl_only", "sslmode=allow"),
        base("nossl_only", "sslmode=require"),
        base("nossl_only", "sslmode=prefer"),
    ]
}

fn matrix(version: Version) {
    let f = fixture(version);
    compare_with_libpq(f.home.path(), &cases(&f));
    // The password from PGPASSWORD, as libpq takes it.
    let from_env = vec![format!(
        "host=localhost port={} dbname=postgres user=scram_user sslmode=require",
        f.server.port
    )];
    compare_with_libpq_in(f.home.path(), &from_env, &[("PGPASSWORD", "scram-pw")]);
}

#[test]
fn logins_get_libpqs_verdict_on_postgresql_15() {
    matrix(Version::V15);
}

#[test]
fn logins_get_libpqs_verdict_on_postgresql_17() {
    matrix(Version::V17);
}

#[test]
fn logins_get_libpqs_verdict_on_postgresql_18() {
    matrix(Version::V18);
}

fn login(f: &Fixture, conninfo: &str) -> Value {
    let out = pgtls(f.home.path())
        .args(["check", "--format", "json", conninfo])
        .output()
        .unwrap();
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    doc["targets"][0].clone()
}

#[test]
fn the_report_names_the_method_and_the_servers_view() {
    let f = fixture(Version::V17);
    let port = f.server.port;
    let root = f.root.display();
    let t = login(
        &f,
        &format!(
            "host=localhost port={port} dbname=postgres user=scram_user password=scram-pw sslmode=verify-full sslrootcert={root}"
        ),
    );
    assert_eq!(t["exit_code"], 0, "{t}");
    assert_eq!(t["login"]["authenticated"], true);
    assert_eq!(t["login"]["method"], "SCRAM-SHA-256-PLUS");
    assert_eq!(t["login"]["server_tls"]["version"], t["tls"]["protocol"]);
    assert_eq!(t["login"]["server_tls"]["cipher"], t["tls"]["cipher"]);
    assert!(t["login"]["server_tls"]["bits"].as_u64().unwrap() >= 128);
    let t = login(
        &f,
        &format!(
            "host=localhost port={port} dbname=postgres user=scram_user password=scram-pw sslmode=require channel_binding=disable"
        ),
    );
    assert_eq!(t["login"]["method"], "SCRAM-SHA-256");
    let t = login(
        &f,
        &format!(
            "host=localhost port={port} dbname=postgres user=md5_user password=md5-pw sslmode=require"
        ),
    );
    assert_eq!(t["login"]["method"], "md5");
    let t = login(
        &f,
        &format!("host=localhost port={port} dbname=postgres user=scram_user sslmode=require"),
    );
    assert_eq!(t["exit_code"], 0, "no password: the TLS verdict stands");
    assert_eq!(t["login"]["authenticated"], false);
    assert!(
        t["login"]["stopped"]
            .as_str()
            .unwrap()
            .contains("no password")
    );
    let (cert, key) = (f.cert.display(), f.key.display());
    let t = login(
        &f,
        &format!(
            "host=localhost port={port} dbname=postgres user=cert_user sslmode=verify-full sslrootcert={root} sslcert={cert} sslkey={key}"
        ),
    );
    assert_eq!(t["login"]["method"], "cert");
    assert_eq!(t["client_certificate"]["requested"], true);
    assert_eq!(t["client_certificate"]["sent"], true);
    assert!(
        t["login"]["server_tls"]["client_dn"]
            .as_str()
            .unwrap()
            .contains("cert_user")
    );
    // A wrong password: the summary still says what TLS established, and the hint is
    // docs/troubleshooting.md's fix.
    for (sslmode, established) in [
        ("require", "chain verified)"),
        ("verify-full", "chain and host name verified)"),
    ] {
        let t = login(
            &f,
            &format!(
                "host=localhost port={port} dbname=postgres user=scram_user password=wrong sslmode={sslmode} sslrootcert={root}"
            ),
        );
        assert_eq!(t["exit_code"], 8);
        let summary = t["summary"].as_str().unwrap();
        assert!(
            summary.starts_with("fails: ")
                && summary.contains("password authentication failed for user \"scram_user\"")
                && summary.contains(" (after TLSv1.3 (")
                && summary.ends_with(established),
            "{sslmode}: {summary}"
        );
        let rejected = t["findings"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["code"] == "rejected")
            .unwrap();
        assert!(
            rejected["hint"].as_str().unwrap().starts_with(
                "the server refused the password: fix password=, PGPASSWORD or ~/.pgpass"
            ),
            "{rejected}"
        );
    }
}

#[test]
fn key_files_follow_libpqs_rules() {
    let f = fixture(Version::V15);
    let port = f.server.port;
    let exposed = write(
        f.home.path(),
        "exposed.key",
        &std::fs::read_to_string(&f.key).unwrap(),
        0o644,
    );
    let legacy = write(
        f.home.path(),
        "legacy.key",
        "-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-256-CBC,00\n\nAAAA\n-----END RSA PRIVATE KEY-----\n",
        0o600,
    );
    let not_a_key = write(
        f.home.path(),
        "not-a-key.pem",
        &std::fs::read_to_string(&f.root).unwrap(),
        0o600,
    );
    let cert = f.cert.display();
    let cases = [
        (
            format!("sslkey={}", exposed.display()),
            "has group or world access",
        ),
        (
            format!("sslkey={}/missing.key", f.home.path().display()),
            "certificate present, but not private key file",
        ),
        (
            format!("sslkey={}", f.encrypted_key.display()),
            "the key is encrypted and no sslpassword is set",
        ),
        (
            format!("sslkey={}", legacy.display()),
            "legacy OpenSSL key encryption",
        ),
        (
            format!("sslkey={}", not_a_key.display()),
            "could not load private key file",
        ),
    ];
    for (key, message) in cases {
        let conninfo = format!(
            "host=localhost port={port} dbname=postgres user=cert_user sslmode=require sslcert={cert} {key}"
        );
        let out = pgtls(f.home.path())
            .args(["check", &conninfo])
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{conninfo}: {stderr}");
        assert!(stderr.contains(message), "{conninfo}: {stderr}");
    }
}

#[test]
fn client_keys_load_in_every_format_libpq_reads() {
    let f = fixture(Version::V15);
    let dir = f.home.path();
    let openssl = |args: &[&str]| crate::pki::openssl(dir, args);
    let key = f.key.display().to_string();
    openssl(&["ec", "-in", &key, "-out", "sec1.key"]);
    openssl(&[
        "pkcs8",
        "-topk8",
        "-nocrypt",
        "-in",
        &key,
        "-outform",
        "DER",
        "-out",
        "pkcs8.der",
    ]);
    openssl(&[
        "x509",
        "-in",
        &f.cert.display().to_string(),
        "-outform",
        "DER",
        "-out",
        "client.der",
    ]);
    // An RSA key in PKCS#1 form: readable, but not the certificate's key.
    openssl(&["genrsa", "-traditional", "-out", "rsa.key", "2048"]);
    for name in ["sec1.key", "pkcs8.der", "rsa.key"] {
        std::fs::set_permissions(dir.join(name), std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    let port = f.server.port;
    let root = f.root.display();
    let cert = f.cert.display();
    let cases = [
        format!(
            "host=localhost port={port} dbname=postgres user=cert_user sslmode=verify-full sslrootcert={root} sslcert={cert} sslkey={}/sec1.key",
            dir.display()
        ),
        format!(
            "host=localhost port={port} dbname=postgres user=cert_user sslmode=verify-full sslrootcert={root} sslcert={cert} sslkey={}/pkcs8.der",
            dir.display()
        ),
        format!(
            "host=localhost port={port} dbname=postgres user=cert_user sslmode=verify-full sslrootcert={root} sslcert={}/client.der sslkey={key}",
            dir.display()
        ),
        // A key that is not the certificate's.
        format!(
            "host=localhost port={port} dbname=postgres user=cert_user sslmode=verify-full sslrootcert={root} sslcert={cert} sslkey={}/rsa.key",
            dir.display()
        ),
    ];
    let codes: Vec<i32> = cases
        .iter()
        .map(|c| {
            pgtls(dir)
                .args(["check", c])
                .output()
                .unwrap()
                .status
                .code()
                .unwrap_or(-1)
        })
        .collect();
    // libpq reads client certificates as PEM only, so a DER one is refused as it refuses it.
    assert_eq!(codes, [0, 0, 2, 2]);
    let out = pgtls(dir).args(["check", &cases[3]]).output().unwrap();
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("certificate does not match private key file")
    );
    compare_with_libpq(dir, &cases[..3]);
}
