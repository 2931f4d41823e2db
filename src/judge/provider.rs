//! The provider a target belongs to, from the profiles (its host-name suffix, its certificate's
//! issuer, or the provider's own error words), recognised before any finding is made so that the
//! constructors can use its profile: the per-instance CA to download (`findings.rs`), Cloud SQL's
//! CN-only certificates (`findings.rs`), an SNI-routing proxy reached without a name
//! (`pooler::sni_required`); and here, a root file that lacks a root the provider has announced
//! for a rotation, and a chain anchored at a look-alike of one of the provider's roots.

use crate::config::{Options, RootCert};
use crate::profiles::{Clue, Need, Profile, Profiles};
use crate::report::FindingCode;
use crate::report::{Finding, Provider, Severity, TargetReport};
use crate::tls::TrustStore;

/// The provider a profile recognises this target as: by its host name first, then its
/// certificate's issuer, then what the server said.
pub(super) fn recognise(report: &TargetReport, profiles: &Profiles) -> Option<Provider> {
    let (profile, clue) = profiles
        .by_host(&report.host)
        .or_else(|| {
            report
                .certificates
                .first()
                .and_then(|c| profiles.by_issuer(&c.issuer))
        })
        .or_else(|| {
            report
                .attempts
                .iter()
                .filter_map(|a| a.error.as_deref())
                .find_map(|e| profiles.by_error(e))
        })?;
    Some(Provider {
        profile: profile.name.clone(),
        description: profile.description.clone(),
        recognised_by: match clue {
            Clue::Suffix(s) => format!("host name under {s}"),
            Clue::Issuer(i) => format!("certificate issuer {i}"),
            Clue::Error(e) => format!("server error \"{e}\""),
        },
    })
}

/// The profile of the provider the report names.
pub(super) fn profile_of<'a>(report: &TargetReport, profiles: &'a Profiles) -> Option<&'a Profile> {
    profiles.find(&report.provider.as_ref()?.profile)
}

/// Where the recognised provider's CA is per instance and nothing pgtls knows verifies the chain,
/// how to get that CA: the trust hint for such a host.
pub(super) fn download_hint(report: &TargetReport, profiles: &Profiles) -> Option<String> {
    let provider = report.provider.as_ref()?;
    let profile = profile_of(report, profiles)?;
    if !profile.roots().is_empty() || report.trust.diagnosis.iter().any(|d| d.verified) {
        return None;
    }
    let download = profile.download.as_deref()?;
    Some(format!(
        "{} ({}): {download}",
        profile.description, provider.recognised_by
    ))
}

/// `rotation_root_missing` for each root the recognised provider has announced for a rotation
/// that the root file which verified the chain lacks.
pub(super) fn rotations(
    options: &Options,
    report: &mut TargetReport,
    store: Option<&TrustStore>,
    (today, profiles): (&str, &Profiles),
) {
    let Some(profile) = profile_of(report, profiles) else {
        return;
    };
    if !report.trust.verified {
        return;
    }
    let (RootCert::File { path, .. }, Some(store)) = (&options.root_cert, store) else {
        return;
    };
    let fix = format!(
        "pgtls roots {} --append -o {} adds it and keeps the rest",
        profile.selector(),
        path.display()
    );
    for root in profile.roots() {
        let Need::Rotation { date, reason } = &root.need else {
            continue;
        };
        if !store.anchors.contains(&root.der) {
            let found = rotation_root_missing(&root.name, &profile.name, date, reason, today, &fix);
            report.findings.push(found);
        }
    }
}

/// `rotation_root_missing`: a root file without the root a provider announced it will switch to:
/// a warning until the date, an error from it.
pub(crate) fn rotation_root_missing(
    root: &str,
    profile: &str,
    date: &str,
    reason: &str,
    today: &str,
    fix: &str,
) -> Finding {
    let (severity, when) = if today >= date {
        (Severity::Error, format!("since {date}"))
    } else {
        (Severity::Warning, format!("from {date}"))
    };
    let why = if reason.is_empty() {
        String::new()
    } else {
        format!(" ({reason})")
    };
    Finding {
        severity,
        code: FindingCode::RotationRootMissing,
        message: format!(
            "the root file lacks \"{root}\", which profile {profile}'s servers chain to {when}{why}"
        ),
        hint: Some(fix.to_string()),
    }
}

