//! `pgtls explain` as a user runs it: sources, notes, formats, errors and secrets.

use serde_json::Value;

use crate::harness::pgtls;

fn json(home: &std::path::Path, conninfo: &str, vars: &[(&str, &str)]) -> Value {
    let out = pgtls(home)
        .envs(vars.iter().copied())
        .args(["explain", "--format", "json", conninfo])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn note_codes(doc: &Value) -> Vec<String> {
    doc["notes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["code"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn json_reports_each_value_with_its_source() {
    let home = tempfile::tempdir().unwrap();
    let doc = json(
        home.path(),
        "postgresql://u%40x@[::1]:5433,db2/app?sslmode=verify-full",
        &[("PGAPPNAME", "deploy"), ("PGSSLMODE", "disable")],
    );
    let params = &doc["params"];
    assert_eq!(
        params["user"],
        serde_json::json!({"value": "u@x", "source": "conninfo"})
    );
    assert_eq!(params["host"]["value"], "::1,db2");
    assert_eq!(params["port"]["value"], "5433,");
    assert_eq!(params["sslmode"]["source"], "conninfo");
    assert_eq!(
        params["application_name"],
        serde_json::json!({"value": "deploy", "source": "env", "env": "PGAPPNAME"})
    );
    assert_eq!(params["ssl_min_protocol_version"]["source"], "default");
    let targets = doc["targets"].as_array().unwrap();
    assert_eq!(targets.len(), 2);
    assert_eq!(targets[0]["host"], "::1");
    assert_eq!(targets[0]["port"], 5433);
    assert_eq!(targets[0]["sni"], Value::Null, "no SNI for an IP address");
    assert_eq!(targets[1]["host"], "db2");
    assert_eq!(targets[1]["port"], 5432);
    assert_eq!(targets[1]["sni"], "db2");
    assert_eq!(targets[1]["verify_host_name"], true);
}

#[test]
fn require_with_a_root_file_is_noted_as_verify_ca() {
    let home = tempfile::tempdir().unwrap();
    let dir = home.path().join(".postgresql");
    std::fs::create_dir(&dir).unwrap();
    std::fs::write(dir.join("root.crt"), "not read by explain").unwrap();
    let doc = json(home.path(), "host=db.example.com sslmode=require", &[]);
    assert!(
        note_codes(&doc).contains(&"require_verifies_chain".to_string()),
        "{doc}"
    );
    assert_eq!(doc["targets"][0]["verify_chain"], true);
    assert_eq!(doc["targets"][0]["verify_host_name"], false);
    let doc = json(
        home.path(),
        "host=db.example.com sslmode=require sslrootcert=/nonexistent",
        &[],
    );
    assert_eq!(doc["targets"][0]["verify_chain"], false);
}

#[test]
fn libpqs_surprises_are_noted() {
    let home = tempfile::tempdir().unwrap();
    let cases: &[(&str, &str)] = &[
        ("host=db.example.com", "prefer_may_use_plaintext"),
        (
            "host=db.example.com sslmode=allow",
            "allow_tries_plaintext_first",
        ),
        (
            "host=/var/run/postgresql sslmode=require",
            "unix_socket_never_uses_tls",
        ),
        (
            "host=db.example.com sslrootcert=system",
            "system_roots_imply_verify_full",
        ),
        (
            "host=db.example.com sslmode=verify-full",
            "root_file_missing",
        ),
        (
            "host=db.example.com hostaddr=10.0.0.1",
            "hostaddr_connects_host_verifies",
        ),
        (
            "hostaddr=10.0.0.1 sslmode=verify-full sslrootcert=system",
            "verify_full_needs_host",
        ),
        (
            "host=db.example.com sslmode=require sslnegotiation=direct",
            "direct_needs_postgresql_17",
        ),
    ];
    for (conninfo, code) in cases {
        let doc = json(home.path(), conninfo, &[]);
        assert!(
            note_codes(&doc).contains(&code.to_string()),
            "{conninfo}: {doc}"
        );
    }
    let doc = json(home.path(), "host=/tmp sslmode=require", &[]);
    assert_eq!(
        doc["targets"][0]["attempts"],
        serde_json::json!(["plaintext"])
    );
    let doc = json(home.path(), "host=db.example.com", &[]);
    assert_eq!(
        doc["targets"][0]["attempts"],
        serde_json::json!(["tls", "plaintext"])
    );
}

#[test]
fn text_output_aligns_values_with_their_sources() {
    let home = tempfile::tempdir().unwrap();
    let out = pgtls(home.path())
        .env("PGSSLMODE", "verify-full")
        .args(["explain", "host=db.example.com"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.starts_with("Parameters\n"), "{text}");
    let line = text
        .lines()
        .find(|l| l.trim_start().starts_with("sslmode "))
        .unwrap();
    assert!(line.ends_with("env (PGSSLMODE)"), "{line}");
    assert!(
        text.contains("\nTargets\n  1. db.example.com:5432\n"),
        "{text}"
    );
    assert!(text.contains("host name     verified"), "{text}");
}

#[test]
fn a_bad_string_exits_2_with_libpqs_message() {
    let home = tempfile::tempdir().unwrap();
    let cases = [
        (
            "sslmode=verify_full",
            "invalid sslmode value: \"verify_full\"",
        ),
        (
            "host='x",
            "unterminated quoted string in connection info string",
        ),
        ("hots=x", "invalid connection option \"hots\""),
        (
            "postgresql://h/db?x=1",
            "invalid URI query parameter: \"x\"",
        ),
    ];
    for (conninfo, message) in cases {
        // libpq's message first, as libpq words it; a hint may follow on a line of its own.
        pgtls(home.path())
            .args(["explain", conninfo])
            .assert()
            .code(2)
            .stdout("")
            .stderr(predicates::str::starts_with(format!(
                "pgtls: error: {message}\n"
            )));
    }
    for (conninfo, hint) in [
        ("hots=x", "did you mean \"host\"?"),
        (
            "sslmode=verify_full",
            "did you mean \"verify-full\"? (sslmode takes disable, allow, prefer, require, verify-ca, verify-full)",
        ),
    ] {
        pgtls(home.path())
            .args(["explain", conninfo])
            .assert()
            .code(2)
            .stderr(predicates::str::ends_with(format!("pgtls: hint: {hint}\n")));
    }
}

#[test]
fn usage_errors_exit_2() {
    let home = tempfile::tempdir().unwrap();
    pgtls(home.path())
        .args(["explain", "--format", "yaml"])
        .assert()
        .code(2);
    pgtls(home.path())
        .args(["explain", "a=1", "b=2"])
        .assert()
        .code(2);
    pgtls(home.path()).assert().code(2);
}

#[test]
fn terminal_escapes_in_values_are_made_visible() {
    let home = tempfile::tempdir().unwrap();
    let out = pgtls(home.path())
        .env("PGAPPNAME", "evil\u{1b}[2Jname")
        .args(["explain", "host=h"])
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(!text.contains('\u{1b}'), "{text:?}");
    assert!(text.contains("evil\\x1b[2Jname"), "{text}");
}

#[test]
fn bad_strings_stop_check_before_any_connection() {
    let home = tempfile::tempdir().unwrap();
    let long_value = "x".repeat(100_000);
    let long_keyword = format!("{long_value}=1");
    let cases = [
        (
            "host='db",
            "unterminated quoted string in connection info string",
        ),
        ("hots=db", "invalid connection option \"hots\""),
        (
            "host=db sslmode=verify_full",
            "invalid sslmode value: \"verify_full\"",
        ),
        (
            "postgresql://db/app%zz",
            "invalid percent-encoded token: \"app%zz\"",
        ),
        (
            "postgresql://db/app%00",
            "forbidden value %00 in percent-encoded value",
        ),
        ("host=db port=99999", "invalid port number: \"99999\""),
        (long_keyword.as_str(), "invalid connection option"),
    ];
    for (conninfo, message) in cases {
        let start = std::time::Instant::now();
        let out = pgtls(home.path())
            .args(["check", conninfo])
            .output()
            .unwrap();
        assert_eq!(
            out.status.code(),
            Some(2),
            "{}",
            &conninfo[..conninfo.len().min(40)]
        );
        assert!(String::from_utf8_lossy(&out.stderr).contains(message));
        assert!(out.stdout.is_empty());
        assert!(start.elapsed() < std::time::Duration::from_secs(2));
    }
    let long = format!("host=db application_name={long_value}");
    let out = pgtls(home.path())
        .args(["explain", "--format", "json", &long])
        .output()
        .unwrap();
    assert!(out.status.success(), "a 100 kB value is read whole");
}

#[test]
fn completions_and_the_manual_come_from_the_binary() {
    let home = tempfile::tempdir().unwrap();
    for shell in ["bash", "zsh", "fish"] {
        let out = pgtls(home.path())
            .args(["completions", shell])
            .output()
            .unwrap();
        assert!(out.status.success(), "{shell}");
        let script = String::from_utf8(out.stdout).unwrap();
        assert!(
            script.contains("check") && script.contains("audit"),
            "{shell}: {script}"
        );
    }
    let bash = pgtls(home.path())
        .args(["completions", "bash"])
        .output()
        .unwrap()
        .stdout;
    let file = home.path().join("pgtls.bash");
    std::fs::write(&file, bash).unwrap();
    let syntax = std::process::Command::new("bash")
        .arg("-n")
        .arg(&file)
        .status()
        .unwrap();
    assert!(syntax.success(), "the bash completion script parses");
    let man = String::from_utf8(pgtls(home.path()).arg("man").output().unwrap().stdout).unwrap();
    assert!(
        man.starts_with(".ie") || man.contains(".TH pgtls"),
        "{}",
        &man[..man.len().min(200)]
    );
    for section in [
        "PGTLS CHECK",
        "PGTLS EXPLAIN",
        "PGTLS ROOTS",
        "PGTLS INSPECT",
        "\\-\\-audit",
        "\\-\\-targets",
        ".SH \"EXIT STATUS\"",
        "certificate does not match the host name",
        ".SH EXAMPLES",
        ".SH ENVIRONMENT",
        "\\fBPGSSLROOTCERT\\fR\nsslrootcert",
        "\\fBJAVA_TOOL_OPTIONS\\fR",
        ".SH FILES",
        ".SH \"SEE ALSO\"",
        "PGTLS SCHEMA",
    ] {
        assert!(man.contains(section), "the manual lacks {section}");
    }
    // groff reads it without a warning.
    let page = home.path().join("pgtls.1");
    std::fs::write(&page, &man).unwrap();
    let groff = std::process::Command::new("groff")
        .args(["-man", "-ww", "-z"])
        .arg(&page)
        .output()
        .expect("groff (Debian's groff-base, which man-db needs) is installed");
    assert!(
        groff.status.success() && groff.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&groff.stderr)
    );
}
