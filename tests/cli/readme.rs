//! The README's and the manual's (`docs/*.md`) `console` examples, run and compared with what
//! they show, and the manual's synopsis, JSON layouts and exit-code table checked against the
//! binary.
//!
//! Each `$ ` line is a command (a trailing `\` continues it), the lines after it its output. A
//! line `...` stands for any number of lines. Values that differ from run to run — ports, dates,
//! days, durations, fingerprints and serials, key sizes, temporary paths, the server's version,
//! metric values — are normalised on both sides.
//!
//! Commands run with `sh` in a directory holding `root.crt` (the demo server's CA), `other.crt`
//! (an unrelated CA) and two provider roots as DER files; `HOME` stands in for `/home/app`, and
//! the system paths the README writes to (`/etc/pgtls`, node_exporter's textfile directory, the
//! completion and manual directories) stand for directories of the test.
//!
//! Two servers answer. Everywhere but the README's quick start and Azure walkthrough, a
//! PostgreSQL 17 with a test CA:
//! `port=5432` in a command points at it, `port=5433` at a closed port; it trusts `postgres`
//! and asks `app` for a SCRAM password, `s3cret`. In the walkthrough, a PostgreSQL 17 dressed as
//! Azure Database for PostgreSQL (see `pki::azure_stand_in`) listens on 127.0.0.2:5432,
//! `mydb.postgres.database.azure.com` and `orders-db.internal.example.com` resolve to it
//! (commands run in a mount namespace with their own `/etc/hosts`), and the `azure` profile's
//! roots are the stand-in's. Each of those two sections starts as a new user does, in a home
//! without `~/.postgresql/root.crt`. libpq, run in the same namespace, must agree with each of
//! their verdicts.

use std::path::{Path, PathBuf};

use crate::harness::root;
use crate::pki::{Ca, ServerCert, azure_stand_in};
use crate::server::{Server, Setup, Version, shared_tempdir};

/// The pages of the manual, in the order their examples run: the README, then `docs/`.
const PAGES: [&str; 20] = [
    "README.md",
    "docs/README.md",
    "docs/azure.md",
    "docs/check.md",
    "docs/audit.md",
    "docs/clients.md",
    "docs/explain.md",
    "docs/roots.md",
    "docs/inspect.md",
    "docs/fleets.md",
    "docs/metrics.md",
    "docs/serve.md",
    "docs/ci.md",
    "docs/operators.md",
    "docs/json.md",
    "docs/exit-codes.md",
    "docs/troubleshooting.md",
    "docs/libpq.md",
    "docs/hardening.md",
    "docs/development.md",
];

/// The README's sections whose examples run against the Azure stand-in.
const AZURE_SECTIONS: [&str; 2] = ["Quick start", AZURE_SECTION];
const AZURE_SECTION: &str = "Walkthrough: Azure Database for PostgreSQL";
/// The page of Azure's TLS guide, step by step: every example runs against the stand-in, in a
/// working directory of its own that holds the guide's downloads.
const AZURE_PAGE: &str = "docs/azure.md";
const AZURE_HOST: &str = "mydb.postgres.database.azure.com";
const AZURE_ADDRESS: &str = "127.0.0.2";
/// A name of the user's own for the same server, which its certificate does not hold.
const AZURE_ALIAS: &str = "orders-db.internal.example.com";

struct Example {
    page: &'static str,
    section: String,
    command: String,
    expected: Vec<String>,
}

