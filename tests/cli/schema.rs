//! The JSON Schema files of `docs/schema/`: what `pgtls schema` prints (generated from the types
//! that write the documents), and every real document of every command valid against its file,
//! checked with the `jsonschema` library.

use std::process::Command;

use serde_json::Value;

use crate::harness::{oracle_python, pgtls, root};
use crate::pki::{Ca, ServerCert};
use crate::server::{Server, Setup, Version, shared_tempdir};

const DOCUMENTS: [&str; 4] = ["check", "explain", "roots", "inspect"];

#[test]
fn the_schema_files_are_what_pgtls_schema_prints() {
    let home = shared_tempdir();
    for document in DOCUMENTS {
        let out = pgtls(home.path())
            .args(["schema", document])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0));
        let file = root().join(format!("docs/schema/{document}.json"));
        let committed = std::fs::read(&file).unwrap();
        assert!(
            committed == out.stdout,
            "{} is stale: run `pgtls schema {document} > docs/schema/{document}.json`",
            file.display()
        );
    }
}

/// Validates documents (compact JSON, one per element) against `docs/schema/{document}.json`.
fn validate(document: &str, docs: &[Value]) -> Vec<String> {
    let mut validator = Command::new(oracle_python());
    validator
        .arg(root().join("tests/oracle/validate_json.py"))
        .arg(root().join(format!("docs/schema/{document}.json")));
    let input: String = docs.iter().map(|d| format!("{d}\n")).collect();
    let out = crate::harness::feed(validator, input);
    assert!(
        out.status.success(),
        "the validator failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let results: Vec<Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(results.len(), docs.len());
    results
        .iter()
        .zip(docs)
        .filter(|(r, _)| r["valid"] != true)
        .map(|(r, d)| format!("{document}: {}\n  in {d}", r["errors"]))
        .collect()
}

#[test]
fn every_commands_real_documents_match_their_schema() {
    let home = shared_tempdir();
    let ca = Ca::root("pgtls schema root");
    let leaf = ca.server(&ServerCert::localhost());
    let server = Server::start(Version::V15, &Setup::tls(leaf.cert_pem, leaf.key_pem));
    let root_file = home.path().join("root.crt");
    std::fs::write(&root_file, &ca.cert_pem).unwrap();
    let port = server.port;
    let good = format!(
        "host=localhost port={port} user=postgres sslmode=verify-full sslrootcert={}",
        root_file.display()
    );
    let runs: Vec<(&str, Vec<String>)> = vec![
        ("check", vec!["check".into(), good.clone()]),
        (
            "check",
            vec!["check".into(), "--audit".into(), good.clone()],
        ),
        (
            "check",
            vec![
                "check".into(),
                "--client".into(),
                "all".into(),
                good.clone(),
            ],
        ),
        (
            "check",
            vec![
                "check".into(),
                format!("host=localhost port={port} user=postgres sslmode=verify-full"),
                "sslmode=bogus".into(),
                format!("host=127.0.0.1 port=1 sslmode=require"),
            ],
        ),
        ("explain", vec!["explain".into(), good.clone()]),
        (
            "explain",
            vec![
                "explain".into(),
                "--client".into(),
                "all".into(),
                good.clone(),
            ],
        ),
        (
            "explain",
            vec![
                "explain".into(),
                format!("jdbc:postgresql://localhost:{port}/postgres?ssl=true"),
            ],
        ),
        ("roots", vec!["roots".into()]),
        (
            "inspect",
            vec![
                "inspect".into(),
                "--lint".into(),
                root_file.display().to_string(),
            ],
        ),
    ];
    let mut failures = Vec::new();
    for document in DOCUMENTS {
        let docs: Vec<Value> = runs
            .iter()
            .filter(|(d, _)| *d == document)
            .map(|(_, args)| {
                let out = pgtls(home.path())
                    .args(args)
                    .args(["--format", "json"])
                    .output()
                    .unwrap();
                let doc: Value = serde_json::from_slice(&out.stdout)
                    .unwrap_or_else(|e| panic!("{args:?}: no JSON ({e})"));
                for key in ["schema_version", "pgtls_version", "generated_at"] {
                    assert!(doc.get(key).is_some(), "{args:?}: no {key}");
                }
                doc
            })
            .collect();
        assert!(!docs.is_empty());
        failures.extend(validate(document, &docs));
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    // And the validator does validate: a document with a wrong type is refused.
    let mut broken: Value = serde_json::from_slice(
        &pgtls(home.path())
            .args(["check", "--format", "json", &good])
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap();
    broken["targets"][0]["exit_code"] = Value::from("zero");
    assert_eq!(validate("check", &[broken]).len(), 1);
}
