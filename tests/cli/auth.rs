//! The login's state machine against servers that ask for each kind of authentication, including
//! ones a real PostgreSQL never sends (AuthenticationOk in the middle of SCRAM, a wrong server
//! signature, no mechanism the client knows). Every (server x require_auth x channel_binding)
//! combination is run through libpq and through pgtls: both must reach the same verdict with the
//! same message, and pgtls must never send the server a password, hash or SCRAM message that libpq
//! withholds.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};

use base64::Engine as _;
use hmac::{KeyInit, Mac};
use serde_json::Value;
use sha2::Sha256;

use crate::fake::{message, read_message};
use crate::harness::{libpq_connect, pgtls};
use crate::pki::{Issued, ServerCert};
use crate::server::shared_tempdir;

const PASSWORD: &str = "fake-auth-pw";
const SALT: &[u8] = b"pgtls-test-salt!";
const ITERATIONS: u32 = 16;

/// How the fake server authenticates a client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Behaviour {
    /// AuthenticationOk at once.
    Trust,
    /// A cleartext password.
    Cleartext,
    /// An MD5 hash.
    Md5,
    /// A full SCRAM-SHA-256 exchange; PLUS offered over TLS.
    Scram,
    /// SCRAM-SHA-256-PLUS offered, then AuthenticationOk right after the client's first message.
    ScramSkipped,
    /// A full exchange whose server signature is wrong.
    ScramBadSignature,
    /// Only a SASL mechanism no client knows.
    SaslUnknown,
}

/// What each connection (by its user name) sent: `startup`, then the messages after it (their
/// kinds, and the SASL mechanism named).
pub type Sent = Arc<Mutex<HashMap<String, Vec<String>>>>;

fn hmac(key: &[u8], data: &[u8]) -> Vec<u8> {
    let mut mac = hmac::Hmac::<Sha256>::new_from_slice(key).unwrap();
    mac.update(data);
    mac.finalize().into_bytes().to_vec()
}

/// SCRAM's Hi(): PBKDF2 with HMAC-SHA-256.
fn salted_password() -> Vec<u8> {
    let mut block = SALT.to_vec();
    block.extend(1u32.to_be_bytes());
    let mut u = hmac(PASSWORD.as_bytes(), &block);
    let mut out = u.clone();
    for _ in 1..ITERATIONS {
        u = hmac(PASSWORD.as_bytes(), &u);
        out.iter_mut().zip(&u).for_each(|(o, x)| *o ^= x);
    }
    out
}

fn auth(code: u32, data: &[u8]) -> Vec<u8> {
    let mut body = code.to_be_bytes().to_vec();
    body.extend(data);
    message(b'R', &body)
}

/// Reads the startup message and returns the user name.
fn read_startup(s: &mut impl Read) -> Option<String> {
    let mut len = [0u8; 4];
    s.read_exact(&mut len).ok()?;
    let mut body = vec![0u8; (u32::from_be_bytes(len) as usize).checked_sub(4)?];
    s.read_exact(&mut body).ok()?;
    let mut fields = body[4..].split(|&b| b == 0);
    while let Some(key) = fields.next() {
        let value = fields.next()?;
        if key == b"user" {
            return Some(String::from_utf8_lossy(value).into_owned());
        }
    }
    None
}

fn tls_config(issued: &Issued) -> Arc<rustls::ServerConfig> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let certs = vec![CertificateDer::from_pem_slice(issued.cert_pem.as_bytes()).unwrap()];
    let key = PrivateKeyDer::from_pem_slice(issued.key_pem.as_bytes()).unwrap();
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    Arc::new(
        rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(certs, key)
            .unwrap(),
    )
}

/// Starts a fake server with one behaviour; returns its port.
pub fn start(behaviour: Behaviour, issued: &Issued, sent: Sent) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let config = tls_config(issued);
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let (config, sent) = (config.clone(), sent.clone());
            std::thread::spawn(move || serve(stream, behaviour, config, sent));
        }
    });
    port
}

fn serve(mut tcp: TcpStream, behaviour: Behaviour, config: Arc<rustls::ServerConfig>, sent: Sent) {
    let _ = tcp.set_read_timeout(Some(std::time::Duration::from_secs(10)));
    let mut first = [0u8; 8];
    if tcp.peek(&mut first).ok() != Some(8) {
        return;
    }
    if first[4..] == 80_877_103u32.to_be_bytes() {
        let _ = tcp.read_exact(&mut first);
        let _ = tcp.write_all(b"S");
        let conn = rustls::ServerConnection::new(config).unwrap();
        let mut tls = rustls::StreamOwned::new(conn, tcp);
        converse(&mut tls, behaviour, true, &sent);
    } else {
        converse(&mut tcp, behaviour, false, &sent);
    }
}

