//! Trust tooling: the bundled roots, `inspect` and `--lint`, and `check`'s trust diagnosis
//! against real servers.

use std::path::Path;
use std::process::Command;

use serde_json::Value;

use crate::harness::{libpq_connect, pgtls};
use crate::pki::{Ca, ServerCert};
use crate::server::{Server, Setup, Version, shared_tempdir};

fn openssl_certs(pem_file: &Path) -> Vec<String> {
    let out = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "openssl crl2pkcs7 -nocrl -certfile {} | openssl pkcs7 -print_certs -noout",
            pem_file.display()
        ))
        .output()
        .unwrap();
    assert!(out.status.success(), "openssl reads {}", pem_file.display());
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .filter(|l| l.starts_with("subject="))
        .map(str::to_string)
        .collect()
}

fn to_der(pem: &str, dir: &Path, name: &str) -> std::path::PathBuf {
    let pem_file = dir.join(format!("{name}.pem"));
    std::fs::write(&pem_file, pem).unwrap();
    let der_file = dir.join(format!("{name}.der"));
    let status = Command::new("openssl")
        .args(["x509", "-outform", "DER", "-in"])
        .arg(&pem_file)
        .arg("-out")
        .arg(&der_file)
        .status()
        .unwrap();
    assert!(status.success());
    der_file
}

#[test]
fn roots_lists_profiles_and_writes_a_file_openssl_reads() {
    let home = shared_tempdir();
    let out = pgtls(home.path())
        .args(["roots", "--format", "json"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    let names: Vec<&str> = doc["profiles"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "azure",
            "cosmos",
            "aws-rds",
            "gcp-cloudsql",
            "neon",
            "supabase",
            "digitalocean",
            "aiven"
        ]
    );
    assert_eq!(
        doc["profiles"][1]["roots"][0]["sha256"],
        "CB:3C:CB:B7:60:31:E5:E0:13:8F:8D:D3:9A:23:F9:DE:47:FF:C3:5E:43:C1:14:4C:EA:27:D4:6A:5A:B1:CB:5F"
    );
    let file = home.path().join("azure.pem");
    let out = pgtls(home.path())
        .args(["roots", "--profile", "azure", "-o"])
        .arg(&file)
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(
        text.starts_with("# DigiCert Global Root G2\n-----BEGIN CERTIFICATE-----\n"),
        "{text}"
    );
    let subjects = openssl_certs(&file);
    assert_eq!(subjects.len(), 4, "{subjects:?}");
    assert!(
        subjects
            .iter()
            .any(|s| s.contains("Microsoft ECC Root Certificate Authority 2017"))
    );
    let out = pgtls(home.path())
        .args(["inspect", "--lint", "--profile", "azure"])
        .arg(&file)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    for args in [
        &["roots", "--profile", "aws"][..],
        &["inspect", "--lint", "--profile", "aws", "x.pem"],
    ] {
        let out = pgtls(home.path()).args(args).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains("unknown profile \"aws\" (expected azure, cosmos, aws-rds, gcp-cloudsql, neon, supabase, digitalocean, aiven)"),
            "{stderr}"
        );
    }
}

