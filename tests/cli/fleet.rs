//! Many targets at once: order, per-target results and the exit code of mixed fleets, and the
//! machine formats read back by their real consumers.

use std::time::{Duration, Instant};

use serde::Deserialize;
use serde_json::Value;

use crate::harness::{oracle_python, pgtls, root};
use crate::pki::{Ca, ServerCert};
use crate::server::{Server, Setup, Version, shared_tempdir};

/// The JSON document as the README documents it.
#[derive(Debug, Deserialize)]
struct Document {
    schema_version: u32,
    targets: Vec<Target>,
}

#[derive(Debug, Deserialize)]
#[allow(dead_code)]
struct Target {
    /// `null` for a line that was refused before it named a host.
    host: Option<String>,
    port: Option<u16>,
    exit_code: u8,
    summary: String,
    libpq_connects: bool,
    libpq_uses: bool,
    encrypted: bool,
    conninfo: usize,
    tls: Option<Tls>,
    certificates: Vec<Certificate>,
    findings: Vec<Finding>,
}

#[derive(Debug, Deserialize)]
#[allow(dead_code)]
struct Tls {
    protocol: String,
    cipher: String,
    cipher_iana: String,
}

#[derive(Debug, Deserialize)]
struct Certificate {
    sha256: String,
}

#[derive(Debug, Deserialize)]
#[allow(dead_code)]
struct Finding {
    severity: String,
    code: String,
    message: String,
    hint: Option<String>,
}

struct Fleet {
    home: tempfile::TempDir,
    _server: Server,
    targets_file: std::path::PathBuf,
}

/// A good target, an unreachable one, an untrusted one and a broken line, in that order.
fn fleet() -> Fleet {
    let home = shared_tempdir();
    let root = Ca::root("pgtls fleet root");
    let leaf = root.server(&ServerCert::localhost());
    let server = Server::start(
        Version::V15,
        &Setup::tls(leaf.cert_pem.clone(), leaf.key_pem.clone()),
    );
    let good = home.path().join("good.crt");
    std::fs::write(&good, &root.cert_pem).unwrap();
    let other = home.path().join("other.crt");
    std::fs::write(&other, Ca::root("pgtls other fleet root").cert_pem).unwrap();
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let port = server.port;
    let lines = [
        "# a mixed fleet".to_string(),
        format!(
            "host=localhost port={port} user=postgres sslmode=verify-full sslrootcert={}",
            good.display()
        ),
        String::new(),
        format!("host=127.0.0.1 port={closed} user=postgres sslmode=require"),
        format!(
            "host=localhost port={port} user=postgres sslmode=verify-full sslrootcert={}",
            other.display()
        ),
        "hots=typo".to_string(),
    ];
    let targets_file = home.path().join("targets.txt");
    std::fs::write(&targets_file, lines.join("\n")).unwrap();
    Fleet {
        home,
        _server: server,
        targets_file,
    }
}

fn run(f: &Fleet, format: &str) -> (i32, Vec<u8>) {
    let out = pgtls(f.home.path())
        .args(["check", "--format", format, "--targets"])
        .arg(&f.targets_file)
        .output()
        .unwrap();
    (out.status.code().unwrap_or(-1), out.stdout)
}

