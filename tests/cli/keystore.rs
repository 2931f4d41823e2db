//! Java truststores: `roots --format pkcs12` writes one that the JDK's keytool lists and that
//! pgjdbc (Debian's libpostgresql-jdbc-java) verifies a real server with, through the JVM's own
//! trust settings; `inspect` reads keytool's JKS and PKCS#12 stores and lints them against a
//! profile.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::harness::{pgtls, root};
use crate::pki::{Ca, ServerCert};
use crate::server::{Server, Setup, Version, shared_tempdir};

/// pgjdbc's jar as Debian installs it (scripts/test.sh installs the package).
const PGJDBC: &str = "/usr/share/java/postgresql.jar";

fn keytool(args: &[&str]) -> String {
    let out = Command::new("keytool")
        .args(args)
        .output()
        .expect("keytool (the JDK) runs");
    assert!(
        out.status.success(),
        "keytool {args:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The JVM options that make `truststore` the JVM's truststore, as the environment gives them to
/// every JVM (and to pgtls, which reads them for pgjdbc's `DefaultJavaSSLFactory`).
fn jvm_options(truststore: &Path) -> String {
    format!(
        "-Djavax.net.ssl.trustStore={} -Djavax.net.ssl.trustStorePassword=changeit -Djavax.net.ssl.trustStoreType=PKCS12",
        truststore.display()
    )
}

/// pgtls's verdict for pgjdbc on `url`, the JVM options naming `truststore`: exit code and summary.
fn pgtls_for_pgjdbc(home: &Path, truststore: &Path, url: &str) -> (i32, String) {
    let out = pgtls(home)
        .env("JAVA_TOOL_OPTIONS", jvm_options(truststore))
        .args(["check", "--format", "json", url])
        .output()
        .unwrap();
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let target = &doc["targets"][0];
    assert_eq!(
        target["client"]["name"], "pgjdbc",
        "a jdbc: URL is pgjdbc's"
    );
    assert!(
        target["client"]["models"]
            .as_str()
            .unwrap()
            .starts_with("pgjdbc 42.7")
    );
    // Where pgjdbc verifies, the report names the truststore that did, not libpq's roots.
    let verdict = &target["clients"][0];
    if verdict["chain_verified"] == true {
        let trust = verdict["trust"].as_str().unwrap_or_default();
        assert_eq!(
            trust,
            format!("the JVM truststore {}", truststore.display()),
            "{target}"
        );
    }
    (
        out.status.code().unwrap(),
        target["summary"].as_str().unwrap().to_string(),
    )
}

/// Connects with pgjdbc to each URL, the JVM trusting `truststore`; one JSON value per URL.
fn pgjdbc(truststore: &Path, urls: &[String]) -> Vec<serde_json::Value> {
    assert!(
        Path::new(PGJDBC).exists(),
        "pgjdbc is not installed at {PGJDBC}: run `bash scripts/test.sh`"
    );
    let mut java = Command::new("java");
    java.env("JAVA_TOOL_OPTIONS", jvm_options(truststore))
        .args(["-cp", PGJDBC])
        .arg(root().join("tests/java/Connect.java"));
    let input: String = urls.iter().map(|u| format!("{u}\n")).collect();
    let out = crate::harness::feed(java, input);
    let text = String::from_utf8_lossy(&out.stdout);
    let results: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).expect("one JSON line per URL"))
        .collect();
    assert_eq!(
        results.len(),
        urls.len(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    results
}

/// `roots --profile azure --format pkcs12` with the profile's roots replaced by `roots_pem`
/// (the debug-build test seam), written to `file`.
fn truststore(home: &Path, roots_pem: &str, file: &str) -> PathBuf {
    let pem = home.join(format!("{file}.pem"));
    std::fs::write(&pem, roots_pem).unwrap();
    let path = home.join(file);
    let out = pgtls(home)
        .env("PGTLS_TEST_PROFILE", format!("azure={}", pem.display()))
        .args(["roots", "--profile", "azure", "--format", "pkcs12", "-o"])
        .arg(&path)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    path
}

#[test]
fn a_written_truststore_is_listed_by_keytool_and_trusted_by_pgjdbc() {
    let home = shared_tempdir();
    let ca = Ca::root("pgtls truststore root");
    let other = Ca::root("pgtls other root");
    let leaf = ca.server(&ServerCert::localhost());
    let server = Server::start(Version::V15, &Setup::tls(leaf.cert_pem, leaf.key_pem));
    let good = truststore(home.path(), &ca.cert_pem, "good.p12");
    let wrong = truststore(home.path(), &other.cert_pem, "wrong.p12");

    let listing = keytool(&[
        "-list",
        "-keystore",
        good.to_str().unwrap(),
        "-storepass",
        "changeit",
    ]);
    assert!(listing.contains("Keystore type: PKCS12"), "{listing}");
    assert!(
        listing.contains("Your keystore contains 1 entry"),
        "{listing}"
    );
    assert!(
        listing.contains("pgtlstruststoreroot") && listing.contains("trustedCertEntry"),
        "{listing}"
    );

    let url = format!(
        "jdbc:postgresql://localhost:{}/postgres?user=postgres&sslmode=verify-full&sslfactory=org.postgresql.ssl.DefaultJavaSSLFactory",
        server.port
    );
    let trusted = pgjdbc(&good, std::slice::from_ref(&url));
    assert_eq!(trusted[0]["ok"], true, "{}", trusted[0]);
    let (code, summary) = pgtls_for_pgjdbc(home.path(), &good, &url);
    assert_eq!(code, 0, "{summary}");
    let (code, summary) = pgtls_for_pgjdbc(home.path(), &wrong, &url);
    assert_eq!(code, 6, "{summary}");
    assert!(summary.contains("PKIX path building failed"), "{summary}");
    let refused = pgjdbc(&wrong, &[url]);
    assert_eq!(refused[0]["ok"], false, "{}", refused[0]);
    assert!(
        refused[0]["error"]
            .as_str()
            .unwrap_or_default()
            .contains("PKIX path building failed"),
        "{}",
        refused[0]
    );
}

#[test]
fn keytools_stores_are_inspected_and_linted() {
    let home = shared_tempdir();
    let dir = home.path();
    let ca = Ca::root("pgtls keytool root");
    let pem = dir.join("root.pem");
    std::fs::write(&pem, &ca.cert_pem).unwrap();
    let mut stores = Vec::new();
    for kind in ["JKS", "PKCS12"] {
        let store = dir.join(format!("store.{}", kind.to_lowercase()));
        keytool(&[
            "-importcert",
            "-noprompt",
            "-alias",
            "myroot",
            "-file",
            pem.to_str().unwrap(),
            "-keystore",
            store.to_str().unwrap(),
            "-storetype",
            kind,
            "-storepass",
            "s3cret-store",
        ]);
        stores.push((kind, store));
    }
    let fingerprint = {
        let out = pgtls(dir)
            .args(["inspect", "--format", "json"])
            .arg(&pem)
            .output()
            .unwrap();
        let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        doc["files"][0]["certificates"][0]["sha256"].clone()
    };
    for (kind, store) in &stores {
        let out = pgtls(dir)
            .args(["inspect", "--format", "json", "--storepass", "s3cret-store"])
            .arg(store)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0), "{kind}");
        let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let file = &doc["files"][0];
        assert_eq!(file["format"], kind.to_lowercase(), "{doc}");
        assert_eq!(file["aliases"][0], "myroot", "{doc}");
        assert_eq!(file["certificates"][0]["sha256"], fingerprint, "{doc}");
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(!stdout.contains("s3cret-store"), "the password never shows");

        let wrong = pgtls(dir).args(["inspect"]).arg(store).output().unwrap();
        assert_eq!(wrong.status.code(), Some(2), "{kind}");
        assert!(
            String::from_utf8_lossy(&wrong.stderr).contains("keystore password was incorrect"),
            "{kind}"
        );

        let lint = pgtls(dir)
            .args([
                "inspect",
                "--lint",
                "--profile",
                "cosmos",
                "--storepass",
                "s3cret-store",
            ])
            .arg(store)
            .output()
            .unwrap();
        assert_eq!(lint.status.code(), Some(9), "{kind}");
        let text = String::from_utf8_lossy(&lint.stdout);
        assert!(
            text.contains("DigiCert Global Root G2 (required by profile cosmos) is missing")
                && text.contains("--format pkcs12 -o FILE writes a complete truststore"),
            "{text}"
        );
    }
}