#[test]
fn inspect_reads_der_pem_and_mixed_bundles() {
    let dir = shared_tempdir();
    let root = Ca::root("pgtls inspect root");
    let inter = root.intermediate("pgtls inspect intermediate");
    let der = to_der(&root.cert_pem, dir.path(), "root");
    let bundle = dir.path().join("bundle.pem");
    std::fs::write(
        &bundle,
        format!("junk before\n{}{}", inter.cert_pem, root.cert_pem),
    )
    .unwrap();
    let out = pgtls(dir.path())
        .args(["inspect", "--format", "json"])
        .arg(&der)
        .arg(&bundle)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["files"][0]["format"], "der");
    assert_eq!(doc["files"][1]["format"], "pem");
    assert_eq!(doc["files"][1]["certificates"].as_array().unwrap().len(), 2);
    let c = &doc["files"][0]["certificates"][0];
    for field in [
        "subject",
        "issuer",
        "not_before",
        "not_after",
        "days_left",
        "key_type",
        "key_bits",
        "signature_algorithm",
        "serial",
        "sha256",
        "sha1",
        "is_ca",
        "self_signed",
    ] {
        assert!(!c[field].is_null(), "{field} missing: {c}");
    }
    assert_eq!(c["self_signed"], true);
    // DER converted to PEM is what openssl converts it to.
    let out = pgtls(dir.path())
        .args(["inspect", "--to-pem"])
        .arg(&der)
        .output()
        .unwrap();
    let ours = String::from_utf8(out.stdout).unwrap();
    let theirs = Command::new("openssl")
        .args(["x509", "-inform", "DER", "-in"])
        .arg(&der)
        .output()
        .unwrap();
    let body = |s: &str| {
        s.lines()
            .filter(|l| !l.starts_with('#'))
            .collect::<Vec<_>>()
            .join("\n")
    };
    assert_eq!(
        body(&ours),
        body(&String::from_utf8(theirs.stdout).unwrap())
    );
    let combined = dir.path().join("combined.pem");
    let out = pgtls(dir.path())
        .args(["inspect", "--to-pem", "-o"])
        .arg(&combined)
        .arg(&der)
        .arg(&bundle)
        .output()
        .unwrap();
    assert!(out.status.success());
    // The DER file's certificate is in the bundle too: written once, and said so.
    assert_eq!(openssl_certs(&combined).len(), 2);
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        format!("wrote 2 certificates as PEM to {}\n", combined.display())
    );
}

