//! More hostile peers: silence and slowness inside the handshake, a close in its middle, an SSH
//! banner, a TLS 1.0-only peer, and TLS servers presenting absurd or malformed chains. Each must
//! end with its documented exit code and a clear message, within its deadline, without a panic.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rustls::pki_types::{CertificateDer, PrivateKeyDer, pem::PemObject};

use crate::harness::pgtls;
use crate::pki::{Ca, ServerCert};
use crate::server::shared_tempdir;

fn serve(behave: impl Fn(TcpStream) + Send + Sync + 'static) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let behave = Arc::new(behave);
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let behave = behave.clone();
            std::thread::spawn(move || behave(stream));
        }
    });
    port
}

fn after_s(mut s: TcpStream) -> TcpStream {
    let mut request = [0u8; 8];
    let _ = s.read_exact(&mut request);
    let _ = s.write_all(b"S");
    s
}

/// A TLS server after SSLRequest that presents `chain` (leaf first) signed with `key`, then
/// closes.
fn tls_server(chain: Vec<CertificateDer<'static>>, key_pem: String) -> u16 {
    let config = server_config(chain, key_pem);
    serve(move |s| handshake(&config, after_s(s)))
}

/// A direct TLS server (no SSLRequest) that, unlike PostgreSQL 17, negotiates no ALPN protocol.
pub fn direct_tls_server_without_alpn(chain: Vec<CertificateDer<'static>>, key_pem: String) -> u16 {
    let config = server_config(chain, key_pem);
    serve(move |s| handshake(&config, s))
}

fn handshake(config: &Arc<rustls::ServerConfig>, mut s: TcpStream) {
    if let Ok(mut conn) = rustls::ServerConnection::new(config.clone()) {
        while conn.is_handshaking() {
            if conn.complete_io(&mut s).is_err() {
                return;
            }
        }
        let _ = conn.complete_io(&mut s);
    }
}

fn server_config(
    chain: Vec<CertificateDer<'static>>,
    key_pem: String,
) -> Arc<rustls::ServerConfig> {
    let key = PrivateKeyDer::from_pem_slice(key_pem.as_bytes()).unwrap();
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let signing = provider.key_provider.load_private_key(key).unwrap();
    let certified = Arc::new(rustls::sign::CertifiedKey::new(chain, signing));
    #[derive(Debug)]
    struct Fixed(Arc<rustls::sign::CertifiedKey>);
    impl rustls::server::ResolvesServerCert for Fixed {
        fn resolve(
            &self,
            _: rustls::server::ClientHello<'_>,
        ) -> Option<Arc<rustls::sign::CertifiedKey>> {
            Some(self.0.clone())
        }
    }
    Arc::new(
        rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_cert_resolver(Arc::new(Fixed(certified))),
    )
}

fn run(home: &std::path::Path, port: u16, sslmode: &str) -> (Option<i32>, String, Duration) {
    let start = Instant::now();
    let out = pgtls(home)
        .args(["check", "--format", "json"])
        .arg(format!(
            "host=127.0.0.1 port={port} user=u sslmode={sslmode} connect_timeout=2"
        ))
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code(), text, start.elapsed())
}

