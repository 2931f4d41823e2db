//! pgtls against libpq itself: every string of a corpus goes through libpq's parser and
//! connection setup (via psycopg's bundled libpq 18) and through `pgtls explain`, and the two must
//! agree on what the string sets, on what libpq resolves it to, and on every error message.
//!
//! `PGTLS_CORPUS` names a further corpus (JSON lines, one string each) to run the same way.

use std::path::Path;

use serde_json::{Map, Value};

use crate::harness::{libpq_oracle, pgtls};

/// Parameters whose value pgtls deliberately does not print.
const SECRETS: [&str; 5] = [
    "password",
    "sslpassword",
    "scram_client_key",
    "scram_server_key",
    "oauth_client_secret",
];

/// What pgtls says: the parameters it reports, or its error message.
fn pgtls_says(
    home: &Path,
    vars: &[(&str, &str)],
    args: &[&str],
    conninfo: &str,
) -> Result<Map<String, Value>, String> {
    let out = pgtls(home)
        .envs(vars.iter().copied())
        .arg("explain")
        .args(args)
        .args(["--format", "json", "--", conninfo])
        .output()
        .expect("pgtls runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    match out.status.code() {
        Some(0) => {
            let doc: Value = serde_json::from_slice(&out.stdout).expect("explain prints JSON");
            let params = doc["params"].as_object().expect("params is an object");
            Ok(params
                .iter()
                .map(|(k, v)| (k.clone(), v["value"].clone()))
                .collect())
        }
        // libpq's message, without the hint pgtls may add after it.
        Some(2) => Err(stderr
            .trim_end()
            .lines()
            .filter(|line| !line.starts_with("pgtls: hint: "))
            .collect::<Vec<_>>()
            .join("\n")
            .strip_prefix("pgtls: error: ")
            .unwrap_or(&stderr)
            .to_string()),
        other => Err(format!("unexpected exit {other:?}: {stderr}")),
    }
}

/// Whether pgtls's message is libpq's, allowing a secret to have been replaced by `(redacted)`.
fn same_message(pgtls: &str, libpq: &str) -> bool {
    if pgtls == libpq {
        return true;
    }
    let Some((before, after)) = pgtls.split_once("(redacted)") else {
        return false;
    };
    libpq.len() >= before.len() + after.len() && libpq.starts_with(before) && libpq.ends_with(after)
}

/// Compares parameter maps; secrets are compared by presence only.
fn same_params(pgtls: &Map<String, Value>, libpq: &Map<String, Value>) -> Result<(), String> {
    let mut keys: Vec<&String> = pgtls.keys().chain(libpq.keys()).collect();
    keys.sort();
    keys.dedup();
    let mut diffs = Vec::new();
    for key in keys {
        let (ours, theirs) = (pgtls.get(key), libpq.get(key));
        let same = if SECRETS.contains(&key.as_str()) {
            ours.is_some() == theirs.is_some()
        } else if let (Some(Value::String(o)), Some(Value::String(t))) = (ours, theirs) {
            // Pieces of a password that the parse moved into this value are shown redacted.
            same_message(o, t)
        } else {
            ours == theirs
        };
        if !same {
            diffs.push(format!("{key}: pgtls {ours:?}, libpq {theirs:?}"));
        }
    }
    if diffs.is_empty() {
        Ok(())
    } else {
        Err(diffs.join("; "))
    }
}

fn compare(what: &str, ours: Result<Map<String, Value>, String>, theirs: &Value) -> Option<String> {
    let verdict = match (ours, theirs.get("ok"), theirs.get("error")) {
        (Ok(ours), Some(Value::Object(theirs)), _) => same_params(&ours, theirs).err(),
        (Err(ours), _, Some(Value::String(theirs))) if same_message(&ours, theirs) => None,
        (Err(ours), _, Some(Value::String(theirs))) => {
            Some(format!("pgtls: {ours}\n      libpq: {theirs}"))
        }
        (Ok(_), _, Some(theirs)) => Some(format!("pgtls accepts, libpq refuses: {theirs}")),
        (Err(ours), _, _) => Some(format!("pgtls refuses ({ours}), libpq accepts")),
        (Ok(_), _, _) => Some(format!("unexpected oracle answer {theirs}")),
    };
    verdict.map(|v| format!("{what}: {v}"))
}

fn run_corpus(corpus: &str) -> usize {
    let home = tempfile::tempdir().unwrap();
    run_corpus_in(home.path(), corpus, &[])
}

/// Runs a corpus with `HOME` at `home` and extra environment variables, through libpq and pgtls.
fn run_corpus_in(home: &Path, corpus: &str, vars: &[(&str, &str)]) -> usize {
    let results = libpq_oracle(home, corpus, vars);
    assert_eq!(
        results.len(),
        corpus.lines().filter(|l| !l.trim().is_empty()).count()
    );
    let mut failures = Vec::new();
    for result in &results {
        let conninfo = result["conninfo"].as_str().expect("conninfo is a string");
        let parsed = pgtls_says(home, vars, &["--parse-only"], conninfo);
        let resolved = pgtls_says(home, vars, &[], conninfo);
        for failure in [
            compare("parse", parsed, &result["parse"]),
            compare("resolve", resolved, &result["resolve"]),
        ]
        .into_iter()
        .flatten()
        {
            failures.push(format!("{conninfo:?}\n    {failure}"));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} strings differ from libpq with {vars:?}:\n{}",
        failures.len(),
        results.len(),
        failures.join("\n")
    );
    results.len()
}