pub fn consumer(kind: &str, input: &[u8]) -> Value {
    let out = std::process::Command::new(oracle_python())
        .arg(root().join("tests/oracle/read_outputs.py"))
        .arg(kind)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut child| {
            use std::io::Write;
            child.stdin.take().unwrap().write_all(input)?;
            child.wait_with_output()
        })
        .unwrap();
    assert!(
        out.status.success(),
        "{kind} consumer failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn a_mixed_fleet_keeps_order_per_target_results_and_the_largest_code() {
    let f = fleet();
    let (code, stdout) = run(&f, "json");
    let doc: Document = serde_json::from_slice(&stdout).expect("the JSON has the documented shape");
    assert_eq!(doc.schema_version, 1);
    let codes: Vec<u8> = doc.targets.iter().map(|t| t.exit_code).collect();
    assert_eq!(codes, [0, 3, 6, 2]);
    assert_eq!(code, 6);
    let good = &doc.targets[0];
    assert!(good.libpq_connects && good.encrypted && good.libpq_uses);
    assert_eq!(good.tls.as_ref().unwrap().protocol, "TLSv1.3");
    assert_eq!(
        good.certificates[0].sha256.len(),
        95,
        "32 bytes as colon-separated hex"
    );
    assert_eq!(doc.targets[3].findings[0].code, "configuration");
    assert!(
        doc.targets[3]
            .summary
            .ends_with("targets.txt:6: invalid connection option \"hots\"")
    );
    // A line gets the advice the same string gets as an argument.
    assert_eq!(
        doc.targets[3].findings[0].hint.as_deref(),
        Some("did you mean \"host\"?")
    );
    let (_, text) = run(&f, "text");
    let text = String::from_utf8(text).unwrap();
    let lines: Vec<&str> = text.lines().take(4).collect();
    for (line, (n, word)) in lines
        .iter()
        .zip([(1, "OK"), (2, "FAIL"), (3, "FAIL"), (4, "FAIL")])
    {
        assert!(
            line.trim_start().starts_with(&format!("{n}  {word}")),
            "{text}"
        );
    }
    assert!(
        text.contains("4 targets: 1 OK, 3 failed (exit code 6)"),
        "{text}"
    );
}

#[test]
fn prometheus_output_is_read_by_prometheus_client_with_labels_that_survive_reordering() {
    let f = fleet();
    let (_, stdout) = run(&f, "prometheus");
    let samples = consumer("prometheus", &stdout);
    let samples = samples.as_array().unwrap();
    // Targets are named by what they are; `input` only where two would share every label.
    let value = |name: &str, target: &str, input: Option<&str>| {
        samples
            .iter()
            .find(|s| {
                s["name"] == name
                    && s["labels"]["target"] == target
                    && s["labels"]["input"].as_str() == input
            })
            .map(|s| s["value"].as_f64().unwrap())
    };
    assert!(samples.iter().all(|s| s["labels"].get("index").is_none()));
    assert_eq!(value("pgtls_up", "localhost", Some("1")), Some(1.0));
    assert_eq!(value("pgtls_up", "127.0.0.1", None), Some(0.0));
    assert_eq!(value("pgtls_exit_code", "localhost", Some("3")), Some(6.0));
    assert_eq!(value("pgtls_exit_code", "(invalid)", None), Some(2.0));
    // Expiry as a timestamp, which a stale file keeps true; the deprecated countdowns stay.
    let not_after = value(
        "pgtls_leaf_not_after_timestamp_seconds",
        "localhost",
        Some("1"),
    )
    .unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64();
    let days = (not_after - now) / 86_400.0;
    assert!((363.0..=366.0).contains(&days), "{days}");
    let seconds = value("pgtls_chain_expiry_seconds", "localhost", Some("1")).unwrap();
    assert!((seconds - (not_after - now)).abs() < 600.0);
    assert!(value("pgtls_check_duration_seconds", "127.0.0.1", None).is_some());
    let info = samples
        .iter()
        .find(|s| s["name"] == "pgtls_certificate_info")
        .unwrap();
    assert_eq!(info["labels"]["position"], "0");
    assert_eq!(info["labels"]["subject"], "CN=localhost");
    assert!(info["labels"]["sha256"].as_str().unwrap().len() == 95);
    let tls = samples
        .iter()
        .find(|s| s["name"] == "pgtls_tls_info")
        .unwrap();
    assert_eq!(tls["labels"]["protocol"], "TLSv1.3");
    assert!(!String::from_utf8_lossy(&stdout).contains("password"));

    // The same fleet in another order: the same series with the same values.
    let series = |text: &[u8]| -> std::collections::BTreeSet<String> {
        consumer("prometheus", text)
            .as_array()
            .unwrap()
            .iter()
            .filter(|s| s["name"] == "pgtls_exit_code" || s["name"] == "pgtls_up")
            .filter(|s| s["labels"].get("input").is_none())
            .map(|s| format!("{} {} {}", s["name"], s["labels"], s["value"]))
            .collect()
    };
    let mut lines: Vec<String> = std::fs::read_to_string(&f.targets_file)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect();
    lines.reverse();
    let reordered = f.home.path().join("reordered.txt");
    std::fs::write(&reordered, lines.join("\n")).unwrap();
    let out = pgtls(f.home.path())
        .args(["check", "--format", "prometheus", "--targets"])
        .arg(&reordered)
        .output()
        .unwrap();
    assert_eq!(series(&stdout), series(&out.stdout));
}

