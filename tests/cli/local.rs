//! Hostile or unlucky local input: a reader that closes the pipe early, key files with the wrong
//! owner or mode, root files OpenSSL reads differently, files that never end, output paths that
//! are symlinks or cannot be written. Each ends with the documented exit code and a clear
//! message, never a panic, a hang, an unbounded read or a silent success.

use std::process::{Command, Stdio};

use crate::harness::pgtls;

use crate::server::shared_tempdir;

#[test]
fn a_closed_pipe_keeps_the_verdicts_exit_code() {
    let home = shared_tempdir();
    // Port 1 refuses: the verdict is 3. The reader is gone before the report is written.
    for format in ["json", "text", "junit", "prometheus"] {
        let mut child = Command::new(assert_cmd::cargo::cargo_bin("pgtls"))
            .env_clear()
            .env("HOME", home.path())
            .args([
                "check",
                "--format",
                format,
                "host=127.0.0.1 port=1 sslmode=require",
            ])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        drop(child.stdout.take());
        let out = child.wait_with_output().unwrap();
        assert_eq!(
            out.status.code(),
            Some(3),
            "{format}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(out.stderr.is_empty(), "{format}: a closed pipe is quiet");
    }
}

/// Answers SSLRequest with `S`, then closes: libpq has read its root and key files by then.
fn answer_s_then_close(mut s: std::net::TcpStream) {
    use std::io::{Read, Write};
    let mut request = [0u8; 8];
    let _ = s.read_exact(&mut request);
    let _ = s.write_all(b"S");
    let mut hello = [0u8; 512];
    let _ = s.read(&mut hello);
}

/// libpq's complaint about a local file in its error, if any: the text after `needle`.
fn complaint<'a>(error: &'a str, needle: &str) -> Option<&'a str> {
    error
        .find(needle)
        .map(|at| error[at..].lines().next().unwrap_or_default())
}

fn block(label: &str, der: &[u8]) -> String {
    use base64::Engine as _;
    let body = base64::engine::general_purpose::STANDARD.encode(der);
    format!("-----BEGIN {label}-----\n{body}\n-----END {label}-----\n")
}

