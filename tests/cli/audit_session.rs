//! `--audit` after the handshake, against servers that do what a real PostgreSQL cannot: one
//! that goes on with an unknown protocol version without negotiating, an SNI-routing proxy that
//! refuses a connection without SNI (Neon's words), one whose certificate differs by SNI, and
//! one that answers a cancel request over TLS with an error. (Real PostgreSQL and PgBouncer:
//! tests/cli/pooler.rs.)

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;

use serde_json::Value;

use crate::fake::{answer_queries, message};
use crate::harness::pgtls;
use crate::pki::{Ca, Issued, ServerCert};
use crate::server::shared_tempdir;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Behaviour {
    /// Goes on with any startup message, whatever version or option it asks for.
    AcceptsAnyVersion,
    /// Refuses a startup message that came without SNI, as Neon's proxy does.
    NeedsSni,
    /// Another certificate when no SNI comes.
    CertificateBySni,
    /// Answers a cancel request over TLS with an error.
    RefusesCancel,
}

fn error(text: &str) -> Vec<u8> {
    message(
        b'E',
        format!("SFATAL\0VFATAL\0C08P01\0M{text}\0\0").as_bytes(),
    )
}

/// With SNI the first certificate, without it the second.
#[derive(Debug)]
struct BySni(
    Arc<rustls::sign::CertifiedKey>,
    Arc<rustls::sign::CertifiedKey>,
);

impl rustls::server::ResolvesServerCert for BySni {
    fn resolve(
        &self,
        hello: rustls::server::ClientHello<'_>,
    ) -> Option<Arc<rustls::sign::CertifiedKey>> {
        Some(if hello.server_name().is_some() {
            self.0.clone()
        } else {
            self.1.clone()
        })
    }
}

fn certified(
    issued: &Issued,
    provider: &rustls::crypto::CryptoProvider,
) -> Arc<rustls::sign::CertifiedKey> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let certs = vec![CertificateDer::from_pem_slice(issued.cert_pem.as_bytes()).unwrap()];
    let key = PrivateKeyDer::from_pem_slice(issued.key_pem.as_bytes()).unwrap();
    Arc::new(rustls::sign::CertifiedKey::from_der(certs, key, provider).unwrap())
}

/// PostgreSQL 19's `pg_hosts.conf` as a stand-in: a certificate per requested name, and the
/// `no_sni` one when no name comes (or an unknown one, as its `*` entry).
#[derive(Debug)]
struct PerName(
    Vec<(String, Arc<rustls::sign::CertifiedKey>)>,
    Arc<rustls::sign::CertifiedKey>,
);

impl rustls::server::ResolvesServerCert for PerName {
    fn resolve(
        &self,
        hello: rustls::server::ClientHello<'_>,
    ) -> Option<Arc<rustls::sign::CertifiedKey>> {
        let asked = hello.server_name();
        Some(
            self.0
                .iter()
                .find(|(name, _)| Some(name.as_str()) == asked)
                .map_or_else(|| self.1.clone(), |(_, key)| key.clone()),
        )
    }
}

fn start(behaviour: Behaviour, with: &Issued, without: &Issued) -> u16 {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let resolver = BySni(certified(with, &provider), certified(without, &provider));
    listen(behaviour, provider, Arc::new(resolver))
}

fn listen(
    behaviour: Behaviour,
    provider: Arc<rustls::crypto::CryptoProvider>,
    resolver: Arc<dyn rustls::server::ResolvesServerCert>,
) -> u16 {
    let config = Arc::new(
        rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_cert_resolver(resolver),
    );
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let config = config.clone();
            std::thread::spawn(move || serve(stream, behaviour, config));
        }
    });
    port
}