fn converse(s: &mut (impl Read + Write), behaviour: Behaviour, tls: bool, sent: &Sent) {
    let Some(user) = read_startup(s) else { return };
    let record = |what: String| {
        sent.lock()
            .unwrap()
            .entry(user.clone())
            .or_default()
            .push(what)
    };
    record("startup".to_string());
    let mut expect = |s: &mut dyn ReadWrite| -> Option<Vec<u8>> {
        let (kind, body) = read_message(s)?;
        if kind == b'X' {
            return None;
        }
        let what = match kind {
            b'p' if body.starts_with(b"SCRAM") => {
                let name = body.split(|&b| b == 0).next().unwrap_or_default();
                format!("sasl {}", String::from_utf8_lossy(name))
            }
            b'p' if body.starts_with(b"c=") => "sasl response".to_string(),
            b'p' if body.starts_with(b"md5") => "md5 hash".to_string(),
            b'p' => "password".to_string(),
            other => format!("message {}", other as char),
        };
        record(what);
        Some(body)
    };
    let ok = match behaviour {
        Behaviour::Trust => true,
        Behaviour::Cleartext => {
            let _ = s.write_all(&auth(3, &[]));
            expect(s).is_some()
        }
        Behaviour::Md5 => {
            let _ = s.write_all(&auth(5, b"salt"));
            expect(s).is_some()
        }
        Behaviour::SaslUnknown => {
            let _ = s.write_all(&auth(10, b"X-UNKNOWN\0\0"));
            expect(s);
            false
        }
        Behaviour::Scram | Behaviour::ScramSkipped | Behaviour::ScramBadSignature => {
            let mechanisms: &[u8] = if tls {
                b"SCRAM-SHA-256-PLUS\0SCRAM-SHA-256\0\0"
            } else {
                b"SCRAM-SHA-256\0\0"
            };
            let _ = s.write_all(&auth(10, mechanisms));
            match expect(s) {
                Some(initial) if behaviour == Behaviour::ScramSkipped => !initial.is_empty(),
                Some(initial) => scram(s, &initial, behaviour, &mut expect),
                None => false,
            }
        }
    };
    if !ok {
        return;
    }
    let _ = s.write_all(&auth(0, &[]));
    let _ = s.write_all(&message(b'S', b"server_version\x0018.0\0"));
    let _ = s.write_all(&message(b'K', &[0, 0, 0, 1, 0, 0, 0, 2]));
    let _ = s.write_all(&message(b'Z', b"I"));
    let _ = s.flush();
    while let Some((kind, _)) = read_message(s) {
        match kind {
            b'Q' => {
                let _ = s.write_all(&message(b'I', &[]));
                let _ = s.write_all(&message(b'Z', b"I"));
                let _ = s.flush();
            }
            b'X' => return,
            _ => {}
        }
    }
}

trait ReadWrite: Read + Write {}
impl<T: Read + Write> ReadWrite for T {}

/// The server's side of SCRAM after the client's first message.
fn scram(
    s: &mut (impl Read + Write),
    initial: &[u8],
    behaviour: Behaviour,
    expect: &mut dyn FnMut(&mut dyn ReadWrite) -> Option<Vec<u8>>,
) -> bool {
    // SASLInitialResponse: mechanism\0, length, client-first-message.
    let Some(at) = initial.iter().position(|&b| b == 0) else {
        return false;
    };
    let client_first = String::from_utf8_lossy(&initial[at + 5..]).into_owned();
    // gs2 header "p=...,," / "y,," / "n,,", then the bare message.
    let bare = client_first.splitn(3, ',').nth(2).unwrap_or_default();
    // The nonce attribute; a nonce is printable text without "," and may itself hold "r=".
    let client_nonce = bare
        .split(',')
        .find_map(|attribute| attribute.strip_prefix("r="))
        .unwrap_or_default();
    let b64 = base64::engine::general_purpose::STANDARD;
    let server_first = format!(
        "r={client_nonce}servernonce,s={},i={ITERATIONS}",
        b64.encode(SALT)
    );
    let _ = s.write_all(&auth(11, server_first.as_bytes()));
    let Some(client_final) = expect(s) else {
        return false;
    };
    let client_final = String::from_utf8_lossy(&client_final).into_owned();
    let without_proof = client_final.split(",p=").next().unwrap_or_default();
    let auth_message = format!("{bare},{server_first},{without_proof}");
    let server_key = hmac(&salted_password(), b"Server Key");
    let mut signature = hmac(&server_key, auth_message.as_bytes());
    if behaviour == Behaviour::ScramBadSignature {
        signature[0] ^= 0xff;
    }
    let _ = s.write_all(&auth(12, format!("v={}", b64.encode(signature)).as_bytes()));
    true
}

/// A short stable name for a case, used as its user name so the server's records can be matched
/// to the client that made them.
fn user(n: usize, client: &str) -> String {
    format!("u{n}_{client}")
}

