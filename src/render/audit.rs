//! `check --audit` as text: what the server accepts, a line per kind of probe.

use std::io::{self, Write};

use crate::report::{Accepted, Audit};
use crate::sanitize::clean;

fn yes_no(value: Option<bool>) -> &'static str {
    match value {
        Some(true) => "yes",
        Some(false) => "no",
        None => "-",
    }
}

pub(super) fn write_audit(a: &Audit, out: &mut dyn Write) -> io::Result<()> {
    let p = &a.protocols;
    writeln!(
        out,
        "  audit        TLS 1.3 {}, TLS 1.2 {}, TLS 1.1 {}, TLS 1.0 {}, SSL 3.0 {}",
        yes_no(p.tls13),
        yes_no(p.tls12),
        yes_no(p.tls11),
        yes_no(p.tls10),
        yes_no(p.ssl3)
    )?;
    let accepted = |items: &[Accepted]| {
        items
            .iter()
            .filter(|i| i.accepted == Some(true))
            .map(|i| i.openssl.clone().unwrap_or_else(|| i.name.clone()))
            .collect::<Vec<_>>()
            .join(", ")
    };
    writeln!(out, "               suites: {}", accepted(&a.suites))?;
    writeln!(out, "               groups: {}", accepted(&a.groups))?;
    let legacy: Vec<&str> = a
        .legacy_suites
        .iter()
        .filter(|l| l.accepted)
        .map(|l| l.family)
        .collect();
    writeln!(
        out,
        "               legacy suites: {}",
        if legacy.is_empty() {
            "none".to_string()
        } else {
            legacy.join(", ")
        }
    )?;
    writeln!(
        out,
        "               SSLRequest {}, direct TLS {}, plaintext {}",
        yes_no(a.negotiation.postgres),
        yes_no(a.negotiation.direct),
        yes_no(a.plaintext)
    )?;
    write_session(a, out)
}

/// The session probes: protocol versions, cancel over TLS, SNI.
fn write_session(a: &Audit, out: &mut dyn Write) -> io::Result<()> {
    for probe in &a.startup_versions {
        let answer = probe
            .found
            .as_ref()
            .map_or_else(|| "-".to_string(), ToString::to_string);
        writeln!(
            out,
            "               protocol {}: {}",
            probe.asked,
            clean(&answer)
        )?;
    }
    writeln!(
        out,
        "               cancel over TLS {}{}",
        yes_no(a.cancel_over_tls),
        a.cancel_answer
            .as_deref()
            .map(|why| format!(" ({})", clean(why)))
            .unwrap_or_default()
    )?;
    if let Some(sni) = &a.sni {
        let side = |answer: &Option<crate::report::SniAnswer>| match answer {
            Some(a) => clean(&a.answer).into_owned(),
            None => "-".to_string(),
        };
        let same = match (&sni.with_sni, &sni.without_sni) {
            (Some(w), Some(wo)) if w.certificate_sha256 == wo.certificate_sha256 => {
                ", same certificate"
            }
            (Some(_), Some(_)) => ", another certificate",
            _ => "",
        };
        writeln!(
            out,
            "               SNI {}: {}; without SNI: {}{same}",
            sni.name,
            side(&sni.with_sni),
            side(&sni.without_sni)
        )?;
    }
    for c in &a.sni_names {
        let name = c.name.as_deref().map_or("(no SNI)".into(), clean);
        let what = match (&c.subject, &c.error) {
            (Some(subject), _) => format!(
                "\"{}\"{}",
                clean(subject),
                match c.covers {
                    Some(true) => ", covers it",
                    Some(false) => ", does NOT cover it",
                    None => "",
                }
            ),
            (None, Some(error)) => clean(error).into_owned(),
            (None, None) => "-".into(),
        };
        writeln!(out, "               certificate for {name}: {what}")?;
    }
    Ok(())
}
