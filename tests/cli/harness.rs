//! Shared test plumbing: a base command with a controlled environment, and libpq's Python oracle.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The project root.
pub fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// `pgtls` with nothing of the machine's environment: no PG* variables, no NO_COLOR, `HOME` set to
/// `home`, and no system-wide service file.
pub fn pgtls(home: &Path) -> assert_cmd::Command {
    let mut cmd = assert_cmd::Command::cargo_bin("pgtls").expect("the pgtls binary is built");
    cmd.env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", home)
        .env("PGSYSCONFDIR", home.join("no-sysconfdir"));
    cmd
}

/// Runs a `pgtls check --format json` command: its exit code (-1 when killed) and its first
/// target (null when the output is not a JSON report).
pub fn first_target(cmd: &mut assert_cmd::Command) -> (i32, serde_json::Value) {
    let out = cmd.output().unwrap();
    let doc: serde_json::Value =
        serde_json::from_slice(&out.stdout).unwrap_or(serde_json::Value::Null);
    (out.status.code().unwrap_or(-1), doc["targets"][0].clone())
}

/// `pgtls` as `pgtls(home)` gives it, run in a mount namespace whose `/etc/hosts` is `hosts`: a
/// provider's host names reach a local stand-in there, as in the README's Azure walkthrough.
pub fn pgtls_with_hosts(home: &Path, hosts: &Path) -> assert_cmd::Command {
    let bin = assert_cmd::cargo::cargo_bin("pgtls");
    let mut cmd = with_hosts(hosts);
    cmd.arg(bin)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", home)
        .env("PGSYSCONFDIR", home.join("no-sysconfdir"));
    cmd
}

/// `unshare` ready to run a program (the next argument) in a mount namespace with `hosts` as its
/// `/etc/hosts`.
pub fn in_hosts_namespace(hosts: &Path) -> Command {
    let mut cmd = Command::new("unshare");
    cmd.args(["--map-root-user", "--mount", "sh", "-c"])
        .arg(r#"mount --bind "$0" /etc/hosts && exec "$@""#)
        .arg(hosts);
    cmd
}

fn with_hosts(hosts: &Path) -> assert_cmd::Command {
    assert_cmd::Command::from_std(in_hosts_namespace(hosts))
}

/// Runs `command` with `input` on its standard input (written while its output is read, so
/// that neither side blocks) and returns what it printed.
pub fn feed(command: Command, input: impl Into<Vec<u8>>) -> std::process::Output {
    let program = command.get_program().to_string_lossy().into_owned();
    assert_cmd::Command::from_std(command)
        .write_stdin(input)
        .output()
        .unwrap_or_else(|e| panic!("{program} cannot run: {e}"))
}

/// A Python with psycopg's binary wheel, whose bundled libpq is the reference. Fails loudly when
/// there is none: the README's test command installs it.
pub fn oracle_python() -> PathBuf {
    let python = std::env::var_os("PGTLS_TEST_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join(".venv/bin/python"));
    let probe = Command::new(&python)
        .args([
            "-c",
            "import psycopg.pq as pq; assert pq.__impl__ == 'binary', pq.__impl__",
        ])
        .output();
    match probe {
        Ok(out) if out.status.success() => python,
        Ok(out) => panic!(
            "{} cannot import psycopg's binary libpq: {}\nrun `bash scripts/test.sh`, or set PGTLS_TEST_PYTHON",
            python.display(),
            String::from_utf8_lossy(&out.stderr)
        ),
        Err(err) => panic!(
            "no Python for the libpq oracle at {} ({err})\nrun `bash scripts/test.sh`, or set PGTLS_TEST_PYTHON",
            python.display()
        ),
    }
}

/// Connects with libpq to each connection string, in the same controlled environment as
/// `pgtls(home)`. Returns, per string, `{"ok", "ssl", "error"}`.
pub fn libpq_connect(home: &Path, conninfos: &[String]) -> Vec<serde_json::Value> {
    libpq_connect_in(home, conninfos, &[])
}

/// The same, with extra environment variables.
pub fn libpq_connect_in(
    home: &Path,
    conninfos: &[String],
    vars: &[(&str, &str)],
) -> Vec<serde_json::Value> {
    let input: String = conninfos
        .iter()
        .map(|c| serde_json::to_string(c).unwrap() + "\n")
        .collect();
    run_oracle("tests/oracle/libpq_connect.py", home, &input, vars, None)
}

/// `libpq_connect`, with `hosts` as the oracle's `/etc/hosts` (see `pgtls_with_hosts`).
pub fn libpq_connect_with_hosts(
    home: &Path,
    hosts: &Path,
    conninfos: &[String],
) -> Vec<serde_json::Value> {
    let input: String = conninfos
        .iter()
        .map(|c| serde_json::to_string(c).unwrap() + "\n")
        .collect();
    run_oracle(
        "tests/oracle/libpq_connect.py",
        home,
        &input,
        &[],
        Some(hosts),
    )
}

/// Runs the libpq oracle over JSON-lines connection strings, in the same controlled environment
/// `pgtls(home)` gets, plus `extra_env`. Returns one JSON value per input line.
pub fn libpq_oracle(
    home: &Path,
    corpus: &str,
    extra_env: &[(&str, &str)],
) -> Vec<serde_json::Value> {
    run_oracle(
        "tests/oracle/libpq_oracle.py",
        home,
        corpus,
        extra_env,
        None,
    )
}

fn run_oracle(
    script: &str,
    home: &Path,
    input: &str,
    extra_env: &[(&str, &str)],
    hosts: Option<&Path>,
) -> Vec<serde_json::Value> {
    let python = oracle_python();
    let mut cmd = match hosts {
        Some(hosts) => {
            let mut cmd = with_hosts(hosts);
            cmd.arg(python);
            cmd
        }
        None => assert_cmd::Command::new(python),
    };
    cmd.env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", home)
        .env("PGSYSCONFDIR", home.join("no-sysconfdir"))
        // Names in the corpus do not resolve; do not let a slow resolver stall the run.
        .env("RES_OPTIONS", "timeout:1 attempts:1")
        .envs(extra_env.iter().copied())
        .arg(root().join(script))
        .write_stdin(input.to_string());
    let out = cmd.output().expect("the libpq oracle runs");
    assert!(
        out.status.success(),
        "libpq oracle failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut lines = String::from_utf8(out.stdout)
        .expect("oracle output is UTF-8")
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).expect("oracle output is JSON"))
        .collect::<Vec<_>>();
    let header = lines.remove(0);
    let version = header["libpq_version"].as_i64().unwrap_or(0);
    assert!(
        version >= 180000,
        "the oracle's libpq is {version}, not 18 or later"
    );
    lines
}

/// The first finding of a report's target with `code`.
pub fn finding<'a>(target: &'a serde_json::Value, code: &str) -> Option<&'a serde_json::Value> {
    target["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["code"] == code)
}
