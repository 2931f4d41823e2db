//! The manual's troubleshooting table (`docs/troubleshooting.md`), made to happen: every message
//! it lists is produced by a real case (real servers where PostgreSQL can do it, fake ones where it cannot) and must appear
//! in `pgtls check`'s report, with the exit code the table gives.

use std::os::unix::fs::PermissionsExt;

use rustls::pki_types::{CertificateDer, pem::PemObject};

use crate::fake::{answer_s_with_injection, fake, stay_silent};
use crate::harness::{pgtls, root};
use crate::hostile::direct_tls_server_without_alpn;
use crate::pki::{Ca, ServerCert};
use crate::server::{Server, Setup, Version, shared_tempdir};

/// One row of the table: the message (`…` standing for any text) and the exit code.
struct Row {
    message: String,
    exit: i32,
}

fn rows(readme: &str) -> Vec<Row> {
    readme
        .lines()
        .filter(|line| line.starts_with("| `"))
        .map(|line| {
            let cells: Vec<&str> = line.split('|').map(str::trim).collect();
            Row {
                message: cells[1].trim_matches('`').to_string(),
                exit: cells[2]
                    .parse()
                    .unwrap_or_else(|_| panic!("no exit code in {line}")),
            }
        })
        .collect()
}

/// The message as a pattern: `…` matches any text on one line.
fn pattern(message: &str) -> regex_lite::Regex {
    let parts: Vec<String> = message.split('…').map(regex_lite::escape).collect();
    regex_lite::Regex::new(&parts.join(".*")).unwrap()
}

#[test]
fn every_troubleshooting_message_is_one_pgtls_prints_with_its_exit_code() {
    let readme = std::fs::read_to_string(root().join("docs/troubleshooting.md")).unwrap();
    let rows = rows(&readme);
    assert!(rows.len() >= 16, "the troubleshooting table lost rows");
    let home = shared_tempdir();
    let dir = home.path();

    let ca = Ca::root("pgtls troubleshooting root");
    let root_file = dir.join("root.crt");
    std::fs::write(&root_file, &ca.cert_pem).unwrap();
    let other_file = dir.join("other.crt");
    std::fs::write(&other_file, Ca::root("an unrelated root").cert_pem).unwrap();
    let crl_file = dir.join("other.crl");
    std::fs::write(&crl_file, Ca::root("another CRL issuer").crl(&[])).unwrap();

    // The main server: TLS 1.3 only; `app` needs a password over TLS, `nossl` may only connect
    // without TLS, `postgres` is trusted.
    let leaf = ca.server(&ServerCert::localhost());
    let mut setup = Setup::tls(leaf.cert_pem.clone(), leaf.key_pem.clone());
    setup.hba = vec![
        "hostssl all app 127.0.0.1/32 scram-sha-256",
        "hostnossl all nossl 127.0.0.1/32 trust",
        "host all postgres 127.0.0.1/32 trust",
    ];
    setup.settings = vec![("ssl_min_protocol_version", "TLSv1.3".into())];
    let main = Server::start(Version::V17, &setup);
    main.sql("CREATE ROLE app LOGIN PASSWORD 's3cret'; CREATE ROLE nossl LOGIN");

    let expired = ca.server(&ServerCert {
        valid: (-30, -1),
        ..ServerCert::localhost()
    });
    let expired = Server::start(Version::V17, &Setup::tls(expired.cert_pem, expired.key_pem));
    let self_signed = ServerCert::localhost().self_signed();
    let self_signed = Server::start(
        Version::V17,
        &Setup::tls(self_signed.cert_pem, self_signed.key_pem),
    );
    let no_tls = Server::start(
        Version::V17,
        &Setup {
            ssl: false,
            cert: None,
            ..Setup::tls(String::new(), String::new())
        },
    );

    let client = ca.client("app");
    let (cert, key) = (dir.join("client.crt"), dir.join("client.key"));
    std::fs::write(&cert, &client.cert_pem).unwrap();
    std::fs::write(&key, &client.key_pem).unwrap();
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).unwrap();

    let chain = CertificateDer::pem_slice_iter(leaf.cert_pem.as_bytes())
        .collect::<Result<Vec<_>, _>>()
        .unwrap();
    let no_alpn = direct_tls_server_without_alpn(chain, leaf.key_pem.clone());
    let injecting = fake(answer_s_with_injection);
    let silent = fake(stay_silent);

    let at = |server: &Server| format!("host=localhost port={}", server.port);
    let verified = |server: &Server| {
        format!(
            "{} user=postgres sslmode=verify-full sslrootcert={}",
            at(server),
            root_file.display()
        )
    };
    // Each README message, and a connection string that produces it.
    let cases: Vec<(&str, String)> = vec![
        (
            "root certificate file",
            format!(
                "{} user=postgres sslmode=verify-full sslrootcert={}",
                at(&main),
                dir.join("missing.crt").display()
            ),
        ),
        (
            "unable to get local issuer certificate",
            format!(
                "{} user=postgres sslmode=verify-full sslrootcert={}",
                at(&main),
                other_file.display()
            ),
        ),
        ("self-signed certificate", verified(&self_signed)),
        ("certificate has expired", verified(&expired)),
        (
            "unable to get certificate CRL",
            format!("{} sslcrl={}", verified(&main), crl_file.display()),
        ),
        (
            "does not match host name",
            verified(&main).replace("host=localhost", "host=db.example.com hostaddr=127.0.0.1"),
        ),
        (
            "host name must be specified",
            verified(&main).replace("host=localhost", "hostaddr=127.0.0.1"),
        ),
        (
            "server does not support SSL",
            format!("{} user=postgres sslmode=require", at(&no_tls)),
        ),
        (
            "received unencrypted data",
            format!("host=127.0.0.1 port={injecting} user=u sslmode=require"),
        ),
        (
            "without ALPN",
            format!("host=127.0.0.1 port={no_alpn} user=u sslmode=require sslnegotiation=direct"),
        ),
        (
            "TLS handshake failed",
            format!("{} ssl_max_protocol_version=TLSv1.2", verified(&main)),
        ),
        (
            "no pg_hba.conf entry",
            verified(&main).replace("user=postgres", "user=nossl"),
        ),
        (
            "password authentication failed",
            format!(
                "{} password=wrong",
                verified(&main).replace("user=postgres", "user=app")
            ),
        ),
        (
            "channel binding required",
            format!("{} channel_binding=require", verified(&main)),
        ),
        (
            "has group or world access",
            format!(
                "{} sslcert={} sslkey={}",
                verified(&main),
                cert.display(),
                key.display()
            ),
        ),
        (
            "timeout expired",
            format!("host=127.0.0.1 port={silent} user=u sslmode=require connect_timeout=2"),
        ),
    ];

    let mut failures = Vec::new();
    for row in &rows {
        let found: Vec<&(&str, String)> = cases
            .iter()
            .filter(|(key, _)| row.message.contains(key))
            .collect();
        let [(_, conninfo)] = found.as_slice() else {
            failures.push(format!("no single case for `{}`", row.message));
            continue;
        };
        let out = pgtls(dir).args(["check", conninfo]).output().unwrap();
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        if out.status.code() != Some(row.exit) || !pattern(&row.message).is_match(&text) {
            failures.push(format!(
                "`{}` (exit {}): pgtls check \"{conninfo}\" exited {:?}:\n{text}",
                row.message,
                row.exit,
                out.status.code()
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}
