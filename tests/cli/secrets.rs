//! No secret reaches stdout or stderr: every command, every output format, with a password in
//! the string, in the environment and in a passfile, and an sslpassword.

use std::os::unix::fs::PermissionsExt;

use crate::harness::pgtls;
use crate::pki::{Ca, ServerCert};
use crate::server::{Server, Setup, Version, shared_tempdir};

const SECRETS: [&str; 7] = [
    "string-secret-1",
    "env-secret-2",
    "keypass-secret-3",
    "passfile-secret-4",
    // Pieces of passwords whose parse depends on their text.
    "frag-secret-5",
    "tail-secret-6",
    // A password a server echoes back.
    "echo-secret-7",
];

/// Answers `N`, asks for a cleartext password, and refuses it by quoting it back.
fn echo_the_password(mut s: std::net::TcpStream) {
    use std::io::{Read, Write};
    let mut request = [0u8; 8];
    let _ = s.read_exact(&mut request);
    let _ = s.write_all(b"N");
    let mut startup = [0u8; 512];
    let _ = s.read(&mut startup);
    let _ = s.write_all(&[b'R', 0, 0, 0, 8, 0, 0, 0, 3]);
    let mut password = [0u8; 512];
    let n = s.read(&mut password).unwrap_or(0);
    let sent = String::from_utf8_lossy(&password[5.min(n)..n])
        .trim_end_matches('\0')
        .to_string();
    let body = format!("SFATAL\0VFATAL\0C28P01\0Mwrong password \"{sent}\"\0Dyou sent {sent}\0\0");
    let mut msg = vec![b'E'];
    msg.extend(((body.len() + 4) as u32).to_be_bytes());
    msg.extend(body.as_bytes());
    let _ = s.write_all(&msg);
}

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
        // A password written without quotes, with a space in it.
        "password=string-secret-1 frag-secret-5=x host=localhost".to_string(),
        format!("password=string-secret-1 frag-secret-5 port={port}"),
        // URI passwords with an unencoded "@" or "/": libpq moves their pieces into the host,
        // port or database name.
        format!("postgresql://postgres:string-secret-1@frag-secret-5@localhost:{port}/postgres"),
        "postgresql://postgres:frag-secret-5/tail-secret-6@localhost/postgres".to_string(),
        format!("postgresql://localhost:{port}/postgres?passwordfrag-secret-5"),
        // Drivers' strings (--client), good and refused.
        format!(
            "jdbc:postgresql://localhost:{port}/postgres?user=postgres&password=string-secret-1&sslmode=require"
        ),
        format!("jdbc:postgresql://postgres:string-secret-1@localhost:{port}/postgres"),
        "jdbc:postgresql://h:string-secret-1/db?password=string-secret-1".to_string(),
        format!(
            "Host=localhost;Port={port};Username=postgres;Password=string-secret-1;SSL Mode=Require"
        ),
        "Host=localhost;Password=string-secret-1;frag-secret-5=1".to_string(),
        "Server=localhost;Password='string-secret-1".to_string(),
        format!("Host=localhost;Port={port};Password=string-secret-1;SSL Mode=Sometimes"),
        // A server that quotes the password back.
        format!(
            "host=127.0.0.1 port={} user=u password=echo-secret-7 sslmode=prefer",
            crate::fake::fake(echo_the_password)
        ),
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
        for client in [
            "all",
            "node-postgres",
            "asyncpg",
            "pgx",
            "lib-pq",
            "sqlx",
            "tokio-postgres",
        ] {
            runs.push(vec![
                "check".into(),
                "--client".into(),
                client.into(),
                "--format".into(),
                format.into(),
                "--targets".into(),
                targets.display().to_string(),
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
                "--client".into(),
                "all".into(),
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

/// `pgtls serve`: passwords from a file and from the environment, a server that quotes the
/// password back, a configuration refused for a password in its string, and an ad hoc target
/// with one: no response, log line or metric holds any of them.
#[test]
fn no_secret_appears_in_what_the_exporter_serves_or_logs() {
    use crate::serve::{Exporter, get};
    let home = shared_tempdir();
    let dir = home.path();
    let root = Ca::root("pgtls serve secrets root");
    let leaf = root.server(&ServerCert::localhost());
    let mut setup = Setup::tls(leaf.cert_pem.clone(), leaf.key_pem.clone());
    setup
        .hba
        .insert(0, "hostssl all app 127.0.0.1/32 scram-sha-256");
    let server = Server::start(Version::V15, &setup);
    server.sql("CREATE ROLE app LOGIN PASSWORD 'file-secret-9'");
    let password_file = dir.join("app.password");
    std::fs::write(&password_file, "file-secret-9\n").unwrap();
    let wrong_file = dir.join("wrong.password");
    std::fs::write(&wrong_file, "wrong-secret-10\n").unwrap();
    let echo = crate::fake::fake(echo_the_password);
    let base = format!(
        "host=localhost port={} user=app dbname=postgres sslmode=require",
        server.port
    );
    let config = dir.join("serve.toml");
    std::fs::write(
        &config,
        format!(
            "[allow_any_target]\nhosts = [\"127.0.0.1\", \"localhost\"]\n\
             [targets.file]\nconninfo = \"{base}\"\npassword_file = \"{}\"\n\
             [targets.wrong]\nconninfo = \"{base}\"\npassword_file = \"{}\"\n\
             [targets.env]\nconninfo = \"{base}\"\npassword_env = \"APP_PASSWORD\"\n\
             [targets.echo]\nconninfo = \"host=127.0.0.1 port={echo} user=u sslmode=prefer\"\npassword_env = \"ECHO_PASSWORD\"\n",
            password_file.display(),
            wrong_file.display()
        ),
    )
    .unwrap();
    let vars = [
        ("APP_PASSWORD", "file-secret-9"),
        ("ECHO_PASSWORD", "echo-secret-7"),
        ("PGPASSWORD", "env-secret-2"),
    ];
    let exporter = Exporter::start(dir, &["--config", config.to_str().unwrap()], &vars);
    let mut seen = String::new();
    for path in [
        "/probe?target=file".to_string(),
        "/probe?target=wrong".to_string(),
        "/probe?target=env".to_string(),
        "/probe?target=echo".to_string(),
        format!(
            "/probe?target=host%3Dlocalhost%20port%3D{}%20user%3Dapp%20password%3Dstring-secret-1",
            server.port
        ),
        format!(
            "/probe?target=host%3Dlocalhost%20port%3D{}%20user%3Dapp",
            server.port
        ),
        "/metrics".to_string(),
        "/".to_string(),
    ] {
        let (status, body) = get(exporter.port, &path);
        // The path itself is what the scraper sent; what comes back is what is checked.
        let shown = path.split("%20password").next().unwrap();
        seen.push_str(&format!("{shown} {status}\n{body}\n"));
    }
    assert!(seen.contains("/probe?target=file 200\n"), "{seen}");
    assert!(
        seen.contains("probe_success 1"),
        "the file's password logs in: {seen}"
    );
    // Five probes and one refusal, logged in order: the last probe's line comes last.
    let all = format!("{seen}\n{}", exporter.log_with("msg=probe ", 5));
    for secret in [
        "file-secret-9",
        "wrong-secret-10",
        "echo-secret-7",
        "env-secret-2",
        "string-secret-1",
    ] {
        assert!(!all.contains(secret), "{secret} leaked:\n{all}");
    }
    // Refused at start, with no password in the message.
    std::fs::write(
        &config,
        "[targets.a]\nconninfo = \"host=localhost password=string-secret-1\"\n",
    )
    .unwrap();
    let out = pgtls(dir)
        .args([
            "serve",
            "--check-config",
            "--config",
            config.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let text = String::from_utf8_lossy(&out.stderr);
    assert!(
        text.contains("holds a password") && !text.contains("string-secret-1"),
        "{text}"
    );
}
