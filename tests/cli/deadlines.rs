//! Deadlines that hold whatever the network does: a resolver that never answers, a server that
//! goes silent under `--audit`. The report comes within the deadline, says which step ran out of
//! time, and the process exits right after it.

use std::time::{Duration, Instant};

use serde_json::Value;

use crate::fake::{fake, stay_silent};
use crate::harness::pgtls;
use crate::server::shared_tempdir;

#[test]
fn a_silent_resolver_ends_at_the_deadline_and_says_so() {
    let home = shared_tempdir();
    let resolv = home.path().join("resolv.conf");
    std::fs::write(
        &resolv,
        "nameserver 127.0.0.1\noptions timeout:5 attempts:4\n",
    )
    .unwrap();
    let bin = assert_cmd::cargo::cargo_bin("pgtls");
    // A network namespace of its own, whose only name server takes queries and never answers.
    let script = r#"ip link set lo up && mount --bind "$0" /etc/resolv.conf && \
        python3 -c 'import socket, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1", 53)); time.sleep(20)' \
        </dev/null >/dev/null 2>&1 &
        sleep 0.5; exec "$@""#;
    let start = Instant::now();
    let out = std::process::Command::new("unshare")
        .args(["--map-root-user", "--mount", "--net", "sh", "-c", script])
        .arg(&resolv)
        .arg(&bin)
        .args([
            "check",
            "--format",
            "json",
            "--timeout",
            "2",
            "host=db.example.com sslmode=require",
        ])
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", home.path())
        .output()
        .expect("unshare (util-linux) runs");
    let elapsed = start.elapsed();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !stderr.contains("unshare: ") && !stderr.contains("mount: "),
        "this test needs user, mount and network namespaces: {stderr}"
    );
    let doc: Value = serde_json::from_slice(&out.stdout).expect("a JSON report");
    assert_eq!(out.status.code(), Some(3), "{doc}");
    assert!(
        doc["targets"][0]["summary"]
            .as_str()
            .unwrap_or_default()
            .contains("timeout expired while resolving host name \"db.example.com\""),
        "{doc}"
    );
    assert!(
        elapsed < Duration::from_secs(5),
        "the process outlived its 2 s deadline: {elapsed:?}"
    );
}

#[test]
fn an_audit_of_a_silent_server_stops_at_its_deadline() {
    let home = shared_tempdir();
    let port = fake(stay_silent);
    let start = Instant::now();
    let out = pgtls(home.path())
        .args(["check", "--audit", "--format", "json", "--timeout", "2"])
        .arg(format!("host=127.0.0.1 port={port} sslmode=require"))
        .output()
        .unwrap();
    let elapsed = start.elapsed();
    let doc: Value = serde_json::from_slice(&out.stdout).expect("a JSON report");
    assert_eq!(out.status.code(), Some(3), "{doc}");
    // The check's own attempt (2 s), then the audit's one unanswered SSLRequest (2 s at most).
    assert!(elapsed < Duration::from_secs(6), "took {elapsed:?}");
    let findings = doc["targets"][0]["findings"].as_array().unwrap();
    assert!(
        findings.iter().any(|f| f["code"] == "audit_incomplete"
            && f["message"]
                .as_str()
                .unwrap_or_default()
                .contains("did not answer")),
        "{findings:?}"
    );
    assert!(doc["targets"][0]["audit"]["protocols"]["TLSv1.3"].is_null());
}