#[test]
fn every_corpus_string_is_read_as_libpq_reads_it() {
    let mut corpus =
        std::fs::read_to_string(crate::harness::root().join("tests/corpus/conninfo.jsonl"))
            .unwrap();
    let built_in = corpus.lines().count();
    if let Some(path) = std::env::var_os("PGTLS_CORPUS") {
        let extra = std::fs::read_to_string(&path).expect("PGTLS_CORPUS is readable");
        corpus.push_str(&extra);
    }
    let checked = run_corpus(&corpus);
    assert!(
        checked >= built_in && built_in >= 250,
        "the corpus shrank to {built_in} strings"
    );
}

/// Writes a file with the given permissions.
fn write(path: &Path, text: &str, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::write(path, text).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

fn lines(strings: &[&str]) -> String {
    strings
        .iter()
        .map(|s| serde_json::to_string(s).unwrap() + "\n")
        .collect()
}

#[test]
fn environment_service_files_and_passfiles_resolve_as_in_libpq() {
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    let sys = h.join("sysconf");
    std::fs::create_dir(&sys).unwrap();
    write(
        &h.join(".pg_service.conf"),
        "# user services\n[prod]\nhost=prod.invalid\nsslmode=verify-ca\nport=6543\nuser=svcuser\n\
         [bad]\nhost = spaced.invalid\n[nested]\nservice=prod\n[secret]\npassword=svcpass\nhost=127.0.0.1\nport=1\n",
        0o644,
    );
    write(
        &sys.join("pg_service.conf"),
        "[prod]\nhost=never.invalid\n[sysonly]\nhost=sys.invalid\nsslmode=require\n",
        0o644,
    );
    write(&h.join(".pgpass"), "127.0.0.1:1:*:*:frompassfile\n", 0o600);
    let sysconf = sys.to_str().unwrap();
    let other_file = h.join("other.conf");
    write(&other_file, "[prod]\nhost=other.invalid\n", 0o644);
    let other = other_file.to_str().unwrap();
    let missing = h.join("missing.conf");
    let missing = missing.to_str().unwrap();
    let strings = lines(&[
        "",
        "host=127.0.0.1 port=1",
        "service=prod",
        "service=prod host=127.0.0.1 port=1 sslmode=disable",
        "service=sysonly",
        "service=bad",
        "service=nested",
        "service=secret",
        "service=nosuch",
        "sslrootcert=system",
        "sslrootcert=system sslmode=require",
        "host=127.0.0.1 port=1 password=",
        "host=127.0.0.1 port=1 passfile=/nonexistent",
        "postgresql://127.0.0.1:1/?sslmode=require",
        "postgresql://127.0.0.1:1/",
    ]);
    let scenarios: Vec<Vec<(&str, &str)>> = vec![
        vec![("PGSYSCONFDIR", sysconf)],
        vec![
            ("PGSYSCONFDIR", sysconf),
            ("PGSSLMODE", "verify-full"),
            ("PGDATABASE", "envdb"),
            ("PGUSER", "envuser"),
        ],
        vec![
            ("PGSYSCONFDIR", sysconf),
            ("PGSERVICE", "prod"),
            ("PGHOST", "env.invalid"),
            ("PGPORT", "7777"),
        ],
        vec![("PGSYSCONFDIR", sysconf), ("PGSERVICEFILE", other)],
        vec![("PGSYSCONFDIR", sysconf), ("PGSERVICEFILE", missing)],
        vec![("PGSYSCONFDIR", sysconf), ("PGREQUIRESSL", "1")],
        vec![
            ("PGSYSCONFDIR", sysconf),
            ("PGREQUIRESSL", "1"),
            ("PGSSLMODE", "allow"),
        ],
        vec![("PGSYSCONFDIR", sysconf), ("PGSSLROOTCERT", "system")],
        vec![("PGSYSCONFDIR", sysconf), ("PGSSLMODE", "")],
        vec![
            ("PGSYSCONFDIR", sysconf),
            ("PGPASSWORD", "envpass"),
            ("PGAPPNAME", "envapp"),
            ("PGCONNECT_TIMEOUT", "5"),
        ],
        vec![
            ("PGSYSCONFDIR", sysconf),
            ("PGHOST", "127.0.0.1,/tmp"),
            ("PGPORT", "1,2"),
            ("PGSSLNEGOTIATION", "direct"),
        ],
        vec![
            ("PGSYSCONFDIR", sysconf),
            ("PGSSLMINPROTOCOLVERSION", "TLSv1.3"),
            ("PGSSLMAXPROTOCOLVERSION", "TLSv1.2"),
        ],
        vec![
            ("PGSYSCONFDIR", sysconf),
            ("PGCHANNELBINDING", "require"),
            ("PGGSSENCMODE", "disable"),
            ("PGTARGETSESSIONATTRS", "primary"),
        ],
    ];
    for vars in &scenarios {
        run_corpus_in(h, &strings, vars);
    }
}
