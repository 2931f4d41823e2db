//! Certificate expiry in `check`: `--warn-days` warns on every check, `--crit-days` fails a target
//! that otherwise passes, against a TLS server whose certificate expires in 20 days.

use serde_json::Value;

use crate::harness::pgtls;
use crate::pki::ServerCert;
use crate::server::shared_tempdir;

#[test]
fn warn_days_warns_and_crit_days_fails_a_passing_target() {
    let home = shared_tempdir();
    let issued = ServerCert {
        valid: (-1, 20),
        ..ServerCert::localhost()
    }
    .self_signed();
    let root = home.path().join("root.crt");
    std::fs::write(&root, &issued.cert_pem).unwrap();
    let port = crate::auth::start(crate::auth::Behaviour::Trust, &issued, Default::default());
    let conninfo = format!(
        "host=localhost port={port} user=u sslmode=verify-full sslrootcert={}",
        root.display()
    );
    // (flags, exit code, finding codes that must be there, codes that must not)
    type Case<'a> = (&'a [&'a str], i32, &'a [&'a str], &'a [&'a str]);
    let cases: [Case; 5] = [
        (&[], 0, &["expires_soon"], &["expiry_threshold"]),
        (&["--warn-days", "10"], 0, &[], &["expires_soon"]),
        (
            &["--crit-days", "25"],
            9,
            &["expiry_threshold", "expires_soon"],
            &[],
        ),
        (
            &["--crit-days", "10"],
            0,
            &["expires_soon"],
            &["expiry_threshold"],
        ),
        (&["--audit", "--warn-days", "10"], 0, &[], &["expires_soon"]),
    ];
    for (flags, code, present, absent) in cases {
        let out = pgtls(home.path())
            .args(["check", "--format", "json"])
            .args(flags)
            .arg(&conninfo)
            .output()
            .unwrap();
        let doc: Value = serde_json::from_slice(&out.stdout).expect("a JSON report");
        let codes: Vec<&str> = doc["targets"][0]["findings"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|f| f["code"].as_str())
            .collect();
        assert_eq!(out.status.code(), Some(code), "{flags:?}: {codes:?}");
        for c in present {
            assert!(codes.contains(c), "{flags:?}: {c} missing from {codes:?}");
        }
        for c in absent {
            assert!(!codes.contains(c), "{flags:?}: {c} in {codes:?}");
        }
    }
}