/// Microsoft's minimal set for Azure (DigiCert Global Root G2 and Microsoft RSA Root CA 2017)
/// passes the lint; the two roots the profile only recommends are information, and one of the
/// required roots missing is an error.
#[test]
fn the_azure_profiles_minimal_root_set_passes_the_lint_and_names_what_it_recommends() {
    let dir = shared_tempdir();
    let certs = crate::harness::root().join("certs");
    // (files, exit code, finding codes, their severities)
    type Case<'a> = (&'a [&'a str], i32, &'a [&'a str], &'a [&'a str]);
    let cases: [Case; 3] = [
        (
            &[
                "digicert-global-root-g2.pem",
                "microsoft-rsa-root-ca-2017.pem",
            ],
            0,
            &["missing_recommended_root", "missing_recommended_root"],
            &["info"],
        ),
        (
            &["digicert-global-root-g2.pem"],
            9,
            &[
                "missing_root",
                "missing_recommended_root",
                "missing_recommended_root",
            ],
            &["error", "info"],
        ),
        (
            &[
                "digicert-global-root-g2.pem",
                "digicert-global-root-ca.pem",
                "microsoft-rsa-root-ca-2017.pem",
                "microsoft-ecc-root-ca-2017.pem",
            ],
            0,
            &[],
            &[],
        ),
    ];
    for (files, exit, codes, severities) in cases {
        let file = dir.path().join("azure.pem");
        let pem: String = files
            .iter()
            .map(|f| std::fs::read_to_string(certs.join(f)).unwrap())
            .collect();
        std::fs::write(&file, pem).unwrap();
        let out = pgtls(dir.path())
            .args([
                "inspect",
                "--lint",
                "--profile",
                "azure",
                "--format",
                "json",
            ])
            .arg(&file)
            .output()
            .unwrap();
        let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(out.status.code(), Some(exit), "{files:?}: {doc:#}");
        let lint = doc["lint"].as_array().unwrap();
        let got: Vec<&str> = lint.iter().map(|f| f["code"].as_str().unwrap()).collect();
        assert_eq!(got, codes, "{files:?}");
        let mut got: Vec<&str> = lint
            .iter()
            .map(|f| f["severity"].as_str().unwrap())
            .collect();
        got.dedup();
        assert_eq!(got, severities, "{files:?}");
        if exit == 0 && !codes.is_empty() {
            let hint = lint[0]["hint"].as_str().unwrap();
            assert!(hint.contains("--append"), "{hint}");
        }
    }
}

#[test]
fn lint_finds_intermediates_leaves_duplicates_expiry_and_missing_roots() {
    let dir = shared_tempdir();
    let root = Ca::root("pgtls lint root");
    let inter = root.intermediate("pgtls lint intermediate");
    let leaf = inter.server(&ServerCert::localhost());
    let soon = inter.server(&ServerCert {
        valid: (-1, 10),
        serial: 2,
        ..ServerCert::localhost()
    });
    let file = dir.path().join("roots.pem");
    std::fs::write(
        &file,
        format!(
            "{}{}{}{}{}",
            root.cert_pem, root.cert_pem, inter.cert_pem, leaf.cert_pem, soon.cert_pem
        ),
    )
    .unwrap();
    let out = pgtls(dir.path())
        .args([
            "inspect",
            "--lint",
            "--profile",
            "cosmos",
            "--format",
            "json",
        ])
        .arg(&file)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(9));
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    let codes: Vec<&str> = doc["lint"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["code"].as_str().unwrap())
        .collect();
    for code in [
        "duplicate",
        "intermediate_certificate",
        "leaf_certificate",
        "expires_soon",
        "missing_root",
    ] {
        assert!(codes.contains(&code), "{code} not in {codes:?}");
    }
    let clean = dir.path().join("clean.pem");
    std::fs::write(&clean, &root.cert_pem).unwrap();
    let out = pgtls(dir.path())
        .args(["inspect", "--lint"])
        .arg(&clean)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
}

#[test]
fn files_without_certificates_are_named_with_what_they_hold() {
    let dir = shared_tempdir();
    let key = dir.path().join("server.key");
    std::fs::write(&key, ServerCert::localhost().self_signed().key_pem).unwrap();
    let garbage = dir.path().join("garbage.crt");
    std::fs::write(&garbage, "hello, not a certificate\n").unwrap();
    let empty = dir.path().join("empty.crt");
    std::fs::write(&empty, "").unwrap();
    let binary = dir.path().join("binary.der");
    std::fs::write(&binary, [0x30, 0x03, 0x02, 0x01, 0x00]).unwrap();
    let cases = [
        (key.clone(), "holds a private key, not a certificate"),
        (garbage.clone(), "is neither a PEM nor a DER certificate"),
        (empty.clone(), "is empty"),
        (binary.clone(), "is neither a PEM nor a DER certificate"),
        (dir.path().join("missing.crt"), "No such file or directory"),
        (dir.path().to_path_buf(), "Is a directory"),
    ];
    for (file, message) in cases {
        let out = pgtls(dir.path())
            .arg("inspect")
            .arg(&file)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{}", file.display());
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains(message) && stderr.contains(&file.display().to_string()),
            "{stderr}"
        );
    }
}

#[test]
fn a_multi_megabyte_bundle_is_read_whole() {
    let dir = shared_tempdir();
    let root = Ca::root("pgtls big root");
    let file = dir.path().join("big.pem");
    let copies = 3 * 1024 * 1024 / root.cert_pem.len() + 1;
    std::fs::write(&file, root.cert_pem.repeat(copies)).unwrap();
    assert!(std::fs::metadata(&file).unwrap().len() > 3 * 1024 * 1024);
    let out = pgtls(dir.path())
        .args(["inspect", "--lint", "--format", "json"])
        .arg(&file)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(9), "duplicates are lint findings");
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        doc["files"][0]["certificates"].as_array().unwrap().len(),
        copies
    );
}

fn check_json(home: &Path, vars: &[(&str, &str)], args: &[&str]) -> (i32, Value) {
    let out = pgtls(home)
        .envs(vars.iter().copied())
        .arg("check")
        .args(["--format", "json"])
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        serde_json::from_slice(&out.stdout).unwrap_or(Value::Null),
    )
}