fn serve(mut tcp: TcpStream, behaviour: Behaviour, config: Arc<rustls::ServerConfig>) {
    let _ = tcp.set_read_timeout(Some(std::time::Duration::from_secs(10)));
    let mut request = [0u8; 8];
    if tcp.read_exact(&mut request).is_err() || request[4..] != 80_877_103u32.to_be_bytes() {
        return;
    }
    let _ = tcp.write_all(b"S");
    let mut tls = rustls::StreamOwned::new(rustls::ServerConnection::new(config).unwrap(), tcp);
    let mut header = [0u8; 8];
    if tls.read_exact(&mut header).is_err() {
        return;
    }
    let sni = tls.conn.server_name().is_some();
    let length = u32::from_be_bytes([header[0], header[1], header[2], header[3]]) as usize;
    let code = u32::from_be_bytes([header[4], header[5], header[6], header[7]]);
    let mut rest = vec![0u8; length.saturating_sub(8)];
    if tls.read_exact(&mut rest).is_err() {
        return;
    }
    let out = if code == 80_877_102 {
        // A cancel request: PostgreSQL reads it and closes.
        if behaviour == Behaviour::RefusesCancel {
            error("cancel requests are not supported over TLS")
        } else {
            Vec::new()
        }
    } else if behaviour == Behaviour::NeedsSni && !sni {
        error(
            "Endpoint ID is not specified. Either please upgrade the postgres client library (libpq) for SNI support or pass the endpoint ID (first part of the domain name) as a parameter: '?options=endpoint%3D<endpoint-id>'.",
        )
    } else {
        let minor = code & 0xffff;
        let options: Vec<&[u8]> = rest
            .split(|b| *b == 0)
            .step_by(2)
            .filter(|name| name.starts_with(b"_pq_."))
            .collect();
        let mut out = Vec::new();
        if behaviour != Behaviour::AcceptsAnyVersion && (minor > 0 || !options.is_empty()) {
            let mut body = 0x30000u32.to_be_bytes().to_vec();
            body.extend((options.len() as u32).to_be_bytes());
            for option in options {
                body.extend(option);
                body.push(0);
            }
            out.extend(message(b'v', &body));
        }
        out.extend(message(b'R', &0u32.to_be_bytes()));
        out.extend(message(b'K', &[0, 0, 0, 1, 0, 0, 0, 2]));
        out.extend(message(b'Z', b"I"));
        out
    };
    let went_on = out.ends_with(b"Z\0\0\0\x05I");
    let _ = tls.write_all(&out);
    let _ = tls.flush();
    // Logged in: every query gets an empty answer until Terminate.
    if went_on {
        answer_queries(&mut tls);
    }
    tls.conn.send_close_notify();
    let _ = tls.flush();
}