/// One page of the manual.
fn page(name: &str) -> String {
    std::fs::read_to_string(root().join(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// Every page of the manual, one text.
fn manual() -> String {
    PAGES.iter().map(|name| page(name)).collect()
}

impl Example {
    /// Whether it runs against the Azure stand-in.
    fn azure(&self) -> bool {
        self.page == AZURE_PAGE
            || (self.page == "README.md" && AZURE_SECTIONS.contains(&self.section.as_str()))
    }
}

fn examples(page: &'static str, readme: &str) -> Vec<Example> {
    let mut out = Vec::new();
    let mut section = String::new();
    let mut in_block = false;
    // A block inside a list item is indented; its lines are read without that indentation.
    let mut indent = 0;
    let mut lines = readme.lines().peekable();
    while let Some(line) = lines.next() {
        if !in_block {
            if let Some(heading) = line.strip_prefix("## ") {
                section = heading.to_string();
            }
            in_block = line.trim() == "```console";
            indent = line.len() - line.trim_start().len();
            continue;
        }
        if line.trim() == "```" {
            in_block = false;
            continue;
        }
        let line = line
            .get(indent..)
            .filter(|_| line[..indent].trim().is_empty())
            .unwrap_or(line);
        if let Some(command) = line.strip_prefix("$ ") {
            let mut command = command.to_string();
            while command.ends_with('\\') {
                command.pop();
                command.push_str(lines.next().unwrap_or("").trim_start());
            }
            out.push(Example {
                page,
                section: section.clone(),
                command,
                expected: Vec::new(),
            });
        } else if let Some(example) = out.last_mut() {
            example.expected.push(line.to_string());
        }
    }
    out
}

/// Turns a run's output (`text`) and the README's into the same shape: real paths back into the
/// README's, then the values that change from run to run into placeholders.
fn normalise(text: &str, paths: &[(String, PathBuf)]) -> String {
    let rules: [(&str, &str); 11] = [
        // Column widths follow the values; compare the words, not the padding.
        (r" {2,}", "  "),
        (r"([0-9A-F]{2}:){7,}[0-9A-F]{2}", "<HEX>"),
        (r"\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}:\d{2}Z)?", "<DATE>"),
        (r"-?\d+ days?\b", "<N> days"),
        (r"\d+(\.\d+)? ms", "<N> ms"),
        (r"port=\d+|port \d+", "port=<PORT>"),
        (r"(localhost|127\.0\.0\.1):\d+", "$1:<PORT>"),
        (r"PostgreSQL \d+\.\d+[^:]*", "PostgreSQL <VERSION>"),
        (r"\(\d+ bits\)", "(<N> bits)"),
        (r#"port="\d+""#, r#"port="<PORT>""#),
        (r"^(pgtls_\w+_(?:seconds|days)\{.*\}) \S+$", "$1 <VALUE>"),
    ];
    let mut text = text.to_string();
    // Longest first, so that a directory inside another is replaced whole.
    let mut paths: Vec<&(String, PathBuf)> = paths.iter().collect();
    paths.sort_by_key(|(_, real)| std::cmp::Reverse(real.as_os_str().len()));
    for (shown, real) in paths {
        text = text.replace(&real.display().to_string(), shown);
    }
    for (pattern, with) in rules {
        text = regex_lite::Regex::new(&format!("(?m){pattern}"))
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

/// The demo server and its CA: TLS for `localhost`, `postgres` trusted, `app` asked for a SCRAM
/// password, `s3cret`. `work` gets the certificate it serves (`server.crt`) and one from the same
/// CA it has not loaded (`new-server.crt`), as after a rotation on disk.
fn demo_server(work: &Path) -> (Ca, Server) {
    let ca = Ca::root("pgtls demo root");
    let leaf = ca.server(&ServerCert::localhost());
    let rotated = ca.server(&ServerCert {
        serial: 1001,
        ..ServerCert::localhost()
    });
    std::fs::write(work.join("server.crt"), &leaf.cert_pem).unwrap();
    std::fs::write(work.join("new-server.crt"), &rotated.cert_pem).unwrap();
    let mut setup = Setup::tls(leaf.cert_pem, leaf.key_pem);
    setup
        .hba
        .insert(0, "hostssl all app 127.0.0.1/32 scram-sha-256");
    let server = Server::start(Version::V17, &setup);
    server.sql("CREATE ROLE app LOGIN PASSWORD 's3cret'");
    (ca, server)
}

/// Where the examples run: the files, the paths they stand for and the servers.
struct World {
    work: tempfile::TempDir,
    home: tempfile::TempDir,
    /// The home of the Azure sections' user.
    azure_home: tempfile::TempDir,
    /// The working directory of docs/azure.md: the stand-in roots as the guide's DER downloads.
    azure_work: tempfile::TempDir,
    /// The system directories the README names, and the test's directories standing for them.
    system: Vec<(String, PathBuf)>,
    hosts: PathBuf,
    azure_roots: PathBuf,
    demo_port: u16,
    closed_port: u16,
    _demo: Server,
    _azure: Server,
}

impl World {
    fn new() -> World {
        let work = shared_tempdir();
        let home = shared_tempdir();
        std::fs::create_dir(home.path().join(".postgresql")).unwrap();
        let azure_home = shared_tempdir();

        let (ca, demo) = demo_server(work.path());
        std::fs::write(work.path().join("root.crt"), &ca.cert_pem).unwrap();
        std::fs::write(
            work.path().join("other.crt"),
            Ca::root("an unrelated root").cert_pem,
        )
        .unwrap();
        // The provider's roots as its documentation hands them out: DER files, and the PEM
        // file of the root Azure named before its move to DigiCert Global Root G2.
        std::fs::copy(
            root().join("certs/digicert-global-root-ca.pem"),
            work.path().join("DigiCertGlobalRootCA.crt.pem"),
        )
        .unwrap();
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
        let closed_port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();

        let system: Vec<(String, PathBuf)> = [
            ("/etc/pgtls", "etc-pgtls"),
            ("/var/lib/node_exporter/textfile", "textfile"),
            ("/etc/bash_completion.d", "bash_completion.d"),
            ("/usr/local/share/man/man1", "man1"),
        ]
        .into_iter()
        .map(|(shown, dir)| {
            let real = work.path().join("system").join(dir);
            std::fs::create_dir_all(&real).unwrap();
            (shown.to_string(), real)
        })
        .collect();
        let etc = &system[0].1;
        std::fs::write(etc.join("root.crt"), &ca.cert_pem).unwrap();
        let fleet = format!(
            "# production databases\n\
             host=localhost port={port} user=postgres sslmode=verify-full sslrootcert=/etc/pgtls/root.crt\n\
             host=localhost port={closed_port} user=postgres sslmode=verify-full sslrootcert=/etc/pgtls/root.crt\n",
            port = demo.port
        )
        .replace("/etc/pgtls", &etc.display().to_string());
        std::fs::write(etc.join("fleet.txt"), fleet).unwrap();
        // The exporter's example configuration, as the manual shows it, and the password file
        // it names.
        let serve = page("docs/serve.md");
        let example = serve
            .split("```toml\n")
            .nth(1)
            .and_then(|rest| rest.split("```").next())
            .expect("docs/serve.md shows a configuration");
        std::fs::write(
            etc.join("serve.toml"),
            example.replace("/etc/pgtls", &etc.display().to_string()),
        )
        .unwrap();
        std::fs::write(etc.join("monitor.password"), "monitor-pw\n").unwrap();

        let stand_in = azure_stand_in();
        let mut setup = Setup::tls(stand_in.chain_pem, stand_in.key_pem);
        setup.hba = vec!["hostssl all all 127.0.0.0/8 scram-sha-256"];
        setup.settings = vec![
            ("listen_addresses", AZURE_ADDRESS.to_string()),
            ("port", "5432".to_string()),
        ];
        let azure = Server::start(Version::V17, &setup);
        azure.sql("CREATE ROLE app LOGIN PASSWORD 's3cret'");
        azure.sql("CREATE DATABASE orders OWNER app");
        let azure_roots = work.path().join("azure-stand-in-roots.pem");
        std::fs::write(&azure_roots, &stand_in.roots_pem).unwrap();
        // The stand-in roots under the names of Azure's downloads, in DER (in the profile's
        // order: G2, Global Root CA, Microsoft RSA 2017, Microsoft ECC 2017).
        let azure_work = shared_tempdir();
        let stand_in_roots =
            pgtls::tls::roots::pem_certificates(stand_in.roots_pem.as_bytes()).unwrap();
        for (name, der) in [
            "DigiCertGlobalRootG2.crt",
            "DigiCertGlobalRootCA.crt",
            "MicrosoftRSARootCertificateAuthority2017.crt",
            "MicrosoftECCRootCertificateAuthority2017.crt",
        ]
        .iter()
        .zip(&stand_in_roots)
        {
            std::fs::write(azure_work.path().join(name), der.as_ref()).unwrap();
        }

        let hosts = work.path().join("hosts");
        let system_hosts = std::fs::read_to_string("/etc/hosts").unwrap_or_default();
        std::fs::write(
            &hosts,
            format!("{system_hosts}\n{AZURE_ADDRESS} {AZURE_HOST} {AZURE_ALIAS}\n"),
        )
        .unwrap();
        World {
            work,
            home,
            azure_home,
            system,
            hosts,
            azure_roots,
            azure_work,
            demo_port: demo.port,
            closed_port,
            _demo: demo,
            _azure: azure,
        }
    }

    /// A command run inside a mount namespace whose `/etc/hosts` names the Azure stand-in, in the
    /// work directory, with nothing of the machine's environment but `PATH` (the test's `pgtls`
    /// first) and `HOME`; in the Azure world, the stand-in roots are the `azure` profile's.
    fn namespaced(
        &self,
        program: &std::ffi::OsStr,
        args: &[&str],
        azure: bool,
    ) -> std::process::Command {
        let bin = assert_cmd::cargo::cargo_bin("pgtls");
        let path = format!(
            "{}:{}",
            bin.parent().unwrap().display(),
            std::env::var("PATH").unwrap_or_default()
        );
        let mut run = crate::harness::in_hosts_namespace(&self.hosts);
        run.arg(program)
            .args(args)
            .current_dir(self.work.path())
            .env_clear()
            .env("PATH", &path)
            .env(
                "HOME",
                if azure { &self.azure_home } else { &self.home }.path(),
            );
        if azure {
            run.env(
                "PGTLS_TEST_PROFILE",
                format!("azure={}", self.azure_roots.display()),
            );
        }
        run
    }

    /// Every path of the README with the directory it stands for in this world: the system
    /// directories, `HOME` as `/home/app` and the working directory as `/work`.
    fn shown_paths(&self) -> Vec<(String, PathBuf)> {
        let mut paths = self.system.clone();
        paths.push(("/home/app".into(), self.home.path().to_path_buf()));
        paths.push(("/home/app".into(), self.azure_home.path().to_path_buf()));
        paths.push(("/work".into(), self.work.path().to_path_buf()));
        paths.push(("/work".into(), self.azure_work.path().to_path_buf()));
        paths
    }

    /// Runs one example the way a user would, in this world; returns stdout and stderr.
    fn run(&self, example: &Example) -> (String, String) {
        let mut command = example
            .command
            .replace("port=5432", &format!("port={}", self.demo_port))
            .replace("port=5433", &format!("port={}", self.closed_port));
        for (shown, real) in &self.system {
            command = command.replace(shown, &real.display().to_string());
        }
        let mut run = self.namespaced("sh".as_ref(), &["-c", &command], example.azure());
        if example.page == AZURE_PAGE {
            run.current_dir(self.azure_work.path());
        }
        let out = run
            .output()
            .expect("unshare (util-linux) runs the README's commands");
        let stderr = String::from_utf8_lossy(&out.stderr).to_string();
        assert!(
            !stderr.contains("unshare: ") && !stderr.contains("mount: "),
            "the README's commands need a mount namespace of their own (unshare --map-root-user \
             --mount) to resolve {AZURE_HOST}: {stderr}"
        );
        (String::from_utf8_lossy(&out.stdout).to_string(), stderr)
    }

    /// Starts an Azure section as a new user: no `~/.postgresql` yet.
    fn new_user(&self) {
        let dir = self.azure_home.path().join(".postgresql");
        if dir.exists() {
            std::fs::remove_dir_all(&dir).unwrap();
        }
        std::fs::create_dir(&dir).unwrap();
    }

    /// Whether libpq connects with `conninfo` in the Azure world (with the password), and its
    /// error if not.
    fn libpq(&self, conninfo: &str) -> serde_json::Value {
        let python = crate::harness::oracle_python();
        let script = root().join("tests/oracle/libpq_connect.py");
        let mut child = self
            .namespaced(python.as_os_str(), &[script.to_str().unwrap()], true)
            .env("PGPASSWORD", "s3cret")
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let line = serde_json::to_string(conninfo).unwrap() + "\n";
        std::io::Write::write_all(&mut child.stdin.take().unwrap(), line.as_bytes()).unwrap();
        let out = child.wait_with_output().unwrap();
        let text = String::from_utf8(out.stdout).unwrap();
        let result = text
            .lines()
            .nth(1)
            .unwrap_or_else(|| panic!("no libpq answer: {text}"));
        serde_json::from_str(result).unwrap()
    }
}

#[test]
fn every_page_of_docs_is_in_the_manual_and_runs() {
    let mut pages: Vec<String> = std::fs::read_dir(root().join("docs"))
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".md"))
        .map(|name| format!("docs/{name}"))
        .collect();
    pages.sort();
    let mut listed: Vec<String> = PAGES[1..].iter().map(ToString::to_string).collect();
    listed.sort();
    assert_eq!(pages, listed, "PAGES names every page of docs/");
    // Every page is linked from the manual's index, and the index from the README.
    let index = page("docs/README.md");
    for name in &PAGES[2..] {
        let file = name.trim_start_matches("docs/");
        assert!(
            index.contains(&format!("]({file})")),
            "docs/README.md links {file}"
        );
    }
    assert!(page("README.md").contains("](docs/README.md)"));
}

/// "The release build is about N MB": the stripped release binary of the release archive
/// scripts/test.sh builds (scripts/package.sh), within a tenth of N.
#[test]
fn the_readme_states_the_release_binarys_size() {
    let readme = page("README.md");
    let stated: f64 = regex_lite::Regex::new(r"The release build is about ([0-9.]+) MB")
        .unwrap()
        .captures(&readme)
        .expect("the README states the binary's size")[1]
        .parse()
        .unwrap();
    let binary = root().join(format!(
        "target/package/pgtls-{}-x86_64-linux-gnu/pgtls",
        env!("CARGO_PKG_VERSION")
    ));
    let size = std::fs::metadata(&binary)
        .unwrap_or_else(|e| {
            panic!(
                "{}: {e}; scripts/test.sh builds it with scripts/package.sh",
                binary.display()
            )
        })
        .len() as f64
        / 1e6;
    assert!(
        (size - stated).abs() <= stated / 10.0,
        "the README says about {stated} MB, the release binary is {size:.2} MB"
    );
}

#[test]
fn readme_console_examples_show_real_output() {
    let examples: Vec<Example> = PAGES
        .iter()
        .flat_map(|name| examples(name, &page(name)))
        .collect();
    assert!(
        examples.len() >= 10,
        "the manual lost its runnable examples"
    );
    for section in AZURE_SECTIONS {
        assert!(
            examples
                .iter()
                .any(|e| e.azure() && e.section == section && e.command.contains(AZURE_HOST)),
            "the README's {section} lost its check"
        );
    }
    let world = World::new();
    let paths = world.shown_paths();
    let mut failures = Vec::new();
    let mut section = "";
    for example in &examples {
        if example.azure() && example.section != section {
            world.new_user();
        }
        section = &example.section;
        let (stdout, stderr) = world.run(example);
        if std::env::var_os("PGTLS_README_PRINT").is_some() {
            println!("$ {}\n{stdout}", example.command);
        }
        let want = normalise(&example.expected.join("\n"), &paths);
        let got = normalise(&stdout, &paths);
        let want: Vec<&str> = want.lines().collect();
        let got: Vec<&str> = got.trim_end().lines().collect();
        if !matches(&want, &got) {
            failures.push(format!(
                "[{}: {}] $ {}\n--- README\n{}\n--- actual\n{}\n--- stderr\n{stderr}",
                example.page,
                example.section,
                example.command,
                want.join("\n"),
                got.join("\n"),
            ));
        }
    }
    // The quick start's and the walkthrough's verdicts are libpq's: connects (with the password)
    // or fails for the same reason.
    let walkthrough_checks: Vec<&Example> = examples
        .iter()
        .filter(|e| e.azure() && e.command.starts_with("pgtls check \""))
        .collect();
    assert!(walkthrough_checks.len() >= 6, "the walkthrough lost checks");
    for example in walkthrough_checks {
        let conninfo = example.command.split('"').nth(1).unwrap();
        let (stdout, _) = world.run(&Example {
            page: "README.md",
            section: AZURE_SECTION.into(),
            command: format!("PGPASSWORD=s3cret pgtls check --format json \"{conninfo}\""),
            expected: Vec::new(),
        });
        let doc: serde_json::Value = serde_json::from_str(&stdout).unwrap();
        let exit = doc["targets"][0]["exit_code"].as_u64().unwrap();
        let libpq = world.libpq(conninfo);
        let error = libpq["error"].as_str().unwrap_or_default();
        let agrees = match exit {
            0 => libpq["ok"] == true,
            2 => error.contains("root certificate file"),
            6 => error.contains("certificate verify failed"),
            7 => error.contains("does not match host name"),
            _ => false,
        };
        if !agrees {
            failures.push(format!("{conninfo}: pgtls exit {exit}, libpq {libpq}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

/// The flags of one option line of `--help` (`-o, --output <FILE>` gives `-o` and `--output`).
fn help_flags(line: &str) -> Vec<String> {
    let line = line.trim_start();
    // Option lines start with `-x` or `--xy`; `- value: ...` lines list possible values.
    if !line.starts_with('-') || line.starts_with("- ") {
        return Vec::new();
    }
    line.split([',', ' '])
        .take_while(|word| word.is_empty() || word.starts_with('-'))
        .filter(|word| !word.is_empty())
        .map(str::to_string)
        .collect()
}

#[test]
fn the_manuals_synopsis_names_every_flag_of_every_command_and_no_other() {
    let index = page("docs/README.md");
    let synopsis = index
        .split("```\n")
        .nth(1)
        .expect("the manual's index opens with a synopsis block");
    let mut commands: Vec<(String, String)> = Vec::new();
    for line in synopsis.lines() {
        match line.strip_prefix("pgtls ") {
            Some(rest) => {
                let (name, args) = rest.split_once(' ').unwrap_or((rest, ""));
                commands.push((name.to_string(), args.to_string()));
            }
            None => commands.last_mut().unwrap().1.push_str(line),
        }
    }
    let names: Vec<&str> = commands.iter().map(|(name, _)| name.as_str()).collect();
    assert_eq!(
        names,
        ["check", "explain", "roots", "inspect", "serve", "schema"]
    );
    let flag = regex_lite::Regex::new(r"(?:^|[\[ ])(--?[a-z][a-z-]*)").unwrap();
    for (name, args) in &commands {
        let shown: Vec<&str> = flag
            .captures_iter(args)
            .map(|c| c.get(1).unwrap().as_str())
            .collect();
        let help = crate::harness::pgtls(Path::new("/nonexistent"))
            .args([name, "--help"])
            .output()
            .unwrap();
        let help = String::from_utf8(help.stdout).unwrap();
        let options: Vec<Vec<String>> = help
            .lines()
            .map(help_flags)
            .filter(|flags| !flags.is_empty() && !flags.iter().any(|f| f == "--help"))
            .collect();
        for option in &options {
            assert!(
                option.iter().any(|f| shown.contains(&f.as_str())),
                "the synopsis of `pgtls {name}` lacks {option:?}"
            );
        }
        for f in &shown {
            assert!(
                options.iter().flatten().any(|o| o == f),
                "the synopsis of `pgtls {name}` shows {f}, which `--help` does not have"
            );
        }
    }
}

/// The README's ```json blocks, in order.
fn json_blocks(readme: &str) -> Vec<serde_json::Value> {
    readme
        .split("```json\n")
        .skip(1)
        .map(|rest| {
            let block = rest.split("```").next().unwrap();
            serde_json::from_str(block).unwrap_or_else(|e| panic!("{e}:\n{block}"))
        })
        .collect()
}

/// Every key path of a document: `targets[].tls.protocol`. A key `...` or `<name>` in the README
/// stands for any key, written `*`.
fn key_paths(
    value: &serde_json::Value,
    prefix: &str,
    out: &mut std::collections::BTreeSet<String>,
) {
    match value {
        serde_json::Value::Object(map) => {
            for (key, value) in map {
                let key = if key == "..." || key.starts_with('<') {
                    "*"
                } else {
                    key
                };
                let path = if prefix.is_empty() {
                    key.to_string()
                } else {
                    format!("{prefix}.{key}")
                };
                out.insert(path.clone());
                key_paths(value, &path, out);
            }
        }
        serde_json::Value::Array(items) => {
            for item in items {
                key_paths(item, &format!("{prefix}[]"), out);
            }
        }
        _ => {}
    }
}

/// Checks a README layout against a real document: every path the README shows exists, and every
/// key of the real document is shown or at least named in the README's text.
fn compare_layout(what: &str, shown: &serde_json::Value, real: &serde_json::Value, readme: &str) {
    let mut shown_paths = std::collections::BTreeSet::new();
    key_paths(shown, "", &mut shown_paths);
    let mut real_paths = std::collections::BTreeSet::new();
    key_paths(real, "", &mut real_paths);
    let wildcard = |pattern: &str, path: &str| {
        let pattern: Vec<&str> = pattern.split('.').collect();
        let path: Vec<&str> = path.split('.').collect();
        pattern.len() == path.len()
            && pattern.iter().zip(&path).all(|(p, k)| {
                p == k || (*p == "*" && !k.ends_with("[]")) || p.trim_end_matches("[]") == "*"
            })
    };
    let mut wrong = Vec::new();
    for path in &shown_paths {
        // A wildcard key shows that more keys exist there; it names none.
        if !path.ends_with('*') && !real_paths.iter().any(|real| wildcard(path, real)) {
            wrong.push(format!("shows {path}, which a real document does not have"));
        }
    }
    for path in &real_paths {
        let covered = shown_paths.iter().any(|shown| wildcard(shown, path))
            || shown_paths
                .iter()
                .any(|shown| shown.ends_with('*') && path.starts_with(shown.trim_end_matches('*')));
        let key = path.rsplit('.').next().unwrap().trim_end_matches("[]");
        // Named in the text: `key`, `key[]`, `parent.key` or `parent.key[]`, or "key".
        let named = [
            format!("`{key}`"),
            format!("`{key}[]`"),
            format!(".{key}`"),
            format!(".{key}[]`"),
            format!("\"{key}\""),
        ]
        .iter()
        .any(|form| readme.contains(form));
        if !covered && !named {
            wrong.push(format!("neither shows nor names {path}"));
        }
    }
    assert!(
        wrong.is_empty(),
        "the README's {what} layout:\n{}\n\na real document:\n{real:#}",
        wrong.join("\n")
    );
}

#[test]
fn the_manuals_json_layouts_match_real_documents() {
    let readme = manual();
    let blocks = json_blocks(&page("docs/json.md"));
    assert_eq!(blocks.len(), 3, "check, explain and audit layouts");
    let home = shared_tempdir();
    let (ca, server) = demo_server(home.path());
    let root_file = home.path().join("root.crt");
    std::fs::write(&root_file, &ca.cert_pem).unwrap();
    let conninfo = format!(
        "host=localhost port={} user=app dbname=postgres sslmode=verify-full sslrootcert={}",
        server.port,
        root_file.display()
    );
    let json = |args: &[&str], vars: &[(&str, &str)]| -> serde_json::Value {
        let out = crate::harness::pgtls(home.path())
            .envs(vars.iter().copied())
            .args(args)
            .output()
            .unwrap();
        serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("{args:?}: {e}: {}", String::from_utf8_lossy(&out.stderr)))
    };
    let password = [("PGPASSWORD", "s3cret")];
    // verify-ca adds a finding (the host name is not checked).
    let verify_ca = conninfo.replace("verify-full", "verify-ca");
    let check = json(
        &["check", "--format", "json", &conninfo, &verify_ca],
        &password,
    );
    assert_eq!(check["targets"][0]["exit_code"], 0, "{check:#}");
    compare_layout("check", &blocks[0], &check, &readme);

    // A service, a password file, an environment variable and a root file that sslmode=require
    // will use (a note), so that every key shows.
    std::fs::create_dir(home.path().join(".postgresql")).unwrap();
    std::fs::write(home.path().join(".postgresql/root.crt"), &ca.cert_pem).unwrap();
    std::fs::write(
        home.path().join(".pg_service.conf"),
        "[orders]\nhost=db.example.com\ndbname=orders\n",
    )
    .unwrap();
    let passfile = home.path().join(".pgpass");
    std::fs::write(&passfile, "db.example.com:5432:orders:app:pw\n").unwrap();
    std::fs::set_permissions(
        &passfile,
        std::os::unix::fs::PermissionsExt::from_mode(0o600),
    )
    .unwrap();
    let explain = json(
        &[
            "explain",
            "--format",
            "json",
            "service=orders user=app sslmode=require",
        ],
        &[("PGSSLMODE", "verify-full"), ("PGCONNECT_TIMEOUT", "5")],
    );
    assert!(explain["targets"][0]["password"].is_object(), "{explain:#}");
    compare_layout("explain", &blocks[1], &explain, &readme);

    let audit = json(
        &["check", "--audit", "--format", "json", &conninfo],
        &password,
    );
    compare_layout("audit", &blocks[2], &audit["targets"][0]["audit"], &readme);
}

#[test]
fn the_manuals_exit_code_table_is_the_one_the_help_prints() {
    let readme = page("docs/exit-codes.md");
    let table: Vec<String> = readme
        .lines()
        .filter_map(|line| {
            let cells: Vec<&str> = line.split('|').map(str::trim).collect();
            match cells.as_slice() {
                ["", code, meaning, ""] if code.parse::<u8>().is_ok() => {
                    Some(format!("{code}  {meaning}"))
                }
                _ => None,
            }
        })
        .collect();
    assert_eq!(
        table.len(),
        11,
        "the exit-code table has codes 0 to 9 and 130"
    );
    let help = crate::harness::pgtls(Path::new("/nonexistent"))
        .args(["check", "--help"])
        .output()
        .unwrap();
    let help = String::from_utf8(help.stdout).unwrap();
    let printed: Vec<String> = help
        .split("Exit codes")
        .nth(1)
        .expect("`check --help` lists the exit codes")
        .lines()
        .skip(1)
        .map(|line| line.trim().to_string())
        .filter(|line| !line.is_empty())
        .collect();
    assert_eq!(table, printed);
}

/// `--help` says what the commands take and what makes their exit codes: every CONNINFO form
/// `check` reads, and that lint notes do not fail `inspect`.
#[test]
fn help_names_every_connection_string_form_and_what_fails_a_lint() {
    let help = |command: &str| {
        let out = crate::harness::pgtls(&root().join("target"))
            .args([command, "--help"])
            .output()
            .unwrap();
        assert!(out.status.success());
        String::from_utf8(out.stdout)
            .unwrap()
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
    };
    let check = help("check");
    for form in [
        "postgresql://",
        "jdbc:postgresql://",
        "Host=...;Username=...",
        "key=value",
    ] {
        assert!(check.contains(form), "check --help lacks {form}: {check}");
    }
    let inspect = help("inspect");
    assert!(
        inspect.contains("warnings and errors make the exit code 9, notes (information) do not"),
        "{inspect}"
    );
}