#[test]
fn peers_that_stall_drip_or_vanish_inside_the_handshake() {
    let home = shared_tempdir();
    let silent_after_s = serve(|s| {
        let _s = after_s(s);
        std::thread::sleep(Duration::from_secs(6));
    });
    let dripping = serve(|s| {
        let mut s = after_s(s);
        for byte in b"\x16\x03\x03\x00\x40" {
            std::thread::sleep(Duration::from_secs(1));
            if s.write_all(&[*byte]).is_err() {
                return;
            }
        }
    });
    let close_mid_handshake = serve(|s| {
        let mut s = after_s(s);
        let mut hello = [0u8; 64];
        let _ = s.read(&mut hello);
    });
    let ssh = serve(|mut s| {
        let _ = s.write_all(b"SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n");
        std::thread::sleep(Duration::from_millis(300));
    });
    let tls10_only = serve(|s| {
        let mut s = after_s(s);
        let mut hello = [0u8; 512];
        let _ = s.read(&mut hello);
        // alert(fatal, protocol_version) in a TLS 1.0 record
        let _ = s.write_all(&[0x15, 0x03, 0x01, 0x00, 0x02, 0x02, 0x46]);
    });
    let cases = [
        (
            "silence after S",
            silent_after_s,
            "require",
            3,
            "timeout expired (during the TLS handshake",
        ),
        (
            "one byte per second",
            dripping,
            "require",
            3,
            "timeout expired",
        ),
        (
            "a close in the middle of the handshake",
            close_mid_handshake,
            "require",
            5,
            "TLS handshake failed",
        ),
        (
            "an SSH banner",
            ssh,
            "require",
            5,
            "received unencrypted data after SSL response",
        ),
        (
            "a TLS 1.0-only peer",
            tls10_only,
            "require",
            5,
            "ProtocolVersion",
        ),
    ];
    let mut failures = Vec::new();
    for (name, port, sslmode, code, message) in cases {
        let (got, text, elapsed) = run(home.path(), port, sslmode);
        if got != Some(code) || !text.contains(message) || elapsed > Duration::from_secs(5) {
            failures.push(format!("{name}: exit {got:?} after {elapsed:?}\n{text}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn absurd_and_malformed_chains_end_cleanly() {
    let home = shared_tempdir();
    let root = Ca::root("pgtls hostile root");
    let leaf = root.server(&ServerCert::localhost());
    let leaf_der = CertificateDer::from_pem_slice(leaf.cert_pem.as_bytes()).unwrap();
    let root_der = CertificateDer::from_pem_slice(root.cert_pem.as_bytes()).unwrap();
    let long_chain: Vec<_> = std::iter::once(leaf_der.clone())
        .chain(std::iter::repeat_n(root_der.clone(), 400))
        .collect();
    let malformed_intermediate = vec![
        leaf_der.clone(),
        CertificateDer::from(vec![0x30, 0x03, 0x01, 0x01, 0xff]),
    ];
    let malformed_leaf = vec![CertificateDer::from(
        b"\x30\x82\xff\xffnot a certificate".to_vec(),
    )];
    let root_file = home.path().join("root.crt");
    std::fs::write(&root_file, &root.cert_pem).unwrap();
    let cases = [
        (
            "hundreds of certificates",
            tls_server(long_chain, leaf.key_pem.clone()),
            &[3, 5, 6][..],
        ),
        (
            "a malformed intermediate",
            tls_server(malformed_intermediate, leaf.key_pem.clone()),
            &[3, 5, 6][..],
        ),
        (
            "a malformed leaf",
            tls_server(malformed_leaf, leaf.key_pem.clone()),
            &[5, 6][..],
        ),
    ];
    let mut failures = Vec::new();
    for (name, port, codes) in cases {
        for sslmode in [
            "require",
            &format!("verify-full sslrootcert={}", root_file.display()),
        ] {
            let (got, text, elapsed) = run(home.path(), port, sslmode);
            let clean = !text.contains("panicked") && elapsed < Duration::from_secs(5);
            if !got.is_some_and(|c| codes.contains(&c)) || !clean {
                failures.push(format!(
                    "{name} ({sslmode}): exit {got:?} after {elapsed:?}\n{text}"
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// A certificate name with every kind of character a terminal or viewer acts on.
const HOSTILE_NAME: &str = "evil\x1b[2J\x07\u{9b}31m\u{202e}gpj\u{2028}next\u{2029}\0end";

/// Whether `text` holds a character a terminal or a viewer would act on (line breaks aside).
fn acts_on_terminal(text: &str) -> Option<char> {
    text.chars().find(|&c| {
        c != '\n'
            && (c.is_control() || matches!(c, '\u{200b}'..='\u{200f}' | '\u{2028}'..='\u{202e}'))
    })
}

#[test]
fn hostile_certificate_names_reach_no_output_raw() {
    let home = shared_tempdir();
    let ca = Ca::root("pgtls hostile names root");
    let spec = ServerCert {
        cn: Some(HOSTILE_NAME),
        ..ServerCert::localhost()
    };
    let leaf = ca.server(&spec);
    let chain = vec![CertificateDer::from_pem_slice(leaf.cert_pem.as_bytes()).unwrap()];
    let port = tls_server(chain, leaf.key_pem);
    let conninfo = format!("host=127.0.0.1 port={port} user=u sslmode=require connect_timeout=5");
    for format in ["text", "json", "jsonl", "prometheus", "junit"] {
        let out = pgtls(home.path())
            .args(["check", "--format", format, &conninfo])
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        // JUnit names no certificate.
        assert!(
            format == "junit" || stdout.contains("evil"),
            "{format}: the name is shown: {stdout}"
        );
        assert_eq!(acts_on_terminal(&stdout), None, "{format}: {stdout:?}");
    }
    let config = home.path().join("serve.toml");
    std::fs::write(
        &config,
        format!("[targets.hostile]\nconninfo = \"{conninfo}\"\n"),
    )
    .unwrap();
    let exporter =
        crate::serve::Exporter::start(home.path(), &["--config", config.to_str().unwrap()], &[]);
    let (status, body) = crate::serve::get(exporter.port, "/probe?target=hostile");
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("evil"), "{body}");
    assert_eq!(acts_on_terminal(&body), None, "{body:?}");
    let log = exporter.log_with("msg=probe", 1);
    assert_eq!(acts_on_terminal(&log), None, "{log:?}");
}
