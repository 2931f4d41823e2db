//! Key exchange groups against a real PostgreSQL 18 on OpenSSL 3.5 or later, configured with
//! `ssl_groups` lists: post-quantum first, post-quantum only, classic only, one curve (which costs
//! a HelloRetryRequest), groups libpq does not offer. For each, the group pgtls negotiates, its
//! HelloRetryRequest fact and its verdict equal libpq's, as the TLS tap sees libpq's handshake;
//! and the audit lists exactly the groups the server was configured to accept.

use serde_json::Value;

use crate::harness::{first_target, libpq_connect, pgtls};
use crate::pki::{Ca, ServerCert};
use crate::server::{Server, Setup, Version, shared_tempdir};
use crate::tap::Tap;

/// A server of `version` with these settings and a certificate for localhost.
fn server(version: Version, settings: &[(&'static str, &str)]) -> Server {
    let root = Ca::root("pgtls groups root");
    let leaf = root.server(&ServerCert::localhost());
    let mut setup = Setup::tls(leaf.cert_pem, leaf.key_pem);
    for (name, value) in settings {
        setup.settings.push((name, value.to_string()));
    }
    Server::start(version, &setup)
}

fn check(home: &std::path::Path, conninfo: &str, extra: &[&str]) -> (i32, Value) {
    first_target(
        pgtls(home)
            .args(["check", "--format", "json"])
            .args(extra)
            .arg(conninfo),
    )
}

/// The groups an audit found accepted.
fn accepted(t: &Value) -> Vec<String> {
    t["audit"]["groups"]
        .as_array()
        .unwrap_or(&Vec::new())
        .iter()
        .filter(|g| g["accepted"] == true)
        .map(|g| g["name"].as_str().unwrap().to_string())
        .collect()
}

fn codes(t: &Value) -> Vec<String> {
    t["findings"]
        .as_array()
        .unwrap_or(&Vec::new())
        .iter()
        .map(|f| f["code"].as_str().unwrap().to_string())
        .collect()
}

/// The groups rustls cannot speak, left out of what pgtls offers.
fn speakable(offered: &Value) -> Vec<Value> {
    offered
        .as_array()
        .unwrap()
        .iter()
        .filter(|g| !matches!(g.as_str(), Some("X448" | "ffdhe2048" | "ffdhe3072")))
        .cloned()
        .collect()
}

/// ssl_groups, whether libpq connects, the group, whether a HelloRetryRequest comes first, and the
/// groups the server accepts.
type Case = (
    &'static str,
    bool,
    Option<&'static str>,
    bool,
    &'static [&'static str],
);

#[test]
fn each_ssl_groups_setting_gets_libpqs_group_retry_and_verdict() {
    let cases: [Case; 6] = [
        (
            "X25519MLKEM768:X25519:prime256v1",
            true,
            Some("X25519MLKEM768"),
            false,
            &["X25519MLKEM768", "X25519", "P-256"],
        ),
        (
            "MLKEM768:X25519MLKEM768",
            true,
            Some("X25519MLKEM768"),
            false,
            &["X25519MLKEM768", "MLKEM768"],
        ),
        // PostgreSQL 18's default.
        (
            "X25519:prime256v1",
            true,
            Some("X25519"),
            false,
            &["X25519", "P-256"],
        ),
        // PostgreSQL 17's default curve, as PostgreSQL 18 can still be set.
        ("prime256v1", true, Some("P-256"), true, &["P-256"]),
        ("secp521r1", true, Some("P-521"), true, &["P-521"]),
        // Groups libpq does not offer by default: libpq fails, and so does pgtls.
        (
            "SecP384r1MLKEM1024:SecP256r1MLKEM768",
            false,
            None,
            false,
            &["SecP256r1MLKEM768", "SecP384r1MLKEM1024"],
        ),
    ];
    let home = shared_tempdir();
    for (groups, connects, group, retry, accepts) in cases {
        let s = server(Version::V18Pq, &[("ssl_groups", groups)]);
        let tap = Tap::start(s.port);
        let through = format!(
            "host=127.0.0.1 port={} user=postgres dbname=postgres sslmode=require gssencmode=disable",
            tap.port
        );
        let libpq = &libpq_connect(home.path(), std::slice::from_ref(&through))[0];
        let libpq_saw = tap.next();
        assert_eq!(libpq["ok"], connects, "{groups}: {libpq}");
        let (code, t) = check(home.path(), &through, &[]);
        let pgtls_saw = tap.next();
        assert_eq!(code == 0, connects, "{groups}: {t}");
        if !connects {
            assert_eq!(code, 5, "{groups}: {t}");
            assert!(
                t["findings"][0]["hint"]
                    .as_str()
                    .unwrap()
                    .contains("ssl_groups"),
                "{groups}: {t}"
            );
        }
        // What pgtls offers is libpq's offer, less the groups rustls does not speak.
        assert_eq!(
            pgtls_saw["offered"].as_array().unwrap(),
            &speakable(&libpq_saw["offered"]),
            "{groups}"
        );
        assert_eq!(pgtls_saw["shares"], libpq_saw["shares"], "{groups}");
        assert_eq!(libpq_saw["group"].as_str(), group, "{groups}: {libpq_saw}");
        assert_eq!(pgtls_saw["group"].as_str(), group, "{groups}: {pgtls_saw}");
        assert_eq!(libpq_saw["hello_retry"], retry, "{groups}: {libpq_saw}");
        if connects {
            assert_eq!(
                t["tls"]["key_exchange_group"].as_str(),
                group,
                "{groups}: {t}"
            );
            assert_eq!(t["tls"]["hello_retry"], retry, "{groups}: {t}");
            assert_eq!(
                codes(&t).contains(&"hello_retry".to_string()),
                retry,
                "{groups}: {t}"
            );
        }
        let conninfo = format!("{} sslmode=require", s.conninfo());
        let (_, audited) = check(home.path(), &conninfo, &["--audit"]);
        let mut want: Vec<String> = accepts.iter().map(|g| g.to_string()).collect();
        let mut got = accepted(&audited);
        want.sort();
        got.sort();
        assert_eq!(got, want, "{groups}: {audited}");
        // The hand-built hellos of the other probes (old protocols, legacy suites; no key
        // share) get straight answers from a strict server too. PostgreSQL's default
        // ssl_ciphers (HIGH:MEDIUM:+3DES:!aNULL) on OpenSSL 3.6 leave CBC suites (as `openssl
        // s_client -tls1_2 -cipher ECDHE-ECDSA-AES256-SHA384` confirms) and nothing older; TLS 1.2
        // needs a classic group.
        let classic = accepts.iter().any(|g| !g.contains("MLKEM"));
        let protocols = &audited["audit"]["protocols"];
        for (version, accepted) in [
            ("TLSv1.3", true),
            ("TLSv1.2", classic),
            ("TLSv1.1", false),
            ("TLSv1.0", false),
            ("SSLv3", false),
        ] {
            assert_eq!(
                protocols[version], accepted,
                "{groups} {version}: {audited}"
            );
        }
        let legacy: Vec<(&str, bool)> = audited["audit"]["legacy_suites"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| (l["family"].as_str().unwrap(), l["accepted"] == true))
            .collect();
        let want_legacy = [
            ("static_rsa", false),
            ("cbc", classic),
            ("3des", false),
            ("rc4", false),
            ("export", false),
            ("null", false),
        ];
        assert_eq!(legacy, want_legacy, "{groups}: {audited}");
        // libpq on OpenSSL older than 3.5 offers only classic groups.
        assert_eq!(
            codes(&audited).contains(&"older_stack_fails".to_string()),
            !classic && connects,
            "{groups}: {audited}"
        );
        let post_quantum = accepts.iter().any(|g| g.contains("MLKEM"));
        assert_eq!(
            codes(&audited).contains(&"no_post_quantum".to_string()),
            !post_quantum,
            "{groups}: {audited}"
        );
    }
}

#[test]
fn a_tls_12_server_with_a_p521_certificate_connects_as_with_libpq() {
    let case = crate::check::p521_case("P-521 under TLS 1.2", "-sha512");
    let home = shared_tempdir();
    let root_file = home.path().join("root.crt");
    std::fs::write(&root_file, &case.root_file).unwrap();
    let mut setup = Setup::tls(case.chain, case.key);
    setup
        .settings
        .push(("ssl_max_protocol_version", "TLSv1.2".into()));
    for version in [Version::V15, Version::V18Pq] {
        let s = Server::start(version, &setup);
        let conninfo = format!(
            "{} sslmode=verify-full sslrootcert={}",
            s.conninfo(),
            root_file.display()
        );
        let libpq = &libpq_connect(home.path(), std::slice::from_ref(&conninfo))[0];
        assert_eq!(libpq["ok"], true, "{version:?}: {libpq}");
        let (code, t) = check(home.path(), &conninfo, &[]);
        assert_eq!(code, 0, "{version:?}: {t}");
        assert_eq!(t["tls"]["protocol"], "TLSv1.2", "{version:?}: {t}");
    }
}