/// `lookalike_root` (a warning): the chain verified, on a host the profile recognises, at an
/// anchor that carries the name of one of the profile's roots but not its key. The provider's
/// servers never chain there: something else answers for the host (an intercepting proxy, a
/// stand-in), or the root file holds a forged root.
pub(super) fn lookalike_anchor(report: &mut TargetReport, profiles: &Profiles) {
    let Some(profile) = profile_of(report, profiles) else {
        return;
    };
    let Some(anchor) = report
        .trust
        .anchor
        .as_ref()
        .filter(|_| report.trust.verified)
    else {
        return;
    };
    let Some(root) = profile
        .roots()
        .iter()
        .find(|root| root.subject == anchor.subject && root.sha256 != anchor.sha256)
    else {
        return;
    };
    let (root, sha256) = (&root.name, &root.sha256);
    let message = format!(
        "the chain is anchored at \"{}\" (SHA-256 {}), which carries the name of profile {}'s {root} but not its key ({sha256}): {}'s servers do not chain there, so something else answers for {} (an intercepting proxy, a stand-in), or the root file holds a forged root",
        anchor.subject, anchor.sha256, profile.name, profile.description, report.host
    );
    let hint = format!(
        "unless that proxy is yours, do not trust this connection; compare the root file with pgtls roots {} and remove the look-alike",
        profile.selector()
    );
    report.findings.push(Finding {
        severity: Severity::Warning,
        code: FindingCode::LookalikeRoot,
        message,
        hint: Some(hint),
    });
}

/// On a host the profile recognises, the provider's own levers in place of advice for a
/// server one manages oneself (pg_hba.conf, postgresql.conf, renewing the certificate), where
/// the profile has them.
pub(super) fn managed_levers(report: &mut TargetReport, profiles: &Profiles) {
    use crate::profiles::Lever;
    let Some(profile) = profile_of(report, profiles) else {
        return;
    };
    for finding in &mut report.findings {
        let self_managed = finding.hint.as_deref().unwrap_or_default();
        let lever = match finding.code {
            FindingCode::PlaintextAccepted => Lever::Plaintext,
            FindingCode::OldProtocol | FindingCode::NoTls13 => Lever::Protocol,
            FindingCode::HandshakeFailed if self_managed.contains("ssl_min_protocol_version") => {
                Lever::Protocol
            }
            FindingCode::LegacySuite => Lever::Ciphers,
            FindingCode::ExpiresSoon | FindingCode::Expired | FindingCode::ExpiryThreshold
                if self_managed.starts_with("renew")
                    || self_managed.contains("renew it on the server") =>
            {
                Lever::Certificate
            }
            FindingCode::Rejected if self_managed.contains("pg_hba.conf") => Lever::Access,
            _ => continue,
        };
        if let Some(advice) = profile.levers.get(lever) {
            finding.hint = Some(format!(
                "{} ({}): {advice}",
                profile.description, profile.name
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_rotation_root_is_a_warning_before_its_date_and_an_error_from_it() {
        let cases = [
            ("2027-02-28", Severity::Warning, "from 2027-03-01"),
            ("2027-03-01", Severity::Error, "since 2027-03-01"),
            ("2028-01-01", Severity::Error, "since 2027-03-01"),
        ];
        for (today, severity, when) in cases {
            let f = rotation_root_missing("Corp Root 2027", "corp", "2027-03-01", "", today, "fix");
            assert_eq!(f.severity, severity, "{today}");
            assert!(f.message.contains(when), "{today}: {}", f.message);
        }
    }
}
