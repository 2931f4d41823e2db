//! An operator's expectations of the served chain (`crate::expect`): the certificate the server
//! should be serving after a rotation, and the other names clients reach it by, each judged on
//! the connection already made.

use super::findings::finding;
use crate::certinfo::{self, CertificateInfo};
use crate::clients::{Client, ClientChoice, NameRules};
use crate::expect::{Expectations, ExpectedCert};
use crate::report::{ExpectedCertificate, FindingCode, NameCoverage, Severity, TargetReport};

/// Adds what `expect` asks for to `report`: the comparison with the expected certificate and each
/// name's coverage, with their findings. Returns whether one of them failed, which makes a
/// target that otherwise passes exit with 9 (the operator asked for the check).
pub(super) fn judge(report: &mut TargetReport, expect: &Expectations, now: i64) -> bool {
    let mut failed = false;
    if let Some(expected) = &expect.cert {
        failed |= served_certificate(report, expected, now);
    }
    if !expect.also_names.is_empty() {
        failed |= also_names(report, &expect.also_names);
    }
    failed
}

/// The served chain against the expected file: the leaf always, and when the file holds more,
/// the certificates the server sends after it (roots aside: a server need not send its root).
fn served_certificate(report: &mut TargetReport, expected: &ExpectedCert, now: i64) -> bool {
    let file = expected.file.display().to_string();
    let Some(wanted) = expected
        .certs
        .first()
        .and_then(|c| certinfo::describe(c, now))
    else {
        return false;
    };
    let beyond_root = |certs: &[Vec<u8>]| -> Vec<Vec<u8>> {
        certs
            .iter()
            .skip(1)
            .filter(|c| !crate::tls::roots::is_self_issued(c))
            .cloned()
            .collect()
    };
    let file_certs: Vec<Vec<u8>> = expected.certs.iter().map(|c| c.to_vec()).collect();
    let leaf_matches = report.presented.first() == file_certs.first();
    let chain_matches =
        file_certs.len() == 1 || beyond_root(&report.presented) == beyond_root(&file_certs);
    let matches = leaf_matches && chain_matches;
    report.expected_certificate = Some(ExpectedCertificate {
        file: file.clone(),
        matches,
        subject: wanted.subject.clone(),
        sha256: wanted.sha256.clone(),
        not_after: wanted.not_after.clone(),
    });
    if matches {
        return false;
    }
    let served = match report.certificates.first() {
        Some(c) if !leaf_matches => brief("serves", c),
        Some(_) => "serves that certificate with another chain after it".to_string(),
        None => "presented no certificate".to_string(),
    };
    let message = format!(
        "the server {served}, not the certificate in {file} ({})",
        brief_fields(&wanted)
    );
    let hint = format!(
        "if {file} is the new certificate, the server has not loaded it: reload it (pg_ctl reload, or SELECT pg_reload_conf() as a superuser; a Kubernetes operator reloads on its own schedule); if it has reloaded, {file} is not the file its ssl_cert_file names"
    );
    report.findings.push(finding(
        Severity::Error,
        FindingCode::ServedCertificateDiffers,
        message,
        &hint,
    ));
    true
}

/// `"CN=db" (SHA-256 AB:..., valid 2026-01-01 to 2027-01-01)`.
fn brief(verb: &str, c: &CertificateInfo) -> String {
    format!("{verb} {}", brief_fields(c))
}

fn brief_fields(c: &CertificateInfo) -> String {
    format!(
        "\"{}\", SHA-256 {}, valid {} to {}",
        c.subject,
        c.sha256,
        certinfo::day(&c.not_before),
        certinfo::day(&c.not_after)
    )
}

/// The other names, checked against the served leaf as the client judged would check them
/// under verify-full (libpq's rules for libpq and for `--client all`).
fn also_names(report: &mut TargetReport, names: &[String]) -> bool {
    let Some(leaf) = report.presented.first().cloned() else {
        return false;
    };
    let (rules, who) = match report.client {
        ClientChoice::One(client) if client != Client::Libpq => {
            (verify_full_rules(client), client.name().to_string())
        }
        _ => (None, "libpq".to_string()),
    };
    let coverage: Vec<NameCoverage> = names
        .iter()
        .map(|name| {
            let refused = match rules {
                Some(rules) => crate::tls::names::check(rules, name, &leaf).err(),
                None => crate::tls::hostname::check_leaf(name, &leaf)
                    .refusal()
                    .map(str::to_string),
            };
            NameCoverage {
                name: name.clone(),
                covered: refused.is_none(),
                message: refused,
            }
        })
        .collect();
    let uncovered: Vec<&str> = coverage
        .iter()
        .filter(|c| !c.covered)
        .map(|c| c.name.as_str())
        .collect();
    let failed = !uncovered.is_empty();
    if failed {
        let held = report
            .certificates
            .first()
            .map(|c| c.sans.join(", "))
            .unwrap_or_default();
        report.findings.push(finding(
            Severity::Error,
            FindingCode::NameNotCovered,
            format!(
                "the certificate does not cover {}: {who} with sslmode=verify-full would refuse {} (it holds {held})",
                uncovered.join(", "),
                if uncovered.len() == 1 { "it" } else { "them" },
            ),
            "reissue the certificate with every name clients use as a DNS SAN (a wildcard covers one label: *.db.example.com covers a.db.example.com, not db.example.com)",
        ));
    }
    report.also_names = coverage;
    failed
}

/// The host-name rules each driver applies under its verify-full.
fn verify_full_rules(client: Client) -> Option<NameRules> {
    Some(match client.base() {
        Client::Pgjdbc => NameRules::Pgjdbc,
        Client::NodePostgres => NameRules::Node,
        Client::Asyncpg | Client::Npgsql | Client::TokioPostgres => NameRules::OpenSsl,
        Client::Pgx | Client::LibPq => NameRules::Go,
        Client::Sqlx => NameRules::Webpki,
        _ => return None,
    })
}
