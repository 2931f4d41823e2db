//! `check --audit` as text: what the server accepts, a line per kind of probe.

use std::io::{self, Write};

use crate::report::{Accepted, Audit};

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
    )
}
