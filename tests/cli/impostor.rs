//! A server whose certificate does not verify never receives a credential from pgtls, whichever
//! client is judged: the connections that gather facts for the other clients verify nothing
//! themselves, and send the password only where the client being judged would have sent it, after
//! its own checks. The impostor asks for a cleartext password and records every message a client
//! sends after the startup message; a trusted server with the same behaviour shows that the
//! recording works (there, the password is sent).

use std::time::Duration;

use crate::auth::{Behaviour, Sent, start};
use crate::harness::pgtls;
use crate::pki::{Ca, ServerCert};
use crate::serve::{Exporter, get};
use crate::server::shared_tempdir;

const PASSWORD: &str = "impostor-must-not-see-this";

/// What a connection that logged in as `user` sent that carries a credential.
fn credentials_sent(sent: &Sent, user: &str) -> Vec<String> {
    sent.lock()
        .unwrap()
        .get(user)
        .into_iter()
        .flatten()
        .filter(|m| {
            matches!(m.as_str(), "password" | "md5 hash" | "sasl response")
                || m.starts_with("sasl ")
        })
        .cloned()
        .collect()
}

/// (user, the arguments after `check`, the exit code pgtls gives when the chain does not verify)
/// for a server `port` that must be verified against `root`; each case logs in as a user of its
/// own, whose name starts with `prefix`.
fn cases(port: u16, root: &str, prefix: &str) -> Vec<(String, Vec<String>, i32)> {
    let mut cases = Vec::new();
    let mut add = |name: &str, client: Option<&str>, string: &dyn Fn(&str) -> String, code| {
        let user = format!("{prefix}-{name}");
        let mut args: Vec<String> = client
            .map(|c| vec!["--client".into(), c.into()])
            .unwrap_or_default();
        args.push(string(&user));
        cases.push((user, args, code));
    };
    let libpq = |user: &str| {
        format!(
            "host=localhost port={port} user={user} dbname=postgres sslmode=verify-full sslrootcert={root}"
        )
    };
    let url = |user: &str| {
        format!(
            "postgresql://{user}@localhost:{port}/postgres?sslmode=verify-full&sslrootcert={root}"
        )
    };
    let jdbc = |user: &str| {
        format!(
            "jdbc:postgresql://localhost:{port}/postgres?user={user}&password={PASSWORD}&sslmode=verify-full&sslrootcert={root}"
        )
    };
    let npgsql = |user: &str| {
        format!(
            "Host=localhost;Port={port};Username={user};Password={PASSWORD};SSL Mode=VerifyFull;Root Certificate={root}"
        )
    };
    add("libpq", Some("libpq"), &libpq, 6);
    add("all", Some("all"), &libpq, 6);
    // Each driver given a string as it reads them; JDBC and Npgsql strings choose their client.
    add("node", Some("node-postgres"), &url, 6);
    add("asyncpg", Some("asyncpg"), &url, 6);
    add("jdbc", Some("pgjdbc"), &jdbc, 6);
    add("jdbc-detected", None, &jdbc, 6);
    add("npgsql", Some("npgsql"), &npgsql, 6);
    add("npgsql-detected", None, &npgsql, 6);
    // No root file at all: libpq stops before the handshake; pgtls still shows the chain.
    add(
        "no-root-file",
        None,
        &|user| {
            format!(
                "host=localhost port={port} user={user} sslmode=verify-full sslrootcert=/nonexistent/root.crt"
            )
        },
        2,
    );
    cases
}

