//! Results as the run decides them: `--format jsonl` and `--order`, the progress line (on a
//! terminal only), and Ctrl-C, which writes what finished and exits with 130.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::fake::{fake, stay_silent};
use crate::harness::pgtls;
use crate::pki::{Ca, ServerCert};
use crate::server::{Server, Setup, Version, shared_tempdir};

struct Fleet {
    home: tempfile::TempDir,
    _server: Server,
    /// A silent server first (it holds its check for `connect_timeout`, 2 s), then three quick
    /// targets: good, untrusted, a refused line.
    targets: std::path::PathBuf,
}

fn fleet() -> Fleet {
    let home = shared_tempdir();
    let root = Ca::root("pgtls stream root");
    let leaf = root.server(&ServerCert::localhost());
    let server = Server::start(Version::V15, &Setup::tls(leaf.cert_pem, leaf.key_pem));
    let good = home.path().join("good.crt");
    std::fs::write(&good, &root.cert_pem).unwrap();
    let other = home.path().join("other.crt");
    std::fs::write(&other, Ca::root("an unrelated root").cert_pem).unwrap();
    let silent = fake(stay_silent);
    let lines = [
        format!("host=127.0.0.1 port={silent} sslmode=require connect_timeout=2"),
        format!(
            "host=localhost port={} user=postgres sslmode=verify-full sslrootcert={}",
            server.port,
            good.display()
        ),
        format!(
            "host=localhost port={} user=postgres sslmode=verify-full sslrootcert={}",
            server.port,
            other.display()
        ),
        "hots=typo".to_string(),
    ];
    let targets = home.path().join("targets.txt");
    std::fs::write(&targets, lines.join("\n")).unwrap();
    Fleet {
        home,
        _server: server,
        targets,
    }
}

/// A target's object without what differs between two runs: timings, the backend's process
/// IDs, and days left, which two runs a second apart can see on either side of a day.
fn steady(mut value: Value) -> Value {
    fn strip(value: &mut Value) {
        match value {
            Value::Object(map) => {
                for (key, value) in map.iter_mut() {
                    if ["timings", "days_left", "key_pid", "pid"].contains(&key.as_str()) {
                        *value = Value::Null;
                    } else {
                        strip(value);
                    }
                }
            }
            Value::Array(items) => items.iter_mut().for_each(strip),
            _ => {}
        }
    }
    strip(&mut value);
    value
}

#[test]
fn jsonl_lines_are_the_json_documents_targets_as_they_finish() {
    let f = fleet();
    let json = pgtls(f.home.path())
        .args(["check", "--format", "json", "--targets"])
        .arg(&f.targets)
        .output()
        .unwrap();
    let document: Value = serde_json::from_slice(&json.stdout).unwrap();
    let targets = document["targets"].as_array().unwrap();
    assert_eq!(targets.len(), 4);
    for order in ["finish", "input"] {
        let jsonl = pgtls(f.home.path())
            .args(["check", "--format", "jsonl", "--order", order, "--targets"])
            .arg(&f.targets)
            .output()
            .unwrap();
        assert_eq!(jsonl.status.code(), json.status.code(), "{order}");
        let lines: Vec<Value> = String::from_utf8(jsonl.stdout)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines.len(), 4, "{order}: one line per target");
        // The silent host finishes last: as they finish, its line comes last.
        let positions: Vec<usize> = lines
            .iter()
            .map(|l| {
                targets
                    .iter()
                    .position(|t| t["conninfo"] == l["conninfo"])
                    .unwrap()
            })
            .collect();
        match order {
            "input" => assert_eq!(positions, [0, 1, 2, 3]),
            _ => {
                assert_eq!(positions[3], 0, "{positions:?}");
                let mut quick = positions[..3].to_vec();
                quick.sort_unstable();
                assert_eq!(quick, [1, 2, 3]);
            }
        }
        for line in lines {
            let position = line["conninfo"].as_u64().unwrap() as usize;
            assert_eq!(steady(line), steady(targets[position].clone()), "{order}");
        }
    }
    // The default for jsonl is as they finish.
    let default = pgtls(f.home.path())
        .args(["check", "--format", "jsonl", "--targets"])
        .arg(&f.targets)
        .output()
        .unwrap();
    let first: Value = serde_json::from_str(
        String::from_utf8_lossy(&default.stdout)
            .lines()
            .next()
            .unwrap(),
    )
    .unwrap();
    assert_ne!(first["conninfo"], 0);
}