#[test]
fn audit_results_are_series_too() {
    let f = fleet();
    let line = std::fs::read_to_string(&f.targets_file)
        .unwrap()
        .lines()
        .nth(1)
        .unwrap()
        .to_string();
    let out = pgtls(f.home.path())
        .args(["check", "--audit", "--format", "prometheus", &line])
        .output()
        .unwrap();
    let samples = consumer("prometheus", &out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let accepted = |name: &str, label: &str, value: &str| {
        samples
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["name"] == name && s["labels"][label] == value)
            .map(|s| s["value"].as_f64().unwrap())
    };
    assert_eq!(
        accepted("pgtls_audit_protocol_accepted", "protocol", "TLSv1.3"),
        Some(1.0)
    );
    assert_eq!(
        accepted("pgtls_audit_protocol_accepted", "protocol", "TLSv1.0"),
        Some(0.0)
    );
    assert_eq!(
        accepted(
            "pgtls_audit_suite_accepted",
            "suite",
            "TLS_AES_256_GCM_SHA384"
        ),
        Some(1.0)
    );
    assert_eq!(
        accepted("pgtls_audit_legacy_suite_accepted", "family", "rc4"),
        Some(0.0)
    );
    assert!(
        samples
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s["name"] == "pgtls_audit_plaintext_accepted")
    );
}