#[test]
fn root_files_are_read_as_openssl_reads_them_for_libpq() {
    use base64::Engine as _;
    let home = shared_tempdir();
    let port = crate::fake::fake(answer_s_then_close);
    let good = crate::pki::Ca::root("pgtls pem root").cert_pem;
    let body: String = good.lines().filter(|l| !l.starts_with("-----")).collect();
    let der = base64::engine::general_purpose::STANDARD
        .decode(body)
        .unwrap();
    let good_file = home.path().join("good.crt");
    std::fs::write(&good_file, &good).unwrap();
    let trusted = Command::new("openssl")
        .args(["x509", "-trustout", "-addtrust", "serverAuth", "-in"])
        .arg(&good_file)
        .output()
        .expect("openssl runs");
    let mut trailing = der.clone();
    trailing.extend([0, 0]);
    let corrupt = block("CERTIFICATE", b"\x04\x03abc");
    let files = [
        ("valid then corrupt", format!("{good}{corrupt}")),
        ("corrupt only", corrupt.clone()),
        (
            "trusted certificate",
            String::from_utf8(trusted.stdout).unwrap(),
        ),
        ("byte-order mark", format!("\u{feff}{good}")),
        ("trailing bytes", block("CERTIFICATE", &trailing)),
        ("truncated", block("CERTIFICATE", &der[..der.len() - 10])),
        (
            "bad base64",
            format!("{good}-----BEGIN CERTIFICATE-----\nMIIB!!!!\n-----END CERTIFICATE-----\n"),
        ),
        (
            "no end line",
            format!("{good}-----BEGIN CERTIFICATE-----\n"),
        ),
        ("text around", format!("Certificate:\n  text\n{good}more\n")),
        ("indented", format!("   {good}")),
        ("empty", String::new()),
    ];
    let mut conninfos = Vec::new();
    for (n, (_, text)) in files.iter().enumerate() {
        let path = home.path().join(format!("root{n}.crt"));
        std::fs::write(&path, text).unwrap();
        conninfos.push(format!(
            "host=127.0.0.1 port={port} user=u sslmode=verify-ca connect_timeout=3 sslrootcert={}",
            path.display()
        ));
    }
    let libpq = crate::harness::libpq_connect(home.path(), &conninfos);
    let needle = "could not read root certificate file";
    let mut failures = Vec::new();
    for (((name, _), conninfo), libpq) in files.iter().zip(&conninfos).zip(&libpq) {
        let out = pgtls(home.path())
            .args(["check", "--timeout", "3", conninfo])
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        let stdout = String::from_utf8_lossy(&out.stdout);
        let libpq_says = complaint(libpq["error"].as_str().unwrap_or_default(), needle);
        let pgtls_says = complaint(&stdout, needle);
        // Only the verdict is compared: libpq prints the oldest error of OpenSSL's per-thread
        // queue, which can be left over from an earlier connection of the same process. The
        // reasons themselves are checked, one process per file, in tls/pem.rs's unit test.
        let agrees = match (libpq_says, pgtls_says) {
            (Some(_), Some(_)) => out.status.code() == Some(2),
            (None, None) => out.status.code() != Some(2),
            _ => false,
        };
        if !agrees {
            failures.push(format!(
                "{name}: libpq {libpq_says:?}, pgtls exit {:?} {pgtls_says:?}",
                out.status.code()
            ));
        }
        assert!(!stderr.contains("TrailingData"), "{stderr}");
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn key_file_modes_and_owners_are_judged_as_libpq_judges_them() {
    use std::os::unix::fs::PermissionsExt;
    assert!(
        nix::unistd::geteuid().is_root(),
        "this test makes files owned by another user: run it as root (as CI does)"
    );
    let home = shared_tempdir();
    let port = crate::fake::fake(answer_s_then_close);
    let client = crate::pki::Ca::root("pgtls key-mode root").client("u");
    let cert = home.path().join("client.crt");
    std::fs::write(&cert, &client.cert_pem).unwrap();
    let postgres = nix::unistd::User::from_name("postgres")
        .unwrap()
        .expect("a postgres user exists (scripts/test.sh creates it)");
    let mut conninfos = Vec::new();
    let mut names = Vec::new();
    for (owner, mode) in [
        ("root", 0o600),
        ("root", 0o640),
        ("root", 0o644),
        ("postgres", 0o600),
        ("postgres", 0o640),
        ("postgres", 0o644),
    ] {
        let key = home.path().join(format!("{owner}-{mode:o}.key"));
        std::fs::write(&key, &client.key_pem).unwrap();
        std::fs::set_permissions(&key, std::fs::Permissions::from_mode(mode)).unwrap();
        if owner == "postgres" {
            nix::unistd::chown(&key, Some(postgres.uid), None).unwrap();
        }
        names.push(format!("{owner} {mode:o}"));
        conninfos.push(format!(
            "host=127.0.0.1 port={port} user=u sslmode=require connect_timeout=3 sslcert={} sslkey={}",
            cert.display(),
            key.display()
        ));
    }
    let libpq = crate::harness::libpq_connect(home.path(), &conninfos);
    let needle = "has group or world access";
    let mut failures = Vec::new();
    for ((name, conninfo), libpq) in names.iter().zip(&conninfos).zip(&libpq) {
        let out = pgtls(home.path())
            .args(["check", "--timeout", "3", conninfo])
            .output()
            .unwrap();
        let refused_by_libpq = libpq["error"].as_str().is_some_and(|e| e.contains(needle));
        let refused_by_pgtls =
            out.status.code() == Some(2) && String::from_utf8_lossy(&out.stderr).contains(needle);
        if refused_by_libpq != refused_by_pgtls {
            failures.push(format!(
                "{name}: libpq refuses {refused_by_libpq}, pgtls {refused_by_pgtls}"
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn endless_and_unwritten_files_end_with_a_clear_error() {
    let home = shared_tempdir();
    let dir = home.path();
    let fifo = dir.join("fifo");
    nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::S_IRWXU).unwrap();
    let root = dir.join("root.crt");
    std::fs::write(&root, crate::pki::Ca::root("pgtls bounded root").cert_pem).unwrap();
    let (root, fifo) = (root.display(), fifo.display());
    // Nothing listens here: each case must end before a connection matters.
    let base = "host=127.0.0.1 port=1 sslmode=verify-full";
    // (arguments, environment, exit code, message)
    type Case<'a> = (Vec<String>, Vec<(&'a str, String)>, i32, &'a str);
    let cases: Vec<Case> = vec![
        // A root file is met once the server agrees to TLS, as in libpq: with nothing listening,
        // the port's verdict stands and the file is a warning beside it.
        (
            vec!["check".into(), format!("{base} sslrootcert=/dev/zero")],
            vec![],
            3,
            "larger than 16 MiB",
        ),
        (
            vec!["check".into(), format!("{base} sslrootcert={fifo}")],
            vec![],
            3,
            "the file is empty",
        ),
        (
            vec![
                "check".into(),
                format!("{base} sslrootcert={root} sslcrl=/dev/zero"),
            ],
            vec![],
            2,
            "larger than 256 MiB",
        ),
        (
            vec![
                "check".into(),
                format!("{base} sslrootcert={root} sslcert=/dev/zero sslkey=/dev/null"),
            ],
            vec![],
            2,
            "larger than 16 MiB",
        ),
        (
            vec!["check".into(), "service=x".into()],
            vec![("PGSERVICEFILE", "/dev/zero".into())],
            2,
            "could not read service file \"/dev/zero\": larger than 1 MiB",
        ),
        (
            vec!["check".into(), "--targets".into(), "/dev/zero".into()],
            vec![],
            2,
            "line 1 is longer than 64 KiB",
        ),
        (
            vec!["inspect".into(), "/dev/zero".into()],
            vec![],
            2,
            "larger than 16 MiB",
        ),
        (
            vec!["check".into(), "--targets".into(), fifo.to_string()],
            vec![],
            0,
            "",
        ),
    ];
    for (args, vars, code, message) in cases {
        let start = std::time::Instant::now();
        let out = pgtls(dir)
            .args(&args)
            .envs(vars.iter().map(|(k, v)| (*k, v.as_str())))
            .timeout(std::time::Duration::from_secs(20))
            .output()
            .unwrap();
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(out.status.code(), Some(code), "{args:?}: {text}");
        assert!(text.contains(message), "{args:?}: {text}");
        assert!(
            start.elapsed() < std::time::Duration::from_secs(5),
            "{args:?} took {:?}",
            start.elapsed()
        );
        assert!(
            text.len() < 4096,
            "{args:?} echoed its input: {} bytes",
            text.len()
        );
    }
}

#[test]
fn output_files_are_replaced_whole_and_never_through_a_link_unasked() {
    let home = shared_tempdir();
    let dir = home.path();
    let real = dir.join("real.crt");
    let link = dir.join("root.crt");
    std::fs::write(&real, "a private CA the user keeps\n").unwrap();
    std::os::unix::fs::symlink(&real, &link).unwrap();
    let out = pgtls(dir)
        .args(["roots", "--profile", "cosmos", "-o"])
        .arg(&link)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("is a symbolic link"));
    assert_eq!(
        std::fs::read_to_string(&real).unwrap(),
        "a private CA the user keeps\n"
    );
    let out = pgtls(dir)
        .args(["roots", "--profile", "cosmos", "--force", "-o"])
        .arg(&link)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(
        String::from_utf8_lossy(&out.stdout).starts_with("wrote 1 root certificate (profile"),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(
        std::fs::read_to_string(&real)
            .unwrap()
            .contains("BEGIN CERTIFICATE")
    );
    assert!(
        std::fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink()
    );
    let leftovers: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().ends_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn a_chain_file_is_kept_when_nothing_was_presented_and_the_report_when_it_cannot_be_saved() {
    let home = shared_tempdir();
    let dir = home.path();
    let saved = dir.join("chain.pem");
    std::fs::write(&saved, "yesterday's chain\n").unwrap();
    let out = pgtls(dir)
        .args(["check", "--save-chain"])
        .arg(&saved)
        .arg("host=127.0.0.1 port=1 sslmode=require")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    assert_eq!(
        std::fs::read_to_string(&saved).unwrap(),
        "yesterday's chain\n"
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("left as it was"));

    let issued = crate::pki::ServerCert::localhost().self_signed();
    let port = crate::auth::start(crate::auth::Behaviour::Trust, &issued, Default::default());
    let out = pgtls(dir)
        .args(["check", "--format", "json", "--save-chain"])
        .arg(dir.join("no-such-dir/chain.pem"))
        .arg(format!("host=127.0.0.1 port={port} user=u sslmode=require"))
        .output()
        .unwrap();
    let doc: serde_json::Value =
        serde_json::from_slice(&out.stdout).expect("the report is written before the chain");
    assert_eq!(doc["targets"][0]["exit_code"], 0);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("could not write"));
}

#[test]
fn a_refused_targets_line_reads_as_one_not_as_a_host() {
    let home = shared_tempdir();
    let targets = home.path().join("targets");
    std::fs::write(&targets, "host=a sslmode=bogus\n").unwrap();
    let out = pgtls(home.path())
        .args(["check", "--targets"])
        .arg(&targets)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.starts_with("(invalid connection string)  [FAIL, exit 2]"),
        "{text}"
    );
    assert!(
        !text.contains(":0") && !text.contains("sslmode=prefer"),
        "{text}"
    );
}

#[test]
fn an_existing_root_file_is_kept_appended_to_or_replaced_only_when_asked() {
    let home = shared_tempdir();
    let dir = home.path();
    let file = dir.join("root.crt");
    let private = crate::pki::Ca::root("pgtls private ca").cert_pem;
    std::fs::write(&file, &private).unwrap();
    let count = |path: &std::path::Path| {
        std::fs::read_to_string(path)
            .unwrap()
            .matches("BEGIN CERTIFICATE")
            .count()
    };
    let roots = |extra: &[&str]| {
        pgtls(dir)
            .args(["roots", "--profile", "azure"])
            .args(extra)
            .arg("-o")
            .arg(&file)
            .output()
            .unwrap()
    };
    let refused = roots(&[]);
    assert_eq!(refused.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("exists; pass --append"));
    assert_eq!(std::fs::read_to_string(&file).unwrap(), private);

    let added = roots(&["--append"]);
    assert_eq!(added.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&added.stdout).starts_with("added 4 root certificates"));
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(
        text.starts_with(&private),
        "what was there stays first, byte for byte"
    );
    assert_eq!(count(&file), 5);

    let again = roots(&["--append"]);
    assert!(String::from_utf8_lossy(&again.stdout).contains("nothing added"));
    assert_eq!(count(&file), 5);

    let replaced = roots(&["--force"]);
    assert_eq!(replaced.status.code(), Some(0));
    assert_eq!(count(&file), 4);

    let converted = pgtls(dir)
        .args(["inspect", "--to-pem", "-o"])
        .arg(&file)
        .arg(&file)
        .output()
        .unwrap();
    assert_eq!(
        converted.status.code(),
        Some(2),
        "inspect --to-pem refuses it too"
    );
    assert_eq!(count(&file), 4);
}