#[test]
fn text_lines_come_in_input_order_or_as_they_finish() {
    let f = fleet();
    for order in ["input", "finish"] {
        let out = pgtls(f.home.path())
            .args(["check", "--order", order, "--targets"])
            .arg(&f.targets)
            .output()
            .unwrap();
        let text = String::from_utf8(out.stdout).unwrap();
        let got: Vec<&str> = text
            .lines()
            .take_while(|l| !l.is_empty())
            .map(|l| l.split_whitespace().next().unwrap())
            .collect();
        match order {
            "input" => assert_eq!(got, ["1", "2", "3", "4"], "{text}"),
            _ => {
                assert_eq!(got[3], "1", "the silent target's line comes last:\n{text}");
                let mut quick = got[..3].to_vec();
                quick.sort_unstable();
                assert_eq!(quick, ["2", "3", "4"], "{text}");
            }
        }
        assert!(
            text.contains("4 targets: 1 OK, 3 failed (exit code 6)"),
            "{text}"
        );
    }
    let out = pgtls(f.home.path())
        .args([
            "check",
            "--format",
            "json",
            "--order",
            "finish",
            "--targets",
        ])
        .arg(&f.targets)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("--order finish applies to --format text and jsonl")
    );
}

/// Runs `pgtls ARGS` on a pseudo-terminal (util-linux `script`), so that stderr is a terminal;
/// returns everything the terminal got.
fn on_a_terminal(home: &std::path::Path, args: &str, vars: &[(&str, &str)]) -> String {
    let bin = assert_cmd::cargo::cargo_bin("pgtls");
    let out = Command::new("script")
        .args(["-qec", &format!("{} {args}", bin.display()), "/dev/null"])
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", home)
        .env("TERM", "xterm")
        .envs(vars.iter().copied())
        .stdin(Stdio::null())
        .output()
        .expect("script (util-linux) runs");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn the_progress_line_is_drawn_on_a_terminal_only() {
    let f = fleet();
    let targets = f.targets.display().to_string();
    let args = format!("check --format jsonl --targets {targets}");
    let shown = on_a_terminal(f.home.path(), &args, &[]);
    assert!(
        shown.contains("\r\x1b[2Kpgtls: ") && shown.contains(" under way"),
        "{shown:?}"
    );
    assert!(
        shown.contains("of 4 checked"),
        "the total, once read: {shown:?}"
    );
    for (args, vars) in [
        (format!("{args} --quiet"), vec![]),
        (args.clone(), vec![("NO_COLOR", "1")]),
    ] {
        let shown = on_a_terminal(f.home.path(), &args, &vars);
        assert!(!shown.contains("under way"), "{args} {vars:?}: {shown:?}");
    }
    // Not a terminal: nothing on stderr but the results' own warnings.
    let out = pgtls(f.home.path())
        .args(["check", "--format", "jsonl", "--targets"])
        .arg(&f.targets)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !stderr.contains("under way") && !stderr.contains('\r'),
        "{stderr:?}"
    );
}

#[test]
fn ctrl_c_writes_what_finished_and_exits_with_130() {
    let f = fleet();
    for format in ["json", "jsonl", "text"] {
        let child = Command::new(assert_cmd::cargo::cargo_bin("pgtls"))
            .args(["check", "--format", format, "--targets"])
            .arg(&f.targets)
            .env_clear()
            .env("HOME", f.home.path())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // The quick targets finish at once; the silent one holds for 2 s.
        std::thread::sleep(Duration::from_millis(800));
        let started = Instant::now();
        let status = Command::new("kill")
            .args(["-INT", &child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        let out = child.wait_with_output().unwrap();
        assert!(
            started.elapsed() < Duration::from_millis(1000),
            "{format}: stopped at once"
        );
        assert_eq!(out.status.code(), Some(130), "{format}");
        let stdout = String::from_utf8(out.stdout).unwrap();
        let finished: Vec<u64> = match format {
            "json" => {
                let doc: Value = serde_json::from_str(&stdout).unwrap();
                doc["targets"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|t| t["conninfo"].as_u64().unwrap())
                    .collect()
            }
            "jsonl" => stdout
                .lines()
                .map(|l| {
                    serde_json::from_str::<Value>(l).unwrap()["conninfo"]
                        .as_u64()
                        .unwrap()
                })
                .collect(),
            _ => stdout
                .lines()
                .take_while(|l| !l.is_empty())
                .map(|l| l.split_whitespace().next().unwrap().parse::<u64>().unwrap() - 1)
                .collect(),
        };
        let mut finished = finished;
        finished.sort_unstable();
        assert_eq!(
            finished,
            [1, 2, 3],
            "{format}: what finished, and only that:\n{stdout}"
        );
    }
}