/// Runs `check` with the password in the environment; returns the exit code and the output.
fn check(home: &std::path::Path, args: &[String]) -> (Option<i32>, String) {
    let out = pgtls(home)
        .arg("check")
        .args(args)
        .env("PGPASSWORD", PASSWORD)
        .timeout(Duration::from_secs(60))
        .output()
        .unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

#[test]
fn no_client_sends_a_credential_to_a_server_whose_certificate_fails_its_checks() {
    let home = shared_tempdir();
    let expected = Ca::root("pgtls expected root");
    let impostor_ca = Ca::root("pgtls impostor root");
    let root = home.path().join("root.crt");
    std::fs::write(&root, &expected.cert_pem).unwrap();
    let root = root.display().to_string();

    let sent = Sent::default();
    let localhost = ServerCert::localhost();
    // A certificate the root file verifies, for another name.
    let misnamed = ServerCert {
        cn: Some("db.example.com"),
        dns: vec!["db.example.com"],
        ips: Vec::new(),
        ..ServerCert::localhost()
    };
    // (name, the server's certificate, the exit code where every case has the same, whether the
    // password is sent): an impostor and a misnamed server get nothing; the control, a server
    // the root file verifies by a name its certificate holds, gets the password.
    let servers = [
        ("impostor", impostor_ca.server(&localhost), None, false),
        ("misnamed", expected.server(&misnamed), Some(7), false),
        ("trusted", expected.server(&localhost), Some(0), true),
    ];
    for (prefix, issued, code, sends) in servers {
        let port = start(Behaviour::Cleartext, &issued, sent.clone());
        for (user, args, own_code) in cases(port, &root, prefix) {
            if code.is_some() && user.ends_with("-no-root-file") {
                continue;
            }
            let (status, stdout) = check(home.path(), &args);
            assert_eq!(status, Some(code.unwrap_or(own_code)), "{args:?}\n{stdout}");
            let credentials = credentials_sent(&sent, &user);
            if sends {
                assert!(credentials.contains(&"password".to_string()), "{args:?}");
                continue;
            }
            assert_eq!(credentials, Vec::<String>::new(), "{args:?}");
            if prefix == "impostor" && !user.ends_with("-libpq") {
                // Past the handshake (an unverified connection gathers the facts), the login
                // stops before any credential.
                assert!(
                    sent.lock().unwrap().contains_key(&user),
                    "{args:?}: no startup message reached the server, so the test shows nothing"
                );
            }
        }
    }
}

#[test]
fn a_configured_exporter_target_never_sends_its_password_to_an_impostor() {
    let home = shared_tempdir();
    let dir = home.path();
    let expected = Ca::root("pgtls expected root");
    let impostor_ca = Ca::root("pgtls impostor root");
    let root = dir.join("root.crt");
    std::fs::write(&root, &expected.cert_pem).unwrap();
    let password = dir.join("monitor.password");
    std::fs::write(&password, format!("{PASSWORD}\n")).unwrap();
    let sent = Sent::default();
    let port = start(
        Behaviour::Cleartext,
        &impostor_ca.server(&ServerCert::localhost()),
        sent.clone(),
    );
    let config = dir.join("serve.toml");
    std::fs::write(
        &config,
        format!(
            "[modules.all]\nclient = \"all\"\n\
             [targets.jdbc]\nconninfo = \"jdbc:postgresql://localhost:{port}/postgres?user=jdbc&sslmode=verify-full&sslrootcert={root}\"\npassword_file = \"{pw}\"\n\
             [targets.libpq]\nconninfo = \"host=localhost port={port} user=libpq sslmode=verify-full sslrootcert={root}\"\npassword_file = \"{pw}\"\nmodule = \"all\"\n",
            root = root.display(),
            pw = password.display()
        ),
    )
    .unwrap();
    let exporter = Exporter::start(dir, &["--config", config.to_str().unwrap()], &[]);
    for target in ["jdbc", "libpq"] {
        for _ in 0..2 {
            let (status, body) = get(exporter.port, &format!("/probe?target={target}"));
            assert_eq!(status, 200, "{body}");
            assert!(body.contains("pgtls_exit_code{"), "{body}");
            assert!(body.contains("probe_success 0"), "{body}");
        }
        assert!(
            sent.lock().unwrap().contains_key(target),
            "{target}: no connection"
        );
        assert_eq!(
            credentials_sent(&sent, target),
            Vec::<String>::new(),
            "{target}"
        );
    }
}
