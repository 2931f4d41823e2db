//! `roots` and `inspect` as text.

use std::io::{self, Write};

use crate::certinfo::CertificateInfo;
use crate::profiles::{Listing, NeedKind};
use crate::report::Inspection;
use crate::report::{Finding, Severity};
use crate::sanitize::clean;

/// Writes the profiles and their roots. A set of roots of which a root file needs one (AWS's
/// regional roots) is listed root by root only with `every_root`, else as one line.
///
/// # Errors
/// Whatever writing to `out` returns.
pub fn roots_text(listing: &Listing, every_root: bool, out: &mut dyn Write) -> io::Result<()> {
    for (n, profile) in listing.profiles.iter().enumerate() {
        if n > 0 {
            writeln!(out)?;
        }
        writeln!(out, "{}  ({})", profile.name, clean(&profile.description))?;
        if let Some(file) = &profile.file {
            writeln!(out, "  file     {}", clean(file))?;
        }
        if !profile.suffixes.is_empty() {
            let hosts: Vec<String> = profile.suffixes.iter().map(|s| format!("*{s}")).collect();
            writeln!(out, "  hosts    {}", clean(&hosts.join(", ")))?;
        }
        if !profile.issuers.is_empty() {
            writeln!(out, "  issuers  {}", clean(&profile.issuers.join(", ")))?;
        }
        if !profile.ports.is_empty() {
            let ports: Vec<String> = profile.ports.iter().map(u16::to_string).collect();
            writeln!(out, "  ports    {}", ports.join(", "))?;
        }
        if let Some(download) = &profile.download {
            writeln!(out, "  CA       {}", clean(download))?;
        }
        if let Some(rule) = &profile.needs_sni {
            writeln!(out, "  SNI      {}", clean(rule))?;
        }
        if let Some(rule) = &profile.cn_only {
            writeln!(out, "  names    {}", clean(rule))?;
        }
        write_profile_roots(profile, every_root, out)?;
    }
    Ok(())
}

/// A profile's roots: each one (a one-of set as one line unless `every_root`), with its need.
fn write_profile_roots(
    profile: &crate::profiles::ProfileListing,
    every_root: bool,
    out: &mut dyn Write,
) -> io::Result<()> {
    let one_of = profile
        .roots
        .iter()
        .filter(|r| r.need == NeedKind::OneOf)
        .count();
    if one_of > 0 && !every_root {
        let reason = profile
            .roots
            .iter()
            .find_map(|r| r.reason.as_deref().filter(|_| r.need == NeedKind::OneOf))
            .unwrap_or_default();
        writeln!(
            out,
            "  {one_of} roots, one of which a root file needs ({}): pgtls roots --profile {} lists each",
            clean(reason),
            profile.name
        )?;
    }
    for listed in &profile.roots {
        if listed.need == NeedKind::OneOf && !every_root {
            continue;
        }
        let root = &listed.certificate;
        writeln!(out, "  {}", clean(&root.subject))?;
        writeln!(out, "    SHA-256  {}", root.sha256)?;
        writeln!(
            out,
            "    expires  {} ({} left)",
            &root.not_after[..10],
            crate::certinfo::days(root.days_left)
        )?;
        let reason = listed.reason.as_deref().map(clean).unwrap_or_default();
        let date = listed.date.as_deref().unwrap_or_default();
        match listed.need {
            NeedKind::Required => writeln!(out, "    needed   required")?,
            NeedKind::Rotation => {
                writeln!(out, "    needed   from {date} (rotation): {reason}")?;
            }
            NeedKind::OneOf => writeln!(out, "    needed   one of the set: {reason}")?,
            NeedKind::Recommended => writeln!(out, "    needed   recommended: {reason}")?,
        }
    }
    Ok(())
}

/// A certificate's validity period and days left, as one phrase.
pub fn validity(c: &CertificateInfo) -> String {
    let days = if c.days_left < 0 {
        format!("expired {} ago", crate::certinfo::days(-c.days_left))
    } else {
        format!("{} left", crate::certinfo::days(c.days_left))
    };
    format!("{} to {} ({days})", &c.not_before[..10], &c.not_after[..10])
}

/// A certificate's key: type and curve, or type and size.
pub fn key(c: &CertificateInfo) -> String {
    match (&c.curve, c.key_bits) {
        (Some(curve), _) => format!("{} {curve}", c.key_type),
        (None, Some(bits)) => format!("{} {bits} bits", c.key_type),
        (None, None) => c.key_type.clone(),
    }
}

/// Writes one certificate's details.
///
/// # Errors
/// Whatever writing to `out` returns.
pub fn certificate(c: &CertificateInfo, indent: &str, out: &mut dyn Write) -> io::Result<()> {
    let kind = match (c.is_ca, c.self_signed) {
        (true, true) => "root CA",
        (true, false) => "intermediate CA",
        (false, true) => "self-signed leaf",
        (false, false) => "leaf",
    };
    writeln!(out, "{indent}subject    {}", clean(&c.subject))?;
    writeln!(out, "{indent}issuer     {}", clean(&c.issuer))?;
    writeln!(out, "{indent}kind       {kind}")?;
    if !c.sans.is_empty() {
        writeln!(out, "{indent}SAN        {}", clean(&c.sans.join(", ")))?;
    }
    writeln!(out, "{indent}valid      {}", validity(c))?;
    writeln!(out, "{indent}key        {}", key(c))?;
    writeln!(out, "{indent}signature  {}", c.signature_algorithm)?;
    writeln!(out, "{indent}serial     {}", c.serial)?;
    writeln!(out, "{indent}SHA-256    {}", c.sha256)?;
    writeln!(out, "{indent}SHA-1      {}", c.sha1)
}

/// Writes findings with their hints.
///
/// # Errors
/// Whatever writing to `out` returns.
pub fn findings(findings: &[Finding], out: &mut dyn Write) -> io::Result<()> {
    for f in findings {
        let label = match f.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Info => "note",
        };
        writeln!(out, "  {label:<8} {}", clean(&f.message))?;
        if let Some(hint) = &f.hint {
            writeln!(out, "  {:<8} hint: {}", "", clean(hint))?;
        }
    }
    Ok(())
}

/// Writes the certificates of each file, and the lint findings.
///
/// # Errors
/// Whatever writing to `out` returns.
pub fn inspect_text(report: &Inspection, out: &mut dyn Write) -> io::Result<()> {
    for (n, file) in report.files.iter().enumerate() {
        if n > 0 {
            writeln!(out)?;
        }
        let count = file.certificates.len();
        let plural = if count == 1 { "" } else { "s" };
        writeln!(
            out,
            "{} ({}, {count} certificate{plural})",
            clean(&file.path),
            file.format.to_uppercase()
        )?;
        for (i, c) in file.certificates.iter().enumerate() {
            match file.aliases.as_ref().and_then(|a| a.get(i)) {
                Some(alias) => writeln!(out, "  [{i}] alias {}", clean(alias))?,
                None => writeln!(out, "  [{i}]")?,
            }
            certificate(c, "    ", out)?;
        }
    }
    if let Some(lint) = &report.lint {
        writeln!(out)?;
        if let Some(c) = &report.profile_coverage {
            writeln!(
                out,
                "Profile {}: required roots {}/{}, recommended {}/{} present",
                clean(&c.profile),
                c.required_present,
                c.required,
                c.recommended_present,
                c.recommended
            )?;
        }
        if lint.is_empty() {
            writeln!(out, "Lint: no findings")?;
        } else {
            writeln!(out, "Lint")?;
            findings(lint, out)?;
        }
    }
    Ok(())
}