#[test]
fn an_untrusted_chain_is_diagnosed_against_the_system_store() {
    let home = shared_tempdir();
    let root = Ca::root("pgtls system-only root");
    let leaf = root.server(&ServerCert::localhost());
    let server = Server::start(
        Version::V15,
        &Setup::tls(leaf.cert_pem.clone(), leaf.key_pem.clone()),
    );
    let system = home.path().join("system.pem");
    std::fs::write(&system, &root.cert_pem).unwrap();
    let mine = home.path().join("mine.pem");
    std::fs::write(&mine, Ca::root("pgtls unrelated root").cert_pem).unwrap();
    let conninfo = format!(
        "{} sslmode=verify-full sslrootcert={}",
        server.conninfo(),
        mine.display()
    );
    let (code, doc) = check_json(
        home.path(),
        &[("SSL_CERT_FILE", system.to_str().unwrap())],
        &[&conninfo],
    );
    assert_eq!(code, 6);
    let t = &doc["targets"][0];
    let system_verdict = t["trust"]["diagnosis"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["source"] == "system")
        .unwrap()
        .clone();
    assert_eq!(system_verdict["verified"], true, "{t}");
    assert!(
        system_verdict["anchor"]
            .as_str()
            .unwrap()
            .contains("pgtls system-only root")
    );
    let hint = t["findings"][0]["hint"].as_str().unwrap();
    assert!(hint.contains("use sslrootcert=system"), "{hint}");
    // And the fix works, as libpq agrees.
    let fixed = format!("{} sslrootcert=system", server.conninfo());
    let (code, _) = check_json(
        home.path(),
        &[("SSL_CERT_FILE", system.to_str().unwrap())],
        &[&fixed],
    );
    assert_eq!(code, 0);
    let libpq = crate::harness::libpq_connect_in(
        home.path(),
        &[fixed],
        &[("SSL_CERT_FILE", system.to_str().unwrap())],
    );
    assert_eq!(libpq[0]["ok"], true, "{libpq:?}");
}

#[test]
fn a_profiles_roots_fix_an_untrusted_chain_through_the_test_seam() {
    let home = shared_tempdir();
    let root = Ca::root("pgtls stand-in provider root");
    let leaf = root.server(&ServerCert::localhost());
    let server = Server::start(
        Version::V15,
        &Setup::tls(leaf.cert_pem.clone(), leaf.key_pem.clone()),
    );
    let profile_roots = home.path().join("provider.pem");
    std::fs::write(&profile_roots, &root.cert_pem).unwrap();
    let seam = format!("provider={}", profile_roots.display());
    let vars = [("PGTLS_TEST_PROFILE", seam.as_str())];
    let root_file = home.path().join(".postgresql/root.crt");
    std::fs::create_dir_all(root_file.parent().unwrap()).unwrap();
    std::fs::write(&root_file, Ca::root("pgtls stale root").cert_pem).unwrap();
    let conninfo = format!("{} sslmode=verify-full", server.conninfo());
    let (code, doc) = check_json(home.path(), &vars, &[&conninfo]);
    assert_eq!(code, 6);
    let hint = doc["targets"][0]["findings"][0]["hint"]
        .as_str()
        .unwrap()
        .to_string();
    // The root file is there: the command adds to it rather than destroying it.
    let command = format!(
        "pgtls roots --profile provider --append -o {}",
        root_file.display()
    );
    assert!(hint.contains(&command), "{hint}");
    let out = pgtls(home.path())
        .envs(vars)
        .args(["roots", "--profile", "provider", "--append", "-o"])
        .arg(&root_file)
        .output()
        .unwrap();
    assert!(out.status.success());
    let (code, _) = check_json(home.path(), &vars, &[&conninfo]);
    assert_eq!(code, 0, "the command from the hint fixes the root file");
    assert_eq!(libpq_connect(home.path(), &[conninfo])[0]["ok"], true);
}

