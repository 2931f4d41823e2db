//! `inspect --lint`: the certificates of files meant as a root file for `sslrootcert` (or a Java
//! truststore), judged as libpq would use them, and against a profile's roots when one is given.

use crate::certinfo::CertificateInfo;
use crate::profiles::{Need, Profile};
use crate::report::{FileReport, Finding, FindingCode, Severity};

use super::Expiry;

fn finding(severity: Severity, code: FindingCode, message: String, hint: String) -> Finding {
    Finding {
        severity,
        code,
        message,
        hint: Some(hint),
    }
}

/// `duplicate`: a certificate seen before in the files.
fn duplicate(who: &str) -> Finding {
    finding(
        Severity::Warning,
        FindingCode::Duplicate,
        format!("{who} appears more than once"),
        "keep one copy".into(),
    )
}

/// `leaf_certificate`: a server certificate where roots belong.
fn leaf_certificate(who: &str) -> Finding {
    finding(
        Severity::Error,
        FindingCode::LeafCertificate,
        format!("{who} is a server (leaf) certificate, not a CA"),
        "keep only root CAs in a root file: pinning a server certificate breaks when the provider rotates it".into(),
    )
}

/// `intermediate_certificate`: a CA that is not self-signed, which libpq does not anchor at.
fn intermediate_certificate(who: &str, issuer: &str) -> Finding {
    finding(
        Severity::Warning,
        FindingCode::IntermediateCertificate,
        format!("{who} is an intermediate CA (issued by \"{issuer}\")"),
        "libpq does not accept an intermediate as a trust anchor; add the root that issued it, and drop the intermediate unless you mean to pin it".into(),
    )
}

/// `missing_root`: a root the profile requires, or none of its one-of set.
fn missing_root(message: String, fix: &str) -> Finding {
    finding(
        Severity::Error,
        FindingCode::MissingRoot,
        message,
        fix.to_string(),
    )
}

/// `missing_recommended_root`: a root the profile recommends.
fn missing_recommended_root(root: &str, profile: &str, reason: &str, add: &str) -> Finding {
    finding(
        Severity::Info,
        FindingCode::MissingRecommendedRoot,
        format!("{root} (recommended by profile {profile}: {reason}) is not in the file"),
        add.to_string(),
    )
}

/// Judges the certificates of `files` as one root file for `sslrootcert`, and for `profile`'s
/// roots when one is given, on `today` (YYYY-MM-DD, for a profile's rotation dates).
pub(crate) fn lint(
    files: &[FileReport],
    profile: Option<&Profile>,
    warn_days: i64,
    today: &str,
) -> Vec<Finding> {
    let mut findings = Vec::new();
    let mut seen: Vec<&str> = Vec::new();
    let profile_roots_sha: Vec<&str> = profile
        .map(|p| p.roots().iter().map(|r| r.sha256.as_str()).collect())
        .unwrap_or_default();
    for file in files {
        for c in &file.certificates {
            let who = format!("\"{}\" in {}", c.subject, file.path);
            if seen.contains(&c.sha256.as_str()) {
                findings.push(duplicate(&who));
            }
            seen.push(&c.sha256);
            let before = findings.len();
            certificate(&mut findings, &who, c, warn_days);
            // A truststore such as the JDK's cacerts is its maintainer's: asked about a
            // profile, its other certificates' dates are notes, not the user's errors.
            if let Some(p) = profile.filter(|_| file.aliases.is_some())
                && !profile_roots_sha.contains(&c.sha256.as_str())
            {
                for f in &mut findings[before..] {
                    if matches!(f.code, FindingCode::Expired | FindingCode::ExpiresSoon) {
                        f.severity = Severity::Info;
                        f.hint = Some(format!(
                            "not one of profile {}'s roots: the truststore's other certificates are its maintainer's (the JDK's or the system's); updating the JDK or ca-certificates-java replaces them",
                            p.name
                        ));
                    }
                }
            }
        }
    }
    if let Some(profile) = profile {
        // A Java truststore is fixed with a truststore, a root file with a root file.
        let truststore = !files.is_empty() && files.iter().all(|f| f.aliases.is_some());
        let held: Vec<(&str, &CertificateInfo)> = files
            .iter()
            .flat_map(|f| f.certificates.iter().map(move |c| (f.path.as_str(), c)))
            .collect();
        profile_roots(&mut findings, profile, &held, truststore, today);
    }
    findings.sort_by_key(|f| std::cmp::Reverse(f.severity));
    findings
}