#[test]
fn logins_answer_only_what_libpq_answers_and_end_as_libpq_ends() {
    let home = shared_tempdir();
    let sent: Sent = Arc::default();
    let ecdsa = ServerCert::localhost().self_signed();
    // No tls-server-end-point hash is defined for Ed25519: libpq fails SCRAM-SHA-256-PLUS.
    let ed25519 = ServerCert::localhost().self_signed_with(&rcgen::PKCS_ED25519);
    let servers = [
        (Behaviour::Trust, &ecdsa),
        (Behaviour::Cleartext, &ecdsa),
        (Behaviour::Md5, &ecdsa),
        (Behaviour::Scram, &ecdsa),
        (Behaviour::Scram, &ed25519),
        (Behaviour::ScramSkipped, &ecdsa),
        (Behaviour::ScramBadSignature, &ecdsa),
        (Behaviour::SaslUnknown, &ecdsa),
    ];
    let behaviours: Vec<Behaviour> = servers.iter().map(|(b, _)| *b).collect();
    let ports: Vec<u16> = servers
        .iter()
        .map(|(b, issued)| start(*b, issued, sent.clone()))
        .collect();
    // None leaves require_auth unset; an empty value is not the same for libpq.
    let require_auth = [
        None,
        Some(""),
        Some("password"),
        Some("md5"),
        Some("scram-sha-256"),
        Some("none"),
        Some("scram-sha-256,none"),
        Some("!password,!md5"),
        Some("!none"),
        Some("!scram-sha-256"),
    ];
    let mut cases = Vec::new();
    for (b, port) in behaviours.iter().zip(&ports) {
        for ra in require_auth {
            for cb in ["disable", "prefer", "require"] {
                for sslmode in ["require", "disable"] {
                    cases.push((*b, *port, ra, cb, sslmode));
                }
            }
        }
    }
    let conninfo = |n: usize, client: &str| {
        let (_, port, ra, cb, sslmode) = cases[n];
        let ra = ra.map_or(String::new(), |ra| format!("require_auth='{ra}'"));
        format!(
            "host=127.0.0.1 port={port} dbname=d password={PASSWORD} user={} sslmode={sslmode} channel_binding={cb} {ra} connect_timeout=5",
            user(n, client)
        )
    };
    let libpq_strings: Vec<String> = (0..cases.len()).map(|n| conninfo(n, "libpq")).collect();
    let libpq = libpq_connect(home.path(), &libpq_strings);
    let targets = home.path().join("targets");
    let pgtls_strings: Vec<String> = (0..cases.len()).map(|n| conninfo(n, "pgtls")).collect();
    std::fs::write(&targets, pgtls_strings.join("\n")).unwrap();
    let out = pgtls(home.path())
        .args([
            "check",
            "--format",
            "json",
            "--concurrency",
            "16",
            "--targets",
        ])
        .arg(&targets)
        .output()
        .unwrap();
    let doc: Value = serde_json::from_slice(&out.stdout).expect("a JSON document");
    let reports = doc["targets"].as_array().expect("targets");
    assert_eq!(reports.len(), cases.len());
    let sent = sent.lock().unwrap();
    let mut failures = Vec::new();
    for (n, (behaviour, _, ra, cb, sslmode)) in cases.iter().enumerate() {
        let (libpq, report) = (&libpq[n], &reports[n]);
        let code = report["exit_code"].as_i64().unwrap_or(-1);
        let summary = report["summary"].as_str().unwrap_or_default();
        let agrees = if libpq["ok"] == true {
            code == 0
        } else {
            let error = libpq["error"].as_str().unwrap_or_default();
            let first = error.lines().next().unwrap_or_default();
            let reason = first.rsplit("failed: ").next().unwrap_or(first);
            code == 8 && summary.contains(reason)
        };
        let by_libpq = sent.get(&user(n, "libpq")).cloned().unwrap_or_default();
        let by_pgtls = sent.get(&user(n, "pgtls")).cloned().unwrap_or_default();
        if !agrees || by_libpq != by_pgtls {
            failures.push(format!(
                "{behaviour:?} require_auth={ra:?} channel_binding={cb} sslmode={sslmode}\n    libpq: {} sent {by_libpq:?}\n    pgtls: exit {code}, {summary} sent {by_pgtls:?}",
                if libpq["ok"] == true {
                    "connects".to_string()
                } else {
                    libpq["error"].to_string()
                },
            ));
        }
    }
    // The Ed25519 server, with channel binding left at its default: libpq refuses, and so must
    // pgtls (it chose SCRAM-SHA-256-PLUS and cannot compute the binding).
    let ed25519_default = cases
        .iter()
        .position(|(_, port, ra, cb, mode)| {
            *port == ports[4] && ra.is_none() && *cb == "prefer" && *mode == "require"
        })
        .unwrap();
    assert_eq!(reports[ed25519_default]["exit_code"], 8);
    assert!(
        libpq[ed25519_default]["error"]
            .as_str()
            .is_some_and(|e| e.contains("could not find digest for NID UNDEF")),
        "{}",
        libpq[ed25519_default]
    );
    let full_exchanges = sent
        .values()
        .filter(|v| v.iter().any(|m| m == "sasl response"))
        .count();
    assert!(
        full_exchanges > 0,
        "the fake server recorded no SCRAM exchange"
    );
    assert!(
        failures.is_empty(),
        "{} of {} cases differ from libpq:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}
