//! `explain` as aligned text.

use std::io::{self, Write};

use crate::config::{HostKind, PasswordSource};
use crate::explain::{Explanation, TargetPlan};
use crate::sanitize::clean;

/// Writes the explanation for people.
///
/// # Errors
/// Whatever writing to `out` returns.
pub fn explain_text(report: &Explanation, out: &mut dyn Write) -> io::Result<()> {
    writeln!(out, "Parameters")?;
    let width = report
        .params
        .0
        .iter()
        .map(|(k, _)| k.len())
        .max()
        .unwrap_or(0);
    let value_width = report
        .params
        .0
        .iter()
        .map(|(_, p)| shown(&p.value).chars().count())
        .max()
        .unwrap_or(0)
        .min(40);
    for (name, param) in &report.params.0 {
        let source = match param.env {
            Some(var) => format!("{} ({var})", param.source.as_str()),
            None => param.source.as_str().to_string(),
        };
        writeln!(
            out,
            "  {name:<width$}  {:<value_width$}  {source}",
            shown(&param.value)
        )?;
    }
    if let Some(file) = &report.service_file {
        writeln!(out, "  (service file: {})", clean(file))?;
    }
    writeln!(out)?;
    writeln!(out, "Targets")?;
    for (n, target) in report.targets.iter().enumerate() {
        write_target(n + 1, target, out)?;
    }
    if !report.notes.is_empty() {
        writeln!(out)?;
        writeln!(out, "Notes")?;
        for note in &report.notes {
            writeln!(out, "  - {}", clean(&note.message))?;
        }
    }
    Ok(())
}

/// A value as shown: empty values are visible as `''`.
fn shown(value: &str) -> String {
    if value.is_empty() {
        "''".to_string()
    } else {
        clean(value).into_owned()
    }
}

/// `host:port`, with IPv6 addresses in brackets.
fn host_port(host: &str, port: u16) -> String {
    if host.contains(':') {
        format!("[{}]:{port}", clean(host))
    } else {
        format!("{}:{port}", clean(host))
    }
}

fn write_target(n: usize, t: &TargetPlan, out: &mut dyn Write) -> io::Result<()> {
    let place = match (t.kind, &t.hostaddr) {
        (HostKind::UnixSocket, _) => format!("socket {} port {}", clean(&t.host), t.port),
        (_, Some(addr)) if t.host.is_empty() => host_port(addr, t.port),
        (_, Some(addr)) => format!("{} (at {})", host_port(&t.host, t.port), clean(addr)),
        (_, None) => host_port(&t.host, t.port),
    };
    writeln!(out, "  {n}. {place}")?;
    let attempts = t
        .attempts
        .iter()
        .map(|a| if *a == "tls" { "TLS" } else { "plaintext" })
        .collect::<Vec<_>>()
        .join(", then ");
    writeln!(out, "     attempts      {attempts}")?;
    if let Some(negotiation) = t.negotiation {
        let how = match negotiation {
            crate::config::SslNegotiation::Postgres => "SSLRequest, then handshake",
            crate::config::SslNegotiation::Direct => "direct TLS with ALPN postgresql",
        };
        writeln!(out, "     negotiation   {how}")?;
        let chain = if t.verify_chain {
            "verified"
        } else {
            "not verified"
        };
        let root = match (&t.root_cert, t.root_cert_exists) {
            (Some(root), Some(false)) if t.verify_chain => {
                format!(", but the root file {} does not exist", clean(root))
            }
            (Some(_), Some(false)) => " (no root file)".to_string(),
            (Some(root), _) if root == "system" => " against the system trust store".to_string(),
            (Some(root), _) => format!(" against {}", clean(root)),
            (None, _) => String::new(),
        };
        writeln!(out, "     chain         {chain}{root}")?;
        let name = if t.verify_host_name {
            "verified"
        } else {
            "not verified"
        };
        writeln!(out, "     host name     {name}")?;
        let sni = t.sni.as_deref().map_or("none".into(), clean);
        writeln!(out, "     SNI           {sni}")?;
    }
    let password = match &t.password {
        None => "none".to_string(),
        Some(PasswordSource::Conninfo) => "from the connection string".to_string(),
        Some(PasswordSource::Service) => "from the service file".to_string(),
        Some(PasswordSource::Env) => "from PGPASSWORD".to_string(),
        Some(PasswordSource::Passfile { path, line }) => {
            format!("from {} line {line}", clean(&path.display().to_string()))
        }
    };
    writeln!(out, "     password      {password}")
}

/// Writes `explain --client` for people.
///
/// # Errors
/// Whatever writing to `out` returns.
pub fn clients_text(
    report: &crate::explain::ClientsExplanation,
    out: &mut dyn Write,
) -> io::Result<()> {
    let hosts: Vec<String> = report
        .hosts
        .iter()
        .map(|(h, p)| format!("{}:{p}", clean(h)))
        .collect();
    writeln!(
        out,
        "Read as {}: hosts {}; user {}; database {}",
        report.read_as.name(),
        hosts.join(", "),
        report.user.as_deref().map_or("(none)".into(), clean),
        report.dbname.as_deref().map_or("(none)".into(), clean)
    )?;
    if let Some(equivalent) = &report.libpq_equivalent {
        writeln!(out, "As libpq: {}", clean(equivalent))?;
    }
    for plan in &report.clients {
        let reference = match plan.reference {
            crate::clients::Reference::Verified => "compared with the real driver",
            crate::clients::Reference::Modelled => "modelled, not run in the tests",
        };
        writeln!(out)?;
        writeln!(out, "{} ({}; {reference})", plan.name.name(), plan.models)?;
        writeln!(out, "  mode        {}", clean(&plan.mode))?;
        if let Some(refused) = &plan.refused {
            writeln!(out, "  refuses     {}", clean(refused))?;
            continue;
        }
        writeln!(out, "  transports  {}", plan.transports)?;
        writeln!(out, "  chain       {}", clean(&plan.chain))?;
        writeln!(out, "  host name   {}", plan.host_name)?;
        for note in &plan.unmodelled {
            writeln!(out, "  not modelled {}", clean(note))?;
        }
        for name in &plan.ignored {
            writeln!(out, "  ignores     {} (unknown to the driver)", clean(name))?;
        }
    }
    Ok(())
}
