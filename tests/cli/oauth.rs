//! OAUTHBEARER (PostgreSQL 18) against stand-ins, since a real PostgreSQL needs an OAuth
//! validator module to ask for it: a PostgreSQL-protocol server that asks for OAUTHBEARER and
//! answers the discovery request with its issuer, and a local HTTPS issuer, good and bad.
//! Compared with psycopg's libpq 18, which reads the same settings and stops with the same
//! messages; no token is ever requested.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::Arc;

use serde_json::Value;

use crate::fake::{message, read_message};
use crate::harness::finding;
use crate::harness::{libpq_connect_in, pgtls};
use crate::pki::{Ca, ServerCert};
use crate::server::shared_tempdir;

/// A PostgreSQL-protocol server (no TLS) that asks for OAUTHBEARER and, to the discovery
/// request, names `discovery` as its issuer's document; then fails the login as PostgreSQL does.
fn oauth_server(discovery: String) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let discovery = discovery.clone();
            std::thread::spawn(move || {
                let mut s = stream;
                let _ = s.set_read_timeout(Some(std::time::Duration::from_secs(10)));
                let mut length = [0u8; 4];
                if s.read_exact(&mut length).is_err() {
                    return;
                }
                let mut startup =
                    vec![0u8; (u32::from_be_bytes(length) as usize).saturating_sub(4)];
                if s.read_exact(&mut startup).is_err() {
                    return;
                }
                let mut sasl = 10u32.to_be_bytes().to_vec();
                sasl.extend(b"OAUTHBEARER\0\0");
                let _ = s.write_all(&message(b'R', &sasl));
                // The initial response: the discovery request, with an empty auth value.
                let Some((b'p', body)) = read_message(&mut s) else {
                    return;
                };
                assert!(
                    body.ends_with(b"n,,\x01auth=\x01\x01"),
                    "a discovery request, never a token: {body:?}"
                );
                let json = format!(
                    r#"{{"status":"invalid_token","openid-configuration":"{discovery}","scope":"openid postgres"}}"#
                );
                let mut cont = 11u32.to_be_bytes().to_vec();
                cont.extend(json.as_bytes());
                let _ = s.write_all(&message(b'R', &cont));
                let _ = read_message(&mut s);
                let _ = s.write_all(&message(
                    b'E',
                    b"SFATAL\0VFATAL\0C28000\0MOAuth bearer authentication failed for user \"app\"\0\0",
                ));
            });
        }
    });
    port
}

/// An HTTPS issuer with a certificate from `ca` for 127.0.0.1, serving its discovery document.
fn issuer(ca: &Ca) -> u16 {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let leaf = ca.server(&ServerCert::localhost());
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let config = Arc::new(
        rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(
                vec![CertificateDer::from_pem_slice(leaf.cert_pem.as_bytes()).unwrap()],
                PrivateKeyDer::from_pem_slice(leaf.key_pem.as_bytes()).unwrap(),
            )
            .unwrap(),
    );
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let config = config.clone();
            std::thread::spawn(move || {
                let _ = stream.set_read_timeout(Some(std::time::Duration::from_secs(10)));
                let conn = rustls::ServerConnection::new(config).unwrap();
                let mut tls = rustls::StreamOwned::new(conn, stream);
                let mut request = [0u8; 2048];
                if tls.read(&mut request).is_err() {
                    return;
                }
                let document = format!(
                    r#"{{"issuer":"https://127.0.0.1:{port}","device_authorization_endpoint":"https://127.0.0.1:{port}/device","token_endpoint":"https://127.0.0.1:{port}/token"}}"#
                );
                let _ = tls.write_all(
                    format!(
                        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{document}",
                        document.len()
                    )
                    .as_bytes(),
                );
                tls.conn.send_close_notify();
                let _ = tls.flush();
            });
        }
    });
    port
}

fn check(home: &std::path::Path, vars: &[(&str, &str)], conninfo: &str) -> (i32, Value) {
    crate::harness::first_target(
        pgtls(home)
            .envs(vars.iter().copied())
            .args(["check", "--format", "json", conninfo]),
    )
}

