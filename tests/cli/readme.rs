//! The README's `console` examples, run against a real server and compared with what they show.
//! Each `$ ` line is a command (a trailing `\` continues it), the lines after it its output. A
//! line `...` stands for any number of lines. Values that differ from run to run — ports, dates,
//! days, durations, fingerprints and serials, temporary paths, the server's version — are
//! normalised on both sides. Commands run with `sh` in a directory holding `root.crt` (the
//! server's CA), `other.crt` (an unrelated CA) and two provider roots as DER files; `port=5432`
//! points at the test server, `port=5433` at a closed port, and `HOME` stands in for `/home/app`.

use std::path::Path;

use crate::harness::root;
use crate::pki::{Ca, ServerCert};
use crate::server::{Server, Setup, Version, shared_tempdir};

struct Example {
    command: String,
    expected: Vec<String>,
}

fn examples(readme: &str) -> Vec<Example> {
    let mut out = Vec::new();
    let mut in_block = false;
    let mut lines = readme.lines().peekable();
    while let Some(line) = lines.next() {
        if !in_block {
            in_block = line.trim() == "```console";
            continue;
        }
        if line.trim() == "```" {
            in_block = false;
            continue;
        }
        if let Some(command) = line.strip_prefix("$ ") {
            let mut command = command.to_string();
            while command.ends_with('\\') {
                command.pop();
                command.push_str(lines.next().unwrap_or("").trim_start());
            }
            out.push(Example {
                command,
                expected: Vec::new(),
            });
        } else if let Some(example) = out.last_mut() {
            example.expected.push(line.to_string());
        }
    }
    out
}

fn normalise(text: &str, home: &Path, work: &Path) -> String {
    let rules: [(&str, &str); 10] = [
        // Column widths follow the values; compare the words, not the padding.
        (r" {2,}", "  "),
        (r"/home/app", "<HOME>"),
        (r"([0-9A-F]{2}:){7,}[0-9A-F]{2}", "<HEX>"),
        (r"\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}:\d{2}Z)?", "<DATE>"),
        (r"-?\d+ days", "<N> days"),
        (r"\d+(\.\d+)? ms", "<N> ms"),
        (r"port=\d+|port \d+", "port=<PORT>"),
        (r"(localhost|127\.0\.0\.1):\d+", "$1:<PORT>"),
        (r"PostgreSQL \d+\.\d+[^:]*", "PostgreSQL <VERSION>"),
        (r"\(\d+ bits\)", "(<N> bits)"),
    ];
    let mut text = text
        .replace(&home.display().to_string(), "/home/app")
        .replace(&work.display().to_string(), "/work");
    for (pattern, with) in rules {
        text = regex_lite::Regex::new(pattern)
            .unwrap()
            .replace_all(&text, with)
            .into_owned();
    }
    text
}

/// Whether `actual` lines match `expected`, where an expected `...` line matches any lines.
fn matches(expected: &[&str], actual: &[&str]) -> bool {
    match expected.split_first() {
        None => actual.is_empty(),
        Some((&"...", rest)) => (0..=actual.len()).any(|skip| matches(rest, &actual[skip..])),
        Some((line, rest)) => actual.first() == Some(line) && matches(rest, &actual[1..]),
    }
}

#[test]
fn readme_console_examples_show_real_output() {
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    let examples = examples(&readme);
    assert!(examples.len() >= 4, "the README lost its runnable examples");
    let work = shared_tempdir();
    let home = shared_tempdir();
    std::fs::create_dir(home.path().join(".postgresql")).unwrap();
    let ca = Ca::root("pgtls demo root");
    let leaf = ca.server(&ServerCert::localhost());
    let server = Server::start(Version::V17, &Setup::tls(leaf.cert_pem, leaf.key_pem));
    std::fs::write(work.path().join("root.crt"), &ca.cert_pem).unwrap();
    std::fs::write(
        work.path().join("other.crt"),
        Ca::root("an unrelated root").cert_pem,
    )
    .unwrap();
    // The provider's roots as its documentation hands them out: DER files.
    for (name, file) in [
        ("DigiCertGlobalRootG2.crt", "digicert-global-root-g2.pem"),
        (
            "MicrosoftRSARootCertificateAuthority2017.crt",
            "microsoft-rsa-root-ca-2017.pem",
        ),
    ] {
        let pem = std::fs::read(root().join("certs").join(file)).unwrap();
        let der = pgtls::tls::roots::pem_certificates(&pem).unwrap().remove(0);
        std::fs::write(work.path().join(name), der.as_ref()).unwrap();
    }
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let bin = assert_cmd::cargo::cargo_bin("pgtls");
    let path = format!(
        "{}:{}",
        bin.parent().unwrap().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut failures = Vec::new();
    for example in &examples {
        let command = example
            .command
            .replace("port=5432", &format!("port={}", server.port))
            .replace("port=5433", &format!("port={closed}"));
        let out = std::process::Command::new("sh")
            .args(["-c", &command])
            .current_dir(work.path())
            .env_clear()
            .env("PATH", &path)
            .env("HOME", home.path())
            .output()
            .unwrap();
        let actual = String::from_utf8_lossy(&out.stdout).to_string();
        if std::env::var_os("PGTLS_README_PRINT").is_some() {
            println!("$ {}\n{actual}", example.command);
        }
        let want = normalise(&example.expected.join("\n"), home.path(), work.path());
        let got = normalise(&actual, home.path(), work.path());
        let want: Vec<&str> = want.lines().collect();
        let got: Vec<&str> = got.trim_end().lines().collect();
        if !matches(&want, &got) {
            failures.push(format!(
                "$ {}\n--- README\n{}\n--- actual\n{}\n--- stderr\n{}",
                example.command,
                want.join("\n"),
                got.join("\n"),
                String::from_utf8_lossy(&out.stderr)
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}