/// What one certificate of a root file says of the file.
fn certificate(findings: &mut Vec<Finding>, who: &str, c: &CertificateInfo, warn_days: i64) {
    if !c.is_ca {
        findings.push(leaf_certificate(who));
    } else if !c.self_signed {
        findings.push(intermediate_certificate(who, &c.issuer));
    }
    match super::expiry(c, warn_days) {
        Some(Expiry::Expired) => {
            findings.push(super::expired(who, c, "remove it and add its successor"));
        }
        Some(Expiry::Soon) => findings.push(super::expires_soon(
            who,
            c,
            "add its successor before it expires",
        )),
        None => {}
    }
}

/// `lookalike_root`: a certificate with the subject of a profile's root and another key.
fn lookalike_root(
    file: &str,
    c: &CertificateInfo,
    root: &str,
    profile: &str,
    sha256: &str,
    fix: &str,
) -> Finding {
    finding(
        Severity::Error,
        FindingCode::LookalikeRoot,
        format!(
            "a certificate named \"{}\" is in {file}, but its SHA-256 {} is not profile {profile}'s {root} ({sha256}): another key under the same name, from a stale download or an intercepting proxy",
            c.subject, c.sha256
        ),
        format!("remove it; {fix}"),
    )
}

/// The profile's roots that the files (`held`, each certificate with its file) lack, and any
/// certificate that carries a root's name without being that root.
fn profile_roots(
    findings: &mut Vec<Finding>,
    profile: &Profile,
    held: &[(&str, &CertificateInfo)],
    truststore: bool,
    today: &str,
) {
    let seen: Vec<&str> = held.iter().map(|(_, c)| c.sha256.as_str()).collect();
    let name = &profile.name;
    let (add, fix) = if truststore {
        (
            format!(
                "add it with keytool -importcert, or write a complete truststore: pgtls roots --profile {name} --format pkcs12 -o FILE"
            ),
            format!(
                "pgtls roots --profile {name} --format pkcs12 -o FILE writes a complete truststore"
            ),
        )
    } else {
        (
            format!(
                "pgtls roots --profile {name} --append -o FILE adds the roots the file lacks and keeps the rest"
            ),
            format!("pgtls roots --profile {name} -o FILE writes a complete root file"),
        )
    };
    let mut one_of_held = false;
    let mut one_of_reason = None;
    for root in profile.roots() {
        let is_held = seen.contains(&root.sha256.as_str());
        if let Need::OneOf(reason) = &root.need {
            one_of_held |= is_held;
            one_of_reason = Some(reason);
        }
        if is_held {
            continue;
        }
        if let Some((file, c)) = held.iter().find(|(_, c)| c.subject == root.subject) {
            findings.push(lookalike_root(
                file,
                c,
                &root.name,
                name,
                &root.sha256,
                &fix,
            ));
            continue;
        }
        match &root.need {
            Need::Required => findings.push(missing_root(
                format!("{} (required by profile {name}) is missing", root.name),
                &fix,
            )),
            Need::Recommended(reason) => {
                findings.push(missing_recommended_root(&root.name, name, reason, &add));
            }
            Need::OneOf(_) => {}
            Need::Rotation { date, reason } => findings.push(super::rotation_root_missing(
                &root.name, name, date, reason, today, &add,
            )),
        }
    }
    if let Some(reason) = one_of_reason.filter(|_| !one_of_held) {
        findings.push(missing_root(
            format!("the file holds none of profile {name}'s regional roots ({reason})"),
            &fix,
        ));
    }
}

/// How many of `profile`'s roots `files` hold, by SHA-256.
pub(crate) fn coverage(files: &[FileReport], profile: &Profile) -> crate::report::ProfileCoverage {
    let seen: Vec<&str> = files
        .iter()
        .flat_map(|f| &f.certificates)
        .map(|c| c.sha256.as_str())
        .collect();
    let mut coverage = crate::report::ProfileCoverage {
        profile: profile.name.clone(),
        required_present: 0,
        required: 0,
        recommended_present: 0,
        recommended: 0,
    };
    let mut one_of: Option<bool> = None;
    for root in profile.roots() {
        let held = seen.contains(&root.sha256.as_str());
        match root.need {
            Need::Required => {
                coverage.required += 1;
                coverage.required_present += usize::from(held);
            }
            Need::OneOf(_) => one_of = Some(one_of.unwrap_or(false) || held),
            Need::Recommended(_) | Need::Rotation { .. } => {
                coverage.recommended += 1;
                coverage.recommended_present += usize::from(held);
            }
        }
    }
    if let Some(held) = one_of {
        coverage.required += 1;
        coverage.required_present += usize::from(held);
    }
    coverage
}