/// Azure's guide: back up the JVM's truststore, then import the roots. `--append` adds the
/// profile's roots to a keytool-made JKS or PKCS#12 truststore and keeps every entry (a JKS
/// key entry too), refuses a wrong `--storepass` without touching the file, and the lint of the
/// result answers "are Azure's roots there?" first. The JDK's own cacerts: its unrelated
/// expired roots are notes, and the lint passes.
#[test]
fn roots_are_appended_to_keytools_truststores_keeping_every_entry() {
    let home = shared_tempdir();
    let dir = home.path();
    let pem = dir.join("append-root.pem");
    std::fs::write(&pem, Ca::root("pgtls append root").cert_pem).unwrap();
    for kind in ["JKS", "PKCS12"] {
        let store = dir.join(format!("append.{}", kind.to_lowercase()));
        let store_arg = store.to_str().unwrap();
        keytool(&[
            "-importcert",
            "-noprompt",
            "-alias",
            "myroot",
            "-file",
            pem.to_str().unwrap(),
            "-keystore",
            store_arg,
            "-storetype",
            kind,
            "-storepass",
            "s3cret-store",
        ]);
        let list = || {
            keytool(&[
                "-list",
                "-keystore",
                store_arg,
                "-storepass",
                "s3cret-store",
            ])
        };
        let append = |storepass: &str| {
            pgtls(dir)
                .args([
                    "roots",
                    "--profile",
                    "azure",
                    "--format",
                    "pkcs12",
                    "--append",
                ])
                .args(["--storepass", storepass, "-o"])
                .arg(&store)
                .output()
                .unwrap()
        };
        let before = std::fs::read(&store).unwrap();
        let wrong = append("not-the-password");
        assert_eq!(wrong.status.code(), Some(2), "{kind}");
        assert!(
            String::from_utf8_lossy(&wrong.stderr).contains("keystore password was incorrect"),
            "{kind}: {}",
            String::from_utf8_lossy(&wrong.stderr)
        );
        assert_eq!(std::fs::read(&store).unwrap(), before, "{kind}: untouched");

        let out = append("s3cret-store");
        assert_eq!(
            out.status.code(),
            Some(0),
            "{kind}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let name = if kind == "JKS" { "JKS" } else { "PKCS#12" };
        assert_eq!(
            String::from_utf8_lossy(&out.stdout),
            format!(
                "added 4 root certificates (profile azure) to the {name} truststore {store_arg}, keeping every entry it held\n"
            )
        );
        let listed = list();
        assert!(listed.contains("contains 5 entries"), "{kind}: {listed}");
        assert!(listed.contains("myroot,"), "{kind}: {listed}");
        assert_eq!(
            listed.matches("trustedCertEntry").count(),
            5,
            "{kind}: {listed}"
        );
        let again = append("s3cret-store");
        assert!(
            String::from_utf8_lossy(&again.stdout).contains("nothing added"),
            "{kind}"
        );

        let lint = pgtls(dir)
            .args([
                "inspect",
                "--lint",
                "--profile",
                "azure",
                "--storepass",
                "s3cret-store",
            ])
            .arg(&store)
            .output()
            .unwrap();
        assert_eq!(lint.status.code(), Some(0), "{kind}");
        let text = String::from_utf8_lossy(&lint.stdout);
        assert!(
            text.contains(
                "\nProfile azure: required roots 2/2, recommended 2/2 present\nLint: no findings"
            ),
            "{kind}: {text}"
        );
    }

    // A key entry: kept byte for byte in JKS; a PKCS#12 store with a key is not rewritten.
    for (kind, code) in [("JKS", 0), ("PKCS12", 2)] {
        let store = dir.join(format!("keyed.{}", kind.to_lowercase()));
        let store_arg = store.to_str().unwrap();
        keytool(&[
            "-genkeypair",
            "-alias",
            "app",
            "-keyalg",
            "EC",
            "-dname",
            "CN=app",
            "-keystore",
            store_arg,
            "-storetype",
            kind,
            "-storepass",
            "s3cret-store",
            "-keypass",
            "s3cret-store",
        ]);
        let before = std::fs::read(&store).unwrap();
        let out = pgtls(dir)
            .args([
                "roots",
                "--profile",
                "cosmos",
                "--format",
                "pkcs12",
                "--append",
            ])
            .args(["--storepass", "s3cret-store", "-o"])
            .arg(&store)
            .output()
            .unwrap();
        assert_eq!(
            out.status.code(),
            Some(code),
            "{kind}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let listed = keytool(&[
            "-list",
            "-keystore",
            store_arg,
            "-storepass",
            "s3cret-store",
        ]);
        assert!(
            listed.contains("app,") && listed.contains("PrivateKeyEntry"),
            "{kind}: {listed}"
        );
        if code == 0 {
            assert!(listed.contains("contains 2 entries"), "{listed}");
            let after = std::fs::read(&store).unwrap();
            assert_eq!(after[12..before.len() - 20], before[12..before.len() - 20]);
        } else {
            assert!(
                String::from_utf8_lossy(&out.stderr)
                    .contains("holds a private key entry (\"app\")"),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            assert_eq!(std::fs::read(&store).unwrap(), before);
        }
    }

    // The JDK's cacerts, as Debian's ca-certificates-java writes it (JKS).
    let cacerts = Path::new("/etc/ssl/certs/java/cacerts");
    assert!(
        cacerts.exists(),
        "the JDK's cacerts: run `bash scripts/test.sh`"
    );
    let lint = pgtls(dir)
        .args([
            "inspect",
            "--lint",
            "--profile",
            "azure",
            "--format",
            "json",
        ])
        .arg(cacerts)
        .output()
        .unwrap();
    assert_eq!(
        lint.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&lint.stdout)
    );
    let doc: serde_json::Value = serde_json::from_slice(&lint.stdout).unwrap();
    assert_eq!(
        doc["profile_coverage"],
        serde_json::json!({"profile": "azure", "required_present": 2, "required": 2, "recommended_present": 2, "recommended": 2})
    );
    assert!(
        doc["lint"]
            .as_array()
            .unwrap()
            .iter()
            .all(|f| f["severity"] == "info"),
        "{}",
        doc["lint"]
    );
}