fn audit(port: u16) -> (Value, Vec<String>) {
    let home = shared_tempdir();
    let out = pgtls(home.path())
        .args([
            "check",
            "--audit",
            "--format",
            "json",
            "--timeout",
            "10",
            &format!("host=localhost port={port} user=u dbname=d sslmode=require"),
        ])
        .output()
        .unwrap();
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    let target = doc["targets"][0].clone();
    let codes = target["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["code"].as_str().unwrap().to_string())
        .collect();
    (target["audit"].clone(), codes)
}

#[test]
fn the_audit_finds_what_poolers_and_proxies_get_wrong_after_the_handshake() {
    let ca = Ca::root("pgtls audit session root");
    let first = ca.server(&ServerCert::localhost());
    let second = ca.server(&ServerCert::localhost());
    // (server, its certificates, findings expected, findings not expected)
    let cases: [(Behaviour, bool, &[&str], &[&str]); 4] = [
        (
            Behaviour::AcceptsAnyVersion,
            false,
            &["protocol_negotiation_broken"],
            &[
                "sni_required",
                "cancel_over_tls_refused",
                "sni_certificate_differs",
            ],
        ),
        (
            Behaviour::NeedsSni,
            false,
            &["sni_required"],
            &["protocol_negotiation_broken", "sni_certificate_differs"],
        ),
        (
            Behaviour::CertificateBySni,
            true,
            &["sni_certificate_differs"],
            &["sni_required", "protocol_negotiation_broken"],
        ),
        (
            Behaviour::RefusesCancel,
            false,
            &["cancel_over_tls_refused"],
            &["sni_required", "protocol_negotiation_broken"],
        ),
    ];
    for (behaviour, two_certificates, expected, unexpected) in cases {
        let without = if two_certificates { &second } else { &first };
        let (audit, codes) = audit(start(behaviour, &first, without));
        for code in expected {
            assert!(
                codes.contains(&code.to_string()),
                "{code} missing: {codes:?}\n{audit:#}"
            );
        }
        for code in unexpected {
            assert!(
                !codes.contains(&code.to_string()),
                "{code} found: {codes:?}\n{audit:#}"
            );
        }
        match behaviour {
            Behaviour::AcceptsAnyVersion => {
                assert_eq!(
                    audit["startup_versions"][2]["found"]["answer"], "accepted",
                    "{audit:#}"
                );
            }
            Behaviour::NeedsSni => {
                let answer = audit["sni"]["without_sni"]["answer"].as_str().unwrap();
                assert!(answer.contains("Endpoint ID is not specified"), "{audit:#}");
                assert_eq!(audit["sni"]["with_sni"]["went_on"], true, "{audit:#}");
            }
            Behaviour::CertificateBySni => assert_ne!(
                audit["sni"]["with_sni"]["certificate_sha256"],
                audit["sni"]["without_sni"]["certificate_sha256"]
            ),
            Behaviour::RefusesCancel => {
                assert_eq!(audit["cancel_over_tls"], false, "{audit:#}");
                let answer = audit["cancel_answer"].as_str().unwrap();
                assert!(answer.contains("not supported over TLS"), "{audit:#}");
            }
        }
        // The GREASE probe of a server that negotiates names the option it did not know.
        if behaviour != Behaviour::AcceptsAnyVersion {
            assert_eq!(
                audit["startup_versions"][2]["found"]["options"][0], "_pq_.pgtls_grease",
                "{audit:#}"
            );
        }
    }
}

#[test]
fn a_check_by_address_through_an_sni_routing_proxy_is_refused_as_libpq_is_and_says_why() {
    let ca = Ca::root("pgtls sni proxy root");
    let leaf = ca.server(&ServerCert::localhost());
    let port = start(Behaviour::NeedsSni, &leaf, &leaf);
    let home = shared_tempdir();
    let by = |host: &str| format!("host={host} port={port} user=u dbname=d sslmode=require");
    let libpq = crate::harness::libpq_connect(home.path(), &[by("127.0.0.1"), by("localhost")]);
    assert_eq!(libpq[0]["ok"], false, "{}", libpq[0]);
    assert_eq!(libpq[1]["ok"], true, "{}", libpq[1]);
    for (host, code) in [("127.0.0.1", 8), ("localhost", 0)] {
        let out = pgtls(home.path())
            .args(["check", "--format", "json", &by(host)])
            .output()
            .unwrap();
        let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
        let target = &doc["targets"][0];
        assert_eq!(out.status.code(), Some(code), "{target:#}");
        let sni_required = target["findings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["code"] == "sni_required");
        assert_eq!(sni_required, code != 0, "{host}: {target:#}");
    }
    let words = libpq[0]["error"].as_str().unwrap();
    assert!(words.contains("Endpoint ID is not specified"), "{words}");
}

const NEON_HOST: &str = "ep-cool-darkness-123456.us-east-2.aws.neon.tech";

#[test]
fn a_neon_endpoint_by_address_gets_neons_own_advice_and_by_its_name_connects() {
    let ca = Ca::root("pgtls neon stand-in root");
    let leaf = ca.server(&ServerCert {
        cn: Some(NEON_HOST),
        dns: vec![NEON_HOST],
        ips: vec!["127.0.0.1".parse().unwrap()],
        ..ServerCert::localhost()
    });
    let port = start(Behaviour::NeedsSni, &leaf, &leaf);
    let home = shared_tempdir();
    let dir = home.path();
    let root = dir.join("root.pem");
    std::fs::write(&root, &ca.cert_pem).unwrap();
    let hosts = dir.join("hosts");
    std::fs::write(
        &hosts,
        format!("127.0.0.1 localhost\n127.0.0.1 {NEON_HOST}\n"),
    )
    .unwrap();
    let by = |host: &str| {
        format!(
            "host={host} port={port} user=u dbname=d sslmode=verify-full sslrootcert={}",
            root.display()
        )
    };
    let strings = [by("127.0.0.1"), by(NEON_HOST)];
    let libpq = crate::harness::libpq_connect_with_hosts(dir, &hosts, &strings);
    for ((conninfo, libpq), (code, recognised_by)) in strings.iter().zip(&libpq).zip([
        (8, "server error \"Endpoint ID is not specified\""),
        (0, "host name under .neon.tech"),
    ]) {
        assert_eq!(libpq["ok"], code == 0, "{conninfo}: {libpq}");
        let out = crate::harness::pgtls_with_hosts(dir, &hosts)
            .args(["check", "--format", "json", conninfo])
            .output()
            .unwrap();
        let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
        let target = &doc["targets"][0];
        assert_eq!(out.status.code(), Some(code), "{target:#}");
        assert_eq!(target["provider"]["profile"], "neon", "{target:#}");
        assert_eq!(target["provider"]["recognised_by"], recognised_by);
        let sni = target["findings"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["code"] == "sni_required");
        assert_eq!(sni.is_some(), code != 0, "{target:#}");
        if let Some(sni) = sni {
            let hint = sni["hint"].as_str().unwrap();
            assert!(
                hint.starts_with("Neon's proxy picks the endpoint from the TLS server name")
                    && hint.contains("options=endpoint%3Dep-NAME-ID"),
                "{hint}"
            );
        }
    }
}

/// `--audit --sni-names` against a stand-in for PostgreSQL 19's per-name certificates (no
/// PostgreSQL 19 build can be installed here): which certificate each name gets, one that does
/// not cover its name, and the no_sni certificate a client connecting by address reaches.
#[test]
fn the_audit_asks_for_each_names_certificate_as_postgresql_19_serves_them() {
    let home = shared_tempdir();
    let ca = Ca::root("pgtls per-name root");
    let spec = |dns: Vec<&'static str>, serial| ServerCert {
        dns,
        ips: vec![],
        serial,
        ..ServerCert::localhost()
    };
    let orders = ca.server(&spec(vec!["orders.db.test"], 10));
    let billing = ca.server(&spec(vec!["old-billing.db.test"], 11));
    let fallback = ca.server(&spec(vec!["localhost"], 12));
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let resolver = PerName(
        vec![
            ("orders.db.test".into(), certified(&orders, &provider)),
            ("billing.db.test".into(), certified(&billing, &provider)),
        ],
        certified(&fallback, &provider),
    );
    let port = listen(Behaviour::CertificateBySni, provider, Arc::new(resolver));
    let root = home.path().join("per-name-root.crt");
    std::fs::write(&root, &ca.cert_pem).unwrap();
    let out = pgtls(home.path())
        .args([
            "check",
            "--format",
            "json",
            "--audit",
            "--sni-names",
            "orders.db.test,billing.db.test",
        ])
        .arg(format!(
            "host=127.0.0.1 port={port} user=postgres sslmode=verify-ca sslrootcert={}",
            root.display()
        ))
        .output()
        .unwrap();
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    let target = &doc["targets"][0];
    let by_name: Vec<(Value, Value, Value)> = target["audit"]["sni_names"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["name"].clone(), c["subject"].clone(), c["covers"].clone()))
        .collect();
    assert_eq!(
        by_name,
        [
            (
                Value::from("orders.db.test"),
                Value::from("CN=localhost"),
                Value::Bool(true)
            ),
            (
                Value::from("billing.db.test"),
                Value::from("CN=localhost"),
                Value::Bool(false)
            ),
            (Value::Null, Value::from("CN=localhost"), Value::Null),
        ],
        "{target:#}"
    );
    let codes: Vec<&str> = target["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["code"].as_str().unwrap())
        .collect();
    assert!(codes.contains(&"sni_name_not_covered"), "{codes:?}");
    let fallback_finding = target["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| {
            f["code"] == "sni_certificate_differs"
                && f["message"]
                    .as_str()
                    .unwrap()
                    .contains("as this target does")
        })
        .unwrap_or_else(|| panic!("{target:#}"));
    assert_eq!(fallback_finding["severity"], "warning");
    assert_eq!(
        out.status.code(),
        Some(0),
        "verify-ca by address connects: {target:#}"
    );
}