#[test]
fn a_cross_signed_chain_is_reported_with_both_paths() {
    let home = shared_tempdir();
    let old_root = Ca::root("pgtls old root");
    let new_root = Ca::root("pgtls new root");
    let inter = new_root.intermediate("pgtls issuing intermediate");
    let leaf = inter.server(&ServerCert::localhost());
    // The new root, cross-signed by the old one, served so that old clients still verify.
    let cross = new_root.cross_signed_by(&old_root);
    let chain = format!("{}{}{}", leaf.cert_pem, inter.cert_pem, cross);
    let server = Server::start(Version::V15, &Setup::tls(chain, leaf.key_pem.clone()));
    let old_file = home.path().join("old.pem");
    std::fs::write(&old_file, &old_root.cert_pem).unwrap();
    let new_file = home.path().join("new.pem");
    std::fs::write(&new_file, &new_root.cert_pem).unwrap();
    let seam = format!("rotated={}", new_file.display());
    let vars = [("PGTLS_TEST_PROFILE", seam.as_str())];
    let conninfo = format!(
        "{} sslmode=verify-full sslrootcert={}",
        server.conninfo(),
        old_file.display()
    );
    let (code, doc) = check_json(home.path(), &vars, &["--diagnose-trust", &conninfo]);
    assert_eq!(code, 0, "{doc}");
    let t = &doc["targets"][0];
    assert_eq!(
        t["trust"]["path"].as_array().unwrap().len(),
        2,
        "leaf -> intermediate -> cross-signed new root -> old root: {t}"
    );
    assert!(
        t["trust"]["anchor"]["subject"]
            .as_str()
            .unwrap()
            .contains("pgtls old root")
    );
    let cross_signed = &t["trust"]["cross_signed"][0];
    assert!(
        cross_signed["subject"]
            .as_str()
            .unwrap()
            .contains("pgtls new root"),
        "{t}"
    );
    assert!(
        cross_signed["issuer"]
            .as_str()
            .unwrap()
            .contains("pgtls old root")
    );
    let rotated = t["trust"]["diagnosis"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["source"] == "profile:rotated")
        .unwrap();
    assert_eq!(rotated["verified"], true);
    assert!(
        rotated["anchor"]
            .as_str()
            .unwrap()
            .contains("pgtls new root")
    );
    let finding = t["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["code"] == "cross_signed")
        .unwrap();
    let hint = finding["hint"].as_str().unwrap();
    assert!(
        hint.contains("profile:rotated") && hint.contains("pgtls new root"),
        "{hint}"
    );
    assert_eq!(
        libpq_connect(home.path(), &[conninfo])[0]["ok"],
        true,
        "libpq verifies through the cross-sign too"
    );
}

#[test]
fn save_chain_writes_what_the_server_presented() {
    let home = shared_tempdir();
    let root = Ca::root("pgtls save root");
    let inter = root.intermediate("pgtls save intermediate");
    let leaf = inter.server(&ServerCert::localhost());
    let server = Server::start(
        Version::V15,
        &Setup::tls(
            format!("{}{}", leaf.cert_pem, inter.cert_pem),
            leaf.key_pem.clone(),
        ),
    );
    let file = home.path().join("chain.pem");
    let out = pgtls(home.path())
        .args(["check", "--save-chain"])
        .arg(&file)
        .arg(format!("{} sslmode=require", server.conninfo()))
        .output()
        .unwrap();
    assert!(out.status.success());
    let subjects = openssl_certs(&file);
    assert_eq!(subjects.len(), 2, "{subjects:?}");
    assert!(subjects[0].contains("localhost") && subjects[1].contains("pgtls save intermediate"));
}

#[test]
fn the_diagnosis_holds_a_profiles_roots_to_the_checks_of_a_root_file() {
    let home = shared_tempdir();
    // A provider root that has expired still has the right subject and key.
    let expired = Ca::root_valid("pgtls expired provider root", (-60, -1));
    let leaf = expired.server(&ServerCert::localhost());
    let server = Server::start(Version::V15, &Setup::tls(leaf.cert_pem, leaf.key_pem));
    let profile_roots = home.path().join("provider.pem");
    std::fs::write(&profile_roots, &expired.cert_pem).unwrap();
    let seam = format!("provider={}", profile_roots.display());
    let vars = [("PGTLS_TEST_PROFILE", seam.as_str())];
    let other = home.path().join("other.crt");
    std::fs::write(&other, Ca::root("pgtls unrelated root").cert_pem).unwrap();
    let conninfo = format!(
        "{} sslmode=verify-full sslrootcert={}",
        server.conninfo(),
        other.display()
    );
    let (code, doc) = check_json(home.path(), &vars, &[&conninfo]);
    assert_eq!(code, 6);
    let target = &doc["targets"][0];
    let provider = target["trust"]["diagnosis"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["source"] == "profile:provider")
        .expect("the test profile is tried");
    assert_eq!(provider["verified"], false, "{provider}");
    assert_eq!(provider["error"], "certificate has expired", "{provider}");
    let hint = target["findings"][0]["hint"].as_str().unwrap_or_default();
    assert!(
        !hint.contains("pgtls roots --profile provider"),
        "an expired root is no fix: {hint}"
    );
}

#[test]
fn a_root_the_server_sends_but_the_file_lacks_is_named_as_the_root_to_add() {
    let home = shared_tempdir();
    let root = Ca::root("pgtls sent root");
    let leaf = root.server(&ServerCert::localhost());
    // The server sends its root after its certificate, as some setups do.
    let chain = format!("{}{}", leaf.cert_pem, root.cert_pem);
    let server = Server::start(Version::V15, &Setup::tls(chain, leaf.key_pem.clone()));
    let mine = home.path().join("mine.pem");
    std::fs::write(&mine, Ca::root("pgtls unrelated root").cert_pem).unwrap();
    let conninfo = format!(
        "{} sslmode=verify-full sslrootcert={}",
        server.conninfo(),
        mine.display()
    );
    let (code, doc) = check_json(home.path(), &[], &[&conninfo]);
    assert_eq!(code, 6);
    let hint = doc["targets"][0]["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["code"] == "untrusted_certificate")
        .and_then(|f| f["hint"].as_str())
        .unwrap()
        .to_string();
    assert!(
        hint.contains("does not hold the server's root \"CN=pgtls sent root, O=pgtls tests\""),
        "{hint}"
    );
    assert!(!hint.contains("the root CA that issued"), "{hint}");
}

#[test]
fn a_der_root_file_is_told_the_pgtls_command_that_converts_it_beside_it() {
    // A root file saved in DER (as some providers' downloads are): libpq cannot read it, and the
    // message gives the conversion into a new file, which then verifies the server.
    let home = shared_tempdir();
    let root = Ca::root("pgtls der root");
    let leaf = root.server(&ServerCert::localhost());
    let server = Server::start(Version::V15, &Setup::tls(leaf.cert_pem, leaf.key_pem));
    let pem = home.path().join("root.pem-source");
    std::fs::write(&pem, &root.cert_pem).unwrap();
    let der = home.path().join("root.crt");
    let converted = Command::new("openssl")
        .args(["x509", "-outform", "DER", "-in"])
        .arg(&pem)
        .arg("-out")
        .arg(&der)
        .status()
        .unwrap();
    assert!(converted.success());
    let conninfo = |file: &Path| {
        format!(
            "host=localhost port={} user=postgres sslmode=verify-full sslrootcert={}",
            server.port,
            file.display()
        )
    };
    let out = pgtls(home.path())
        .args(["check", &conninfo(&der)])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let text = String::from_utf8_lossy(&out.stdout);
    let target = home.path().join("root.pem");
    let command = format!(
        "pgtls inspect --to-pem -o {} {}",
        target.display(),
        der.display()
    );
    assert!(text.contains(&command), "{command} in {text}");
    let out = pgtls(home.path())
        .args(["inspect", "--to-pem", "-o"])
        .arg(&target)
        .arg(&der)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = pgtls(home.path())
        .args(["check", &conninfo(&target)])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

/// The hint of the first finding with `code` in a one-target document.
fn hint_of(doc: &Value, code: &str) -> String {
    doc["targets"][0]["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["code"] == code)
        .and_then(|f| f["hint"].as_str())
        .unwrap_or_else(|| panic!("no {code} hint in {doc}"))
        .to_string()
}

/// Three fixes that must be right for the user's situation, each compared with libpq: a root
/// file named with `~` (libpq does not expand it), verify-ca on a host the certificate does not
/// name (verify-full would fail), and require made to verify by the default root file.
#[test]
fn root_file_advice_fits_the_situation_libpq_is_in() {
    let home = shared_tempdir();
    let root = Ca::root("pgtls advice root");
    let leaf = root.server(&ServerCert::localhost());
    let server = Server::start(Version::V15, &Setup::tls(leaf.cert_pem, leaf.key_pem));
    let port = server.port;
    let root_file = home.path().join("advice-root.pem");
    std::fs::write(&root_file, &root.cert_pem).unwrap();
    let root_path = root_file.display().to_string();

    // ~ is not expanded: libpq refuses as pgtls does, and the hint names the file meant.
    let tilde = format!(
        "host=localhost port={port} user=postgres sslmode=verify-full sslrootcert=~/advice-root.pem"
    );
    let libpq = &libpq_connect(home.path(), std::slice::from_ref(&tilde))[0];
    assert_eq!(libpq["ok"], false, "{libpq}");
    assert!(
        libpq["error"]
            .as_str()
            .unwrap_or_default()
            .contains("\"~/advice-root.pem\" does not exist"),
        "{libpq}"
    );
    let (code, doc) = check_json(home.path(), &[], &[&tilde]);
    assert_eq!(code, 2);
    assert_eq!(
        hint_of(&doc, "configuration"),
        format!(
            "libpq does not expand ~ in sslrootcert (it looks for a folder named \"~\" in the current directory): write sslrootcert={root_path}"
        )
    );

    // verify-ca to a name the certificate lacks: libpq connects, verify-full would not, and the
    // hint says so instead of sending the user to verify-full.
    let other = format!(
        "host=db.example.com hostaddr=127.0.0.1 port={port} user=postgres sslrootcert={root_path}"
    );
    let strings = [
        format!("{other} sslmode=verify-ca"),
        format!("{other} sslmode=verify-full"),
    ];
    let libpq = libpq_connect(home.path(), &strings);
    assert_eq!(
        (libpq[0]["ok"].clone(), libpq[1]["ok"].clone()),
        (Value::Bool(true), Value::Bool(false))
    );
    let (code, doc) = check_json(home.path(), &[], &[&strings[0]]);
    assert_eq!(code, 0);
    let hint = hint_of(&doc, "host_name_not_verified");
    assert!(
        hint.starts_with("sslmode=verify-full would fail here (server certificate for \"localhost\" (and 1 other name) does not match host name \"db.example.com\")")
            && hint.contains("connect with a name the certificate holds (localhost, 127.0.0.1)")
            && hint.contains("reissued with \"db.example.com\" among its names"),
        "{hint}"
    );
    let (code, doc) = check_json(
        home.path(),
        &[],
        &[&format!(
            "host=localhost port={port} user=postgres sslmode=verify-ca sslrootcert={root_path}"
        )],
    );
    assert_eq!(code, 0);
    assert_eq!(
        hint_of(&doc, "host_name_not_verified"),
        "use sslmode=verify-full: the certificate names \"localhost\", so the host name check passes"
    );

    // require with a default root file that does not verify the server: libpq fails too, and
    // the hint says that the file made require verify.
    let other_home = tempfile::tempdir().unwrap();
    let dot = other_home.path().join(".postgresql");
    std::fs::create_dir(&dot).unwrap();
    std::fs::write(dot.join("root.crt"), Ca::root("pgtls other root").cert_pem).unwrap();
    let require = format!("host=localhost port={port} user=postgres sslmode=require");
    let libpq = &libpq_connect(other_home.path(), std::slice::from_ref(&require))[0];
    assert_eq!(libpq["ok"], false, "{libpq}");
    let (code, doc) = check_json(other_home.path(), &[], &[&require]);
    assert_eq!(code, 6);
    let hint = hint_of(&doc, "untrusted_certificate");
    assert!(
        hint.starts_with(&format!(
            "{}/root.crt exists, so sslmode=require verifies the chain as verify-ca does (libpq's rule for a root file); ",
            dot.display()
        )),
        "{hint}"
    );
}
