//! `--client` around the verdicts themselves (which `drivers.rs` compares with the real drivers):
//! which client a string's form selects, drivers' refusals, `explain --client`, and every output
//! format naming the client, read by the real consumers' parsers.

use serde_json::Value;

use crate::harness::pgtls;
use crate::pki::{Ca, ServerCert};
use crate::server::{Server, Setup, Version, shared_tempdir};

fn json(out: &std::process::Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "no JSON ({e}): {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

#[test]
fn a_strings_form_selects_its_driver_and_the_report_says_which() {
    let home = shared_tempdir();
    let root = Ca::root("pgtls clients root");
    let leaf = root.server(&ServerCert::localhost());
    let server = Server::start(Version::V15, &Setup::tls(leaf.cert_pem, leaf.key_pem));
    let root_file = home.path().join("root.crt");
    std::fs::write(&root_file, &root.cert_pem).unwrap();
    let port = server.port;
    let root = root_file.display();
    // (string, --client, client reported, exit code, reference of its verdict)
    let table = [
        (
            format!(
                "jdbc:postgresql://localhost:{port}/postgres?user=postgres&ssl=true&sslrootcert={root}"
            ),
            None,
            "pgjdbc",
            0,
            "verified",
        ),
        (
            format!(
                "Host=localhost;Port={port};Username=postgres;SSL Mode=VerifyFull;Root Certificate={root}"
            ),
            None,
            "npgsql",
            0,
            "modelled",
        ),
        (
            format!("postgresql://postgres@localhost:{port}/postgres?sslmode=require"),
            Some("node-postgres"),
            "node-postgres",
            6,
            "verified",
        ),
        (
            format!("postgresql://postgres@localhost:{port}/postgres"),
            Some("asyncpg"),
            "asyncpg",
            0,
            "verified",
        ),
    ];
    for (conninfo, client, reported, code, reference) in table {
        let mut command = pgtls(home.path());
        command.args(["check", "--format", "json"]);
        if let Some(client) = client {
            command.args(["--client", client]);
        }
        let out = command.arg(&conninfo).output().unwrap();
        let doc = json(&out);
        let target = &doc["targets"][0];
        assert_eq!(target["client"]["name"], reported, "{conninfo}");
        assert_eq!(out.status.code(), Some(code), "{conninfo}: {target}");
        assert_eq!(target["exit_code"], code, "{conninfo}");
        assert_eq!(target["clients"][0]["name"], reported, "{conninfo}");
        assert_eq!(target["clients"][0]["reference"], reference, "{conninfo}");
        assert!(
            target["clients"][0]["libpq_equivalent"]
                .as_str()
                .is_some_and(|s| s.contains(&format!("port={port}"))),
            "{conninfo}: {target}"
        );
    }
    // asyncpg's default is prefer, which never verifies: a finding says so.
    let out = pgtls(home.path())
        .args(["check", "--format", "json", "--client", "asyncpg"])
        .arg(format!("postgresql://postgres@localhost:{port}/postgres"))
        .output()
        .unwrap();
    let doc = json(&out);
    let codes: Vec<&str> = doc["targets"][0]["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["code"].as_str().unwrap())
        .collect();
    assert!(codes.contains(&"client_unverified"), "{codes:?}");
}

#[test]
fn strings_a_driver_refuses_exit_2_with_the_drivers_message() {
    let home = shared_tempdir();
    // (arguments, message)
    let table: [(&[&str], &str); 10] = [
        (
            &["jdbc:postgresql://db.example.com"],
            "pgjdbc: Unable to parse URL (JDBC URL must contain a / at the end of the host or port)",
        ),
        (&["jdbc:postgresql://db/app?sslmode=sometimes"], ""),
        (
            &["--client", "asyncpg", "mysql://db/app"],
            "asyncpg: invalid DSN: scheme is expected to be either \"postgresql\" or \"postgres\", got 'mysql'",
        ),
        (
            &["--client", "node-postgres", "host=db sslmode=require"],
            "node-postgres: not a URL",
        ),
        (
            &["Host=db;Colour=blue"],
            "npgsql: Keyword not supported: 'Colour'",
        ),
        (
            &["--client", "pgjdbc", "host=db sslmode=require"],
            "pgjdbc: No suitable driver found for this URL (a pgjdbc URL starts with jdbc:postgresql:)",
        ),
        (
            &["--client", "sqlx", "host=db sslmode=require"],
            "sqlx: error with configuration: relative URL without a base",
        ),
        (
            &["--client", "tokio-postgres", "host=db sslrootcert=/r.crt"],
            "tokio-postgres: invalid connection string: unknown option: \"sslrootcert\" (tokio-postgres leaves certificates to the TLS connector",
        ),
        (
            &["--client", "lib-pq", "host=db sslmode=verify_full"],
            "lib-pq: pq: wrong value for \"sslmode\": \"verify_full\" is not supported",
        ),
        (
            &["--client", "pgx", "host=db port=5432,5433,5434 host=a,b"],
            "pgx: cannot parse the connection string: could not match 3 port numbers to 2 hosts",
        ),
    ];
    for (args, message) in table {
        let out = pgtls(home.path()).arg("check").args(args).output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        if message.is_empty() {
            // An sslmode pgjdbc does not know is refused when it connects: a verdict, exit 2.
            assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
            let out = pgtls(home.path())
                .args(["check", "--format", "json"])
                .args(args)
                .output()
                .unwrap();
            let doc = json(&out);
            assert_eq!(
                doc["targets"][0]["clients"][0]["error"],
                "Invalid sslmode value: sometimes"
            );
            continue;
        }
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(
            stderr.starts_with(&format!("pgtls: error: {message}")),
            "{args:?}: {stderr}"
        );
        // In a document, the refused string is a failed target of a complete report.
        let out = pgtls(home.path())
            .args(["check", "--format", "json"])
            .args(args)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let doc = json(&out);
        assert!(
            doc["targets"][0]["summary"]
                .as_str()
                .unwrap()
                .contains(message),
            "{args:?}: {doc}"
        );
    }
    for (client, words) in [
        ("diesel", "unknown client \"diesel\""),
        (
            "npgsql@7.1",
            "npgsql has no version line \"7.1\" that pgtls models",
        ),
    ] {
        let out = pgtls(home.path())
            .args(["check", "--client", client, "host=db"])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(words), "{stderr}");
    }
}

#[test]
fn explain_says_what_each_client_will_do_without_connecting() {
    let home = shared_tempdir();
    let out = pgtls(home.path())
        .args([
            "explain",
            "--client",
            "all",
            "--format",
            "json",
            "jdbc:postgresql://db.example.com:6432/orders?user=app&ssl=true",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let doc = json(&out);
    assert_eq!(doc["read_as"], "pgjdbc");
    assert_eq!(doc["hosts"][0][0], "db.example.com");
    assert_eq!(doc["hosts"][0][1], 6432);
    assert_eq!(
        doc["libpq_equivalent"],
        "host=db.example.com port=6432 dbname=orders user=app"
    );
    let plans = doc["clients"].as_array().unwrap();
    let names: Vec<&str> = plans.iter().map(|p| p["name"].as_str().unwrap()).collect();
    assert_eq!(
        names,
        [
            "libpq",
            "pgjdbc",
            "node-postgres",
            "asyncpg",
            "npgsql",
            "pgx",
            "lib-pq",
            "sqlx",
            "tokio-postgres"
        ]
    );
    // ssl=true alone is pgjdbc's verify-full; the libpq equivalent has no sslmode: prefer.
    assert_eq!(plans[1]["mode"], "verify-full (ssl=true)");
    assert!(
        plans[1]["chain"]
            .as_str()
            .unwrap()
            .contains("any certificate of")
    );
    assert_eq!(plans[1]["host_name"], "checked (PGjdbcHostnameVerifier)");
    assert_eq!(plans[0]["mode"], "prefer");
    assert_eq!(plans[4]["reference"], "modelled");

    let out = pgtls(home.path())
        .args([
            "explain",
            "--client",
            "node-postgres",
            "postgresql://app@db.example.com/orders",
        ])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.starts_with(
            "Read as node-postgres: hosts db.example.com:5432; user app; database orders\n"
        ),
        "{text}"
    );
    assert!(text.contains("  transports  plaintext only\n"), "{text}");

    // An older line's rules, named as such (lib/pq 1.10 stops at PGSYSCONFDIR, which the
    // harness sets).
    let out = pgtls(home.path())
        .env_remove("PGSYSCONFDIR")
        .args([
            "explain",
            "--client",
            "lib-pq@1.10",
            "--format",
            "json",
            "postgresql://app@db.example.com/orders?sslmode=prefer",
        ])
        .output()
        .unwrap();
    let doc = json(&out);
    let plan = &doc["clients"][0];
    assert_eq!(plan["name"], "lib-pq@1.10", "{doc}");
    assert!(
        plan["models"].as_str().unwrap().contains("lib/pq 1.10.9"),
        "{plan}"
    );
    assert!(
        plan["refused"]
            .as_str()
            .unwrap()
            .contains("unsupported sslmode \"prefer\""),
        "{plan}"
    );
}

#[test]
fn every_format_names_each_clients_verdict() {
    let home = shared_tempdir();
    let root = Ca::root("pgtls clients formats root");
    let leaf = root.server(&ServerCert::localhost());
    let server = Server::start(Version::V15, &Setup::tls(leaf.cert_pem, leaf.key_pem));
    let root_file = home.path().join("root.crt");
    std::fs::write(&root_file, &root.cert_pem).unwrap();
    let conninfo = format!(
        "host=localhost port={} user=postgres sslmode=verify-full sslrootcert={}",
        server.port,
        root_file.display()
    );
    let run = |format: &str| {
        pgtls(home.path())
            .args(["check", "--client", "all", "--format", format, &conninfo])
            .output()
            .unwrap()
    };
    let out = run("prometheus");
    assert_eq!(out.status.code(), Some(0));
    let samples = crate::fleet::consumer("prometheus", &out.stdout);
    let up: Vec<(&str, f64)> = samples
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["name"] == "pgtls_client_up")
        .map(|s| {
            assert_eq!(s["labels"]["client"], "all");
            (
                s["labels"]["driver"].as_str().unwrap(),
                s["value"].as_f64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        up,
        [
            ("libpq", 1.0),
            ("pgjdbc", 1.0),
            ("node-postgres", 1.0),
            ("asyncpg", 1.0),
            ("npgsql", 1.0),
            ("pgx", 1.0),
            ("lib-pq", 1.0),
            ("sqlx", 1.0),
            ("tokio-postgres", 1.0),
        ]
    );
    let out = run("junit");
    let junit = crate::fleet::consumer("junit", &out.stdout);
    let name = junit["cases"][0]["name"].as_str().unwrap();
    assert!(name.ends_with("sslmode=verify-full client=all"), "{name}");
    let out = run("text");
    let text = String::from_utf8_lossy(&out.stdout);
    for client in [
        "libpq",
        "pgjdbc",
        "node-postgres",
        "asyncpg",
        "npgsql",
        "pgx",
        "lib-pq",
        "sqlx",
        "tokio-postgres",
    ] {
        assert!(
            text.lines()
                .any(|l| l.starts_with(&format!("  {client} ")) && l.contains("OK    exit 0")),
            "{client}: {text}"
        );
    }
}

#[test]
fn a_drivers_own_sslmode_is_shown_beside_libpqs_in_every_format() {
    let home = shared_tempdir();
    let root = Ca::root("pgtls driver mode root");
    let leaf = root.server(&ServerCert::localhost());
    let server = Server::start(Version::V15, &Setup::tls(leaf.cert_pem, leaf.key_pem));
    let root_file = home.path().join("root.crt");
    std::fs::write(&root_file, &root.cert_pem).unwrap();
    let conninfo = format!(
        "Host=localhost;Port={};Username=postgres;SSL Mode=VerifyFull;Root Certificate={}",
        server.port,
        root_file.display()
    );
    let run = |format: &str| {
        pgtls(home.path())
            .args(["check", "--format", format, &conninfo])
            .output()
            .unwrap()
    };
    let doc = json(&run("json"));
    let target = &doc["targets"][0];
    assert_eq!(target["sslmode"], "verify-full", "{target}");
    assert_eq!(target["driver_sslmode"], "SSL Mode=VerifyFull", "{target}");
    let text = String::from_utf8(run("text").stdout).unwrap();
    assert!(
        text.lines()
            .next()
            .is_some_and(|l| l.contains("sslmode=verify-full (SSL Mode=VerifyFull)  client=npgsql")),
        "{text}"
    );
    let samples = crate::fleet::consumer("prometheus", &run("prometheus").stdout);
    let up = samples
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "pgtls_up")
        .unwrap_or_else(|| panic!("no pgtls_up: {samples}"));
    assert_eq!(
        up["labels"]["driver_sslmode"], "SSL Mode=VerifyFull",
        "{up}"
    );
    assert_eq!(up["labels"]["sslmode"], "verify-full", "{up}");
    let junit = crate::fleet::consumer("junit", &run("junit").stdout);
    let name = junit["cases"][0]["name"].as_str().unwrap();
    assert!(
        name.ends_with("sslmode=verify-full (SSL Mode=VerifyFull) client=npgsql"),
        "{name}"
    );
}

#[test]
fn a_custom_ssl_factory_is_never_a_bare_ok() {
    // An application's own SSLSocketFactory decides what pgjdbc trusts: nothing pgtls sees says
    // whether the chain is verified, and CI can fail on that.
    let home = shared_tempdir();
    let leaf = Ca::root("pgtls custom factory root").server(&ServerCert::localhost());
    let server = Server::start(Version::V15, &Setup::tls(leaf.cert_pem, leaf.key_pem));
    let url = format!(
        "jdbc:postgresql://localhost:{}/postgres?user=postgres&sslmode=verify-full&sslfactory=com.example.TrustingFactory",
        server.port
    );
    let out = pgtls(home.path())
        .args(["check", "--format", "json", &url])
        .output()
        .unwrap();
    let doc = json(&out);
    let target = &doc["targets"][0];
    let finding = target["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["code"] == "verification_not_modelled")
        .unwrap_or_else(|| panic!("no verification_not_modelled: {target}"));
    assert_eq!(finding["severity"], "warning", "{finding}");
    assert!(
        finding["message"]
            .as_str()
            .unwrap()
            .contains("sslfactory=com.example.TrustingFactory"),
        "{finding}"
    );
    assert_eq!(
        target["clients"][0]["custom_verification"],
        "sslfactory=com.example.TrustingFactory"
    );
    let gated = pgtls(home.path())
        .args(["check", "--fail-on", "warning", &url])
        .output()
        .unwrap();
    assert_eq!(gated.status.code(), Some(9));
    let text = String::from_utf8_lossy(&gated.stdout);
    assert!(
        text.contains("trust        pgjdbc: not modelled: sslfactory=com.example.TrustingFactory"),
        "{text}"
    );
}
