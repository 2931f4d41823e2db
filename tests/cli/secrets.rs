//! No secret reaches stdout or stderr: every command, every output format, with a password in
//! the string, in the environment and in a passfile, and an sslpassword.

use std::os::unix::fs::PermissionsExt;

use crate::harness::pgtls;
use crate::pki::{Ca, ServerCert};
use crate::server::{Server, Setup, Version, shared_tempdir};

const SECRETS: [&str; 4] = [
    "string-secret-1",
    "env-secret-2",
    "keypass-secret-3",
    "passfile-secret-4",
];

#[test]
fn no_secret_appears_in_any_command_or_format() {
    let home = shared_tempdir();
    let root = Ca::root("pgtls secrets root");
    let leaf = root.server(&ServerCert::localhost());
    let server = Server::start(
        Version::V15,
        &Setup::tls(leaf.cert_pem.clone(), leaf.key_pem.clone()),
    );
    let pgpass = home.path().join(".pgpass");
    std::fs::write(&pgpass, "*:*:*:*:passfile-secret-4\n").unwrap();
    std::fs::set_permissions(&pgpass, std::fs::Permissions::from_mode(0o600)).unwrap();
    let cert = home.path().join("root.crt");
    std::fs::write(&cert, &root.cert_pem).unwrap();
    let port = server.port;
    let strings = [
        format!(
            "host=localhost port={port} user=postgres password=string-secret-1 sslpassword=keypass-secret-3 sslmode=require"
        ),
        format!(
            "postgresql://postgres:string-secret-1@localhost:{port}/postgres?sslpassword=keypass-secret-3"
        ),
        format!(
            "host=localhost port={port} user=postgres sslmode=verify-full sslrootcert=/missing password=string-secret-1"
        ),
        format!("postgresql://postgres:string-secret-1%zz@localhost:{port}/"),
        format!("host=localhost port={port} user=postgres"),
        // Strings libpq refuses, whose messages would quote the secret.
        "password=string-secret-1 string-secret-1".to_string(),
        "postgresql://u:string-secret-1@[::1".to_string(),
        // URIs libpq does not take for URIs, quoted whole in its message.
        "Postgresql://u:string-secret-1@localhost/postgres".to_string(),
        "POSTGRES://u:string-secret-1@localhost/postgres?sslmode=require".to_string(),
        "password=string-secret-1 sslmode=bad".to_string(),
    ];
    let targets = home.path().join("targets.txt");
    std::fs::write(&targets, strings.join("\n")).unwrap();
    let mut runs: Vec<Vec<String>> = Vec::new();
    for format in ["text", "json", "prometheus", "junit"] {
        runs.push(vec![
            "check".into(),
            "--format".into(),
            format.into(),
            "--targets".into(),
            targets.display().to_string(),
        ]);
        for conninfo in &strings {
            runs.push(vec![
                "check".into(),
                "--format".into(),
                format.into(),
                conninfo.clone(),
            ]);
        }
    }
    for format in ["text", "json"] {
        for conninfo in &strings {
            runs.push(vec![
                "explain".into(),
                "--format".into(),
                format.into(),
                conninfo.clone(),
            ]);
            runs.push(vec![
                "explain".into(),
                "--parse-only".into(),
                "--format".into(),
                format.into(),
                conninfo.clone(),
            ]);
        }
        runs.push(vec!["roots".into(), "--format".into(), format.into()]);
        runs.push(vec![
            "inspect".into(),
            "--format".into(),
            format.into(),
            cert.display().to_string(),
        ]);
    }
    for args in &runs {
        let out = pgtls(home.path())
            .env("PGPASSWORD", "env-secret-2")
            .args(args)
            .output()
            .unwrap();
        let all = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        for secret in SECRETS {
            assert!(!all.contains(secret), "{secret} leaked by {args:?}:\n{all}");
        }
    }
}