#[test]
fn oauthbearer_is_followed_to_the_issuer_as_libpq_18_follows_it_without_a_token() {
    let home = shared_tempdir();
    let dir = home.path();
    let ca = Ca::root("pgtls oauth issuer root");
    let ca_file = dir.join("oauth-ca.crt");
    std::fs::write(&ca_file, &ca.cert_pem).unwrap();
    let issuer_port = issuer(&ca);
    let issuer_id = format!("https://127.0.0.1:{issuer_port}");
    let discovery = format!("{issuer_id}/.well-known/openid-configuration");
    let server = oauth_server(discovery.clone());
    let base = format!("host=127.0.0.1 port={server} user=app dbname=postgres sslmode=disable");
    let debug = [
        ("PGOAUTHDEBUG", "UNSAFE"),
        ("PGOAUTHCAFILE", ca_file.to_str().unwrap()),
    ];

    // No oauth_issuer/oauth_client_id: libpq's message; the verdict stands, as without a password.
    let missing = "server requires OAuth authentication, but oauth_issuer and oauth_client_id are not both set";
    let libpq = &libpq_connect_in(dir, std::slice::from_ref(&base), &[])[0];
    assert!(
        libpq["error"]
            .as_str()
            .unwrap_or_default()
            .contains(missing),
        "{libpq}"
    );
    let (code, target) = check(dir, &[], &base);
    assert_eq!(code, 0, "{target:#}");
    assert_eq!(target["login"]["method"], "OAUTHBEARER");
    assert_eq!(target["login"]["stopped"], missing);

    // The issuer libpq was given: the discovery is followed and the issuer's endpoint checked,
    // trusted here through PGOAUTHCAFILE under PGOAUTHDEBUG=UNSAFE, as libpq-oauth allows.
    let with_issuer = format!("{base} oauth_issuer={issuer_id} oauth_client_id=pgtls-test");
    let (code, target) = check(dir, &debug, &with_issuer);
    assert_eq!(code, 0, "{target:#}");
    let oauth = &target["login"]["oauth"];
    assert_eq!(oauth["discovery_uri"], discovery.as_str());
    assert_eq!(oauth["scope"], "openid postgres");
    assert_eq!(oauth["issuer"]["verified"], true, "{oauth:#}");
    assert_eq!(oauth["issuer"]["http_status"], 200);
    assert_eq!(oauth["issuer"]["document_issuer"], issuer_id.as_str());
    assert!(
        oauth["issuer"]["protocol"]
            .as_str()
            .unwrap()
            .starts_with("TLSv1.")
    );
    assert!(
        finding(&target, "oauth_issuer_unverified").is_none(),
        "{target:#}"
    );
    // The issuer's certificate (valid a year) by the expiry rule: a warning within --warn-days 400.
    assert!(finding(&target, "expires_soon").is_none(), "{target:#}");
    let (_, warned) = crate::harness::first_target(pgtls(dir).envs(debug.iter().copied()).args([
        "check",
        "--format",
        "json",
        "--warn-days",
        "400",
        &with_issuer,
    ]));
    let soon = finding(&warned, "expires_soon").expect("the issuer's certificate expires soon");
    assert!(
        soon["message"]
            .as_str()
            .unwrap()
            .starts_with("the OAuth issuer's certificate \"CN=localhost\" expires on "),
        "{soon}"
    );

    // The same issuer without the debug override: the system store does not hold its root, and
    // libpq's flow would fail there.
    let (code, target) = check(dir, &[], &with_issuer);
    assert_eq!(code, 0);
    let unverified = finding(&target, "oauth_issuer_unverified").expect("the finding");
    assert_eq!(unverified["severity"], "error");
    assert!(
        unverified["message"]
            .as_str()
            .unwrap()
            .contains("certificate verify failed"),
        "{unverified}"
    );

    // A server that sends the client to another issuer: libpq refuses before any flow, with
    // its message, and so does pgtls (exit 8).
    let rogue = format!("{base} oauth_issuer=https://login.example.com oauth_client_id=pgtls-test");
    let mismatch = format!(
        "server's discovery document at {discovery} (issuer \"{issuer_id}\") is incompatible with oauth_issuer (https://login.example.com)"
    );
    let libpq = &libpq_connect_in(dir, std::slice::from_ref(&rogue), &[])[0];
    assert!(
        libpq["error"]
            .as_str()
            .unwrap_or_default()
            .contains(&mismatch),
        "{libpq}"
    );
    let (code, target) = check(dir, &[], &rogue);
    assert_eq!(code, 8, "{target:#}");
    assert!(
        target["summary"].as_str().unwrap().contains(&mismatch),
        "{target:#}"
    );
}
