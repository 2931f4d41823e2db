//! Round trips per check, as `check --verbose` counts them and the manual tabulates them, on
//! real servers: each is one the protocol (and libpq's order) requires, or the server-view
//! query pgtls adds once logged in.

use crate::harness::pgtls;
use crate::pki::{Ca, ServerCert};
use crate::server::{Server, Setup, Version, shared_tempdir};

/// The round trips of a check's report (every attempt).
fn round_trips(home: &std::path::Path, conninfo: &str, password: Option<&str>) -> u64 {
    let mut cmd = pgtls(home);
    if let Some(password) = password {
        cmd.env("PGPASSWORD", password);
    }
    let out = cmd
        .args(["check", "--format", "json", conninfo])
        .output()
        .unwrap();
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    doc["targets"][0]["attempts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["timings"]["round_trips"].as_u64().unwrap())
        .sum()
}

#[test]
fn each_path_takes_the_round_trips_the_manual_counts() {
    let home = shared_tempdir();
    let ca = Ca::root("pgtls round trips root");
    let leaf = ca.server(&ServerCert::localhost());
    let root = home.path().join("root.crt");
    std::fs::write(&root, &ca.cert_pem).unwrap();
    let setup = |hba: &'static str| {
        let mut setup = Setup::tls(leaf.cert_pem.clone(), leaf.key_pem.clone());
        setup.hba.insert(0, hba);
        setup
    };
    let v18 = Server::start(
        Version::V18,
        &setup("host all app 127.0.0.1/32 scram-sha-256"),
    );
    v18.sql("CREATE ROLE app LOGIN PASSWORD 's3cret'");
    let v15 = Server::start(Version::V15, &setup("host all app 127.0.0.1/32 md5"));
    v15.sql("SET password_encryption = 'md5'; CREATE ROLE app LOGIN PASSWORD 's3cret'");
    let at = |server: &Server, rest: &str| {
        format!(
            "host=localhost port={} dbname=postgres sslrootcert={} {rest}",
            server.port,
            root.display()
        )
    };
    // (server, settings, password, round trips: why)
    let cases: [(&Server, &str, Option<&str>, u64, &str); 8] = [
        (
            &v18,
            "user=postgres sslmode=disable",
            None,
            3,
            "TCP, startup, query",
        ),
        (
            &v18,
            "user=postgres sslmode=verify-full",
            None,
            5,
            "TCP, SSLRequest, TLS 1.3, startup, query",
        ),
        (
            &v18,
            "user=postgres sslmode=verify-full sslnegotiation=direct",
            None,
            4,
            "TCP, TLS 1.3, startup, query",
        ),
        (
            &v18,
            "user=app sslmode=verify-full",
            Some("s3cret"),
            7,
            "… startup, SCRAM's two steps, query",
        ),
        (
            &v18,
            "user=app sslmode=verify-full",
            None,
            4,
            "… startup: no password, no login, no query",
        ),
        (
            &v18,
            "user=postgres sslmode=verify-full ssl_max_protocol_version=TLSv1.2",
            None,
            6,
            "TLS 1.2's two",
        ),
        (
            &v15,
            "user=postgres sslmode=verify-full",
            None,
            6,
            "a HelloRetryRequest for P-256",
        ),
        (
            &v15,
            "user=app sslmode=verify-full",
            Some("s3cret"),
            7,
            "… HelloRetryRequest, MD5's one step",
        ),
    ];
    for (server, rest, password, expected, why) in cases {
        let conninfo = at(server, rest);
        assert_eq!(
            round_trips(home.path(), &conninfo, password),
            expected,
            "{rest} ({why})"
        );
    }
    // The text report shows them with --verbose.
    let out = pgtls(home.path())
        .args([
            "check",
            "--verbose",
            &at(&v18, "user=postgres sslmode=verify-full"),
        ])
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains(", 5 round trips\n"), "{text}");
}