#[test]
fn junit_output_is_read_by_junitparser() {
    let f = fleet();
    let (_, stdout) = run(&f, "junit");
    let suite = consumer("junit", &stdout);
    assert_eq!(suite["tests"], 4);
    // The server verdicts are failures; the line libpq refuses (`hots=typo`) is an error.
    assert_eq!(suite["failures"], 2);
    assert_eq!(suite["errors"], 1);
    assert_eq!(suite["cases"][3]["kinds"][0], "Error", "{suite}");
    let names: Vec<&str> = suite["cases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    // Named by host, port and sslmode; the input position only where two targets share that.
    assert!(
        names[1].starts_with("127.0.0.1:") && names[1].ends_with(" sslmode=require"),
        "{names:?}"
    );
    assert!(
        names[0].ends_with(" sslmode=verify-full (input 1)")
            && names[2].ends_with(" sslmode=verify-full (input 3)"),
        "{names:?}"
    );
    assert_eq!(names[3], "invalid connection string");
    let passed: Vec<bool> = suite["cases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["passed"].as_bool().unwrap())
        .collect();
    assert_eq!(passed, [true, false, false, false]);
    // What the handshake negotiated, group included, as the case's output.
    let out = suite["cases"][0]["system_out"].as_str().unwrap_or_default();
    assert!(
        out.starts_with("TLSv1.3 ")
            && out.contains(", group ")
            && out.contains("; first to expire: 0 \"CN=localhost\" on "),
        "{suite}"
    );
    let untrusted = &suite["cases"][2]["result"][0];
    assert!(
        untrusted
            .as_str()
            .unwrap()
            .contains("certificate verify failed"),
        "{suite}"
    );
}

#[test]
fn slow_targets_are_checked_concurrently_each_with_its_own_deadline() {
    let home = shared_tempdir();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let lines: Vec<String> = (0..12)
        .map(|_| format!("host=127.0.0.1 port={port} sslmode=require connect_timeout=2"))
        .collect();
    let start = Instant::now();
    let out = pgtls(home.path())
        .args([
            "check",
            "--format",
            "json",
            "--concurrency",
            "12",
            "--targets",
            "-",
        ])
        .write_stdin(lines.join("\n"))
        .output()
        .unwrap();
    let elapsed = start.elapsed();
    assert_eq!(out.status.code(), Some(3));
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["targets"].as_array().unwrap().len(), 12);
    assert!(
        elapsed < Duration::from_secs(5),
        "12 silent targets of 2 s each took {elapsed:?}"
    );
    drop(listener);
}

#[test]
fn a_nul_byte_in_a_targets_file_fails_that_line_alone() {
    let home = shared_tempdir();
    let file = home.path().join("targets.txt");
    std::fs::write(&file, b"host=a\0b sslmode=disable\nhots=x\n").unwrap();
    let out = pgtls(home.path())
        .args(["check", "--format", "json", "--targets"])
        .arg(&file)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    let summaries: Vec<&str> = doc["targets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["summary"].as_str().unwrap())
        .collect();
    assert!(
        summaries[0].ends_with("targets.txt:1: connection string contains a NUL byte"),
        "{summaries:?}"
    );
    assert!(
        summaries[1].ends_with("targets.txt:2: invalid connection option \"hots\""),
        "{summaries:?}"
    );
}

#[test]
fn a_targets_line_whose_local_files_cannot_be_used_fails_alone_and_names_its_target() {
    let f = fleet();
    let good = std::fs::read_to_string(&f.targets_file)
        .unwrap()
        .lines()
        .nth(1)
        .unwrap()
        .to_string();
    let missing_crl = f.home.path().join("missing.crl");
    let lines = [
        good.replace("good.crt", "missing.crt"),
        good.clone(),
        format!("{good} sslcrl={}", missing_crl.display()),
    ];
    let file = f.home.path().join("local-files.txt");
    std::fs::write(&file, lines.join("\n")).unwrap();
    let out = pgtls(f.home.path())
        .args(["check", "--format", "json", "--targets"])
        .arg(&file)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let doc: Document = serde_json::from_slice(&out.stdout).unwrap();
    let codes: Vec<u8> = doc.targets.iter().map(|t| t.exit_code).collect();
    assert_eq!(codes, [2, 0, 2]);
    // A CRL that cannot be used refuses the line before connecting, naming it.
    let t = &doc.targets[2];
    assert_eq!(
        (t.host.as_deref(), t.port),
        (Some("localhost"), doc.targets[1].port)
    );
    assert!(
        t.summary.contains("local-files.txt:3: ")
            && t.summary.contains("certificate revocation list"),
        "{}",
        t.summary
    );
    assert!(!t.summary.contains('\n'), "a summary is one line");
    // A missing root file is libpq's verdict once the server agrees to TLS.
    let t = &doc.targets[0];
    assert_eq!(
        (t.host.as_deref(), t.port),
        (Some("localhost"), doc.targets[1].port)
    );
    assert!(
        t.summary.starts_with("fails: root certificate file"),
        "{}",
        t.summary
    );
    assert!(!t.summary.contains('\n'), "a summary is one line");
    // libpq's second line of advice is kept, under the first.
    assert!(
        doc.targets[0].findings[0]
            .message
            .contains("\nEither provide the file")
    );
    std::fs::write(&file, &lines[0]).unwrap();
    let out = pgtls(f.home.path())
        .args(["check", "--targets"])
        .arg(&file)
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains("does not exist\n               Either provide the file"),
        "{text}"
    );
}

#[test]
fn concurrency_beyond_the_open_files_limit_is_lowered_never_blamed_on_servers() {
    let home = shared_tempdir();
    let targets = home.path().join("targets");
    // A listener that never accepts: every connection is held until its 1 s deadline, so all
    // of them are open at once unless the concurrency is fitted. Every verdict is 3.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = silent.local_addr().unwrap().port();
    let lines: Vec<String> = (0..300)
        .map(|n| {
            format!(
                "host=127.0.0.1 port={port} sslmode=disable connect_timeout=1 application_name=t{n}"
            )
        })
        .collect();
    std::fs::write(&targets, lines.join("\n")).unwrap();
    let bin = assert_cmd::cargo::cargo_bin("pgtls");
    // (ulimit settings, whether a warning is expected)
    for (limits, warns) in [
        ("ulimit -Sn 200 && ulimit -Hn 200", true),
        ("ulimit -Sn 80", false),
    ] {
        let out = std::process::Command::new("sh")
            .arg("-c")
            .arg(format!(
                "{limits} && exec \"$0\" check --format json --concurrency 4096 --targets \"$1\""
            ))
            .arg(&bin)
            .arg(&targets)
            .env_clear()
            .env("HOME", home.path())
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        let doc: serde_json::Value = serde_json::from_slice(&out.stdout).expect("a JSON report");
        let reports = doc["targets"].as_array().unwrap();
        assert_eq!(reports.len(), 300);
        assert!(
            reports.iter().all(|t| t["exit_code"] == 3),
            "{limits}: {}",
            reports
                .iter()
                .find(|t| t["exit_code"] != 3)
                .map(|t| t["summary"].to_string())
                .unwrap_or_default()
        );
        assert!(!doc.to_string().contains("Too many open files"), "{limits}");
        assert_eq!(stderr.contains("checking"), warns, "{limits}: {stderr}");
    }
}

#[test]
fn machine_formats_are_complete_documents_when_an_argument_cannot_be_used() {
    let home = shared_tempdir();
    let args = [
        "sslmode=bogus",
        "host=127.0.0.1 port=1 sslmode=verify-full sslrootcert=/etc/hostname sslcrl=/nonexistent/root.crl",
    ];
    let run = |format: &str| {
        let out = pgtls(home.path())
            .args(["check", "--format", format])
            .args(args)
            .output()
            .unwrap();
        assert_eq!(
            out.status.code(),
            Some(2),
            "{format}: the exit code is unchanged"
        );
        out.stdout
    };
    let doc: Value = serde_json::from_slice(&run("json")).expect("a JSON document");
    let targets = doc["targets"].as_array().unwrap();
    assert_eq!(targets.len(), 2);
    assert!(
        targets[0]["summary"]
            .as_str()
            .unwrap()
            .starts_with("argument 1: invalid sslmode value: \"bogus\""),
        "{doc}"
    );
    // A refused string never had a host, port or sslmode: null, not made-up defaults.
    for key in ["host", "port", "kind", "sslmode", "sslnegotiation"] {
        assert!(targets[0][key].is_null(), "{key}: {doc}");
    }
    assert_eq!(
        targets[1]["host"], "127.0.0.1",
        "the target is named: {doc}"
    );
    assert_eq!(targets[1]["findings"][0]["code"], "configuration");

    let suite = consumer("junit", &run("junit"));
    assert_eq!(
        (suite["errors"].as_u64(), suite["failures"].as_u64()),
        (Some(2), Some(0))
    );

    let samples = consumer("prometheus", &run("prometheus"));
    let codes: Vec<f64> = samples
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["name"] == "pgtls_exit_code")
        .map(|s| s["value"].as_f64().unwrap())
        .collect();
    assert_eq!(codes, [2.0, 2.0]);

    // For people, the first bad argument stops the run with its error, as before.
    let text = pgtls(home.path())
        .args(["check"])
        .args(args)
        .output()
        .unwrap();
    assert_eq!(text.status.code(), Some(2));
    assert!(text.stdout.is_empty());
}

#[test]
fn an_unreadable_targets_file_is_a_failed_target_of_a_complete_document() {
    let home = shared_tempdir();
    let missing = home.path().join("no-such-targets.txt");
    for format in ["json", "junit", "prometheus"] {
        let out = pgtls(home.path())
            .args(["check", "--format", format, "--targets"])
            .arg(&missing)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{format}");
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            format == "prometheus" || text.contains("no-such-targets.txt"),
            "{format}: the document names the file: {text}"
        );
        match format {
            "json" => {
                let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
                assert_eq!(doc["targets"][0]["exit_code"], 2);
            }
            "junit" => {
                let suite = consumer("junit", &out.stdout);
                assert_eq!(suite["errors"], 1);
            }
            _ => {
                let samples = consumer("prometheus", &out.stdout);
                assert!(
                    samples
                        .as_array()
                        .unwrap()
                        .iter()
                        .any(|s| s["name"] == "pgtls_exit_code" && s["value"] == 2.0)
                );
            }
        }
    }
    // For people, it stops the run with the reason.
    let out = pgtls(home.path())
        .args(["check", "--targets"])
        .arg(&missing)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
    assert!(String::from_utf8_lossy(&out.stderr).contains("could not read targets file"));
}
