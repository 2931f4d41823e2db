//! `check --format prometheus`: the text exposition format, for node_exporter's textfile
//! collector. Labels name the target (host, port, sslmode, client; the string's position only where
//! two targets share all of those); never a secret.

use std::io::{self, Write};

use crate::report::{Report, TargetReport};

/// A label value escaped as the exposition format requires, with control and invisible
/// characters (from certificate names) shown as visible escapes first.
fn label(value: &str) -> String {
    crate::sanitize::clean(value)
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
}

/// Each target's labels: what names it (target, port, sslmode, client), stable when the targets
/// file is reordered; `input` (the position of its connection string) is added only where two
/// targets would otherwise share every label.
fn target_labels(report: &Report) -> Vec<String> {
    let base: Vec<String> = report
        .targets
        .iter()
        .map(|t| {
            let Some(port) = t.port else {
                return format!(
                    "target=\"(invalid)\",port=\"0\",sslmode=\"\",client=\"{}\"",
                    t.client.name()
                );
            };
            format!(
                "target=\"{}\",port=\"{}\",sslmode=\"{}\",client=\"{}\"",
                label(if t.host.is_empty() {
                    t.hostaddr.as_deref().unwrap_or("")
                } else {
                    &t.host
                }),
                port,
                t.sslmode,
                t.client.name()
            )
        })
        .collect();
    super::disambiguate(base, &report.targets, |labels, input| {
        format!("{labels},input=\"{input}\"")
    })
}

const EXIT_CODE_HELP: &str =
    "The target's pgtls exit code (0 when it connects as its sslmode requires).";

struct Metric {
    name: &'static str,
    help: &'static str,
    value: fn(&TargetReport, i64) -> Option<String>,
    /// Kept one release for textfiles; `serve` never writes it.
    deprecated: bool,
}

const METRICS: &[Metric] = &[
    Metric {
        name: "pgtls_up",
        help: "Whether a libpq client with this connection string connects to the target (1) or not (0).",
        value: |t, _| Some(u8::from(t.libpq_connects).to_string()),
        deprecated: false,
    },
    Metric {
        name: "pgtls_exit_code",
        help: EXIT_CODE_HELP,
        value: |t, _| Some(t.exit_code.to_string()),
        deprecated: false,
    },
    Metric {
        name: "pgtls_encrypted",
        help: "Whether the connection a libpq client makes is encrypted.",
        value: |t, _| Some(u8::from(t.encrypted).to_string()),
        deprecated: false,
    },
    Metric {
        name: "pgtls_leaf_not_after_timestamp_seconds",
        help: "When the server certificate expires, as a Unix timestamp (alert on it minus time()).",
        value: |t, _| t.certificates.first().map(|c| c.not_after_unix.to_string()),
        deprecated: false,
    },
    Metric {
        name: "pgtls_chain_not_after_timestamp_seconds",
        help: "When the earliest-expiring certificate the server presented expires, as a Unix timestamp.",
        value: |t, _| {
            t.certificates
                .iter()
                .map(|c| c.not_after_unix)
                .min()
                .map(|s| s.to_string())
        },
        deprecated: false,
    },
    Metric {
        name: "pgtls_leaf_expiry_seconds",
        help: "Deprecated, use pgtls_leaf_not_after_timestamp_seconds - time(): seconds until the server certificate expires, as of the check (negative once expired).",
        value: |t, now| {
            t.certificates
                .first()
                .map(|c| (c.not_after_unix - now).to_string())
        },
        deprecated: true,
    },
    Metric {
        name: "pgtls_leaf_expiry_days",
        help: "Deprecated: whole days until the server certificate expires, as of the check.",
        value: |t, _| t.certificates.first().map(|c| c.days_left.to_string()),
        deprecated: true,
    },
    Metric {
        name: "pgtls_chain_expiry_seconds",
        help: "Deprecated, use pgtls_chain_not_after_timestamp_seconds - time(): seconds until the earliest-expiring certificate the server presented expires, as of the check.",
        value: |t, now| {
            t.certificates
                .iter()
                .map(|c| c.not_after_unix - now)
                .min()
                .map(|s| s.to_string())
        },
        deprecated: true,
    },
    Metric {
        name: "pgtls_chain_expiry_days",
        help: "Deprecated: whole days until the earliest-expiring certificate the server presented expires, as of the check.",
        value: |t, _| {
            t.certificates
                .iter()
                .map(|c| c.days_left)
                .min()
                .map(|d| d.to_string())
        },
        deprecated: true,
    },
    Metric {
        name: "pgtls_check_duration_seconds",
        help: "Time the check of this target took, all attempts together.",
        value: |t, _| {
            Some(format!(
                "{:.6}",
                t.attempts
                    .iter()
                    .fold(0.0, |sum, a| sum + a.timings.total_ms)
                    / 1000.0
            ))
        },
        deprecated: false,
    },
];

/// Writes the report as Prometheus metrics (`check --format prometheus`).
///
/// # Errors
/// Whatever writing to `out` returns.
pub fn prometheus(report: &Report, now: i64, out: &mut dyn Write) -> io::Result<()> {
    families(report, now, true, out)
}

/// Writes one probe of `pgtls serve`: the names blackbox_exporter's users alert on
/// (`probe_success`, `probe_duration_seconds`, `probe_ssl_earliest_cert_expiry`,
/// `probe_tls_version_info`), then the `pgtls_*` families `check --format prometheus` writes,
/// without the deprecated ones.
///
/// # Errors
/// Whatever writing to `out` returns.
pub fn probe(
    report: Option<&Report>,
    code: i32,
    duration: std::time::Duration,
    now: i64,
    out: &mut dyn Write,
) -> io::Result<()> {
    family(
        out,
        "probe_success",
        "Whether the probe succeeded: pgtls's verdict is exit code 0 (blackbox_exporter's name).",
    )?;
    writeln!(out, "probe_success {}", u8::from(code == 0))?;
    family(
        out,
        "probe_duration_seconds",
        "How long the probe took, in seconds (blackbox_exporter's name).",
    )?;
    writeln!(out, "probe_duration_seconds {:.6}", duration.as_secs_f64())?;
    // A probe cut short by its deadline has no report: its exit code alone.
    let Some(report) = report else {
        family(out, "pgtls_exit_code", EXIT_CODE_HELP)?;
        return writeln!(out, "pgtls_exit_code {code}");
    };
    let earliest = report
        .targets
        .iter()
        .flat_map(|t| &t.certificates)
        .map(|c| c.not_after_unix)
        .min();
    if let Some(earliest) = earliest {
        family(
            out,
            "probe_ssl_earliest_cert_expiry",
            "When the earliest-expiring certificate the servers presented expires, as a Unix timestamp (blackbox_exporter's name).",
        )?;
        writeln!(out, "probe_ssl_earliest_cert_expiry {earliest}")?;
    }
    // The session of the host a libpq client ends up on, else the first that negotiated TLS.
    let session = report
        .targets
        .iter()
        .filter(|t| t.encrypted)
        .max_by_key(|t| t.libpq_uses)
        .and_then(|t| t.tls.as_ref());
    if let Some(tls) = session {
        family(
            out,
            "probe_tls_version_info",
            "The TLS version negotiated (always 1; blackbox_exporter's name and values).",
        )?;
        let version = tls.protocol.replace("TLSv", "TLS ");
        writeln!(
            out,
            "probe_tls_version_info{{version=\"{}\"}} 1",
            label(&version)
        )?;
    }
    families(report, now, false, out)
}

/// The `pgtls_*` families, with or without the deprecated ones.
fn families(report: &Report, now: i64, deprecated: bool, out: &mut dyn Write) -> io::Result<()> {
    let all_labels = target_labels(report);
    let labels = |i: usize| all_labels[i].as_str();
    for metric in METRICS.iter().filter(|m| deprecated || !m.deprecated) {
        writeln!(out, "# HELP {} {}", metric.name, metric.help)?;
        writeln!(out, "# TYPE {} gauge", metric.name)?;
        for (i, t) in report.targets.iter().enumerate() {
            if let Some(value) = (metric.value)(t, now) {
                writeln!(out, "{}{{{}}} {value}", metric.name, labels(i))?;
            }
        }
    }
    family(
        out,
        "pgtls_certificate_info",
        "Each certificate the server presented (always 1): its position (0 = the server's own), subject, issuer and SHA-256.",
    )?;
    for (i, t) in report.targets.iter().enumerate() {
        for (position, c) in t.certificates.iter().enumerate() {
            writeln!(
                out,
                "pgtls_certificate_info{{{},position=\"{position}\",subject=\"{}\",issuer=\"{}\",sha256=\"{}\"}} 1",
                labels(i),
                label(&c.subject),
                label(&c.issuer),
                c.sha256
            )?;
        }
    }
    family(
        out,
        "pgtls_certificate_not_after_timestamp_seconds",
        "When each certificate the server presented expires, as a Unix timestamp.",
    )?;
    for (i, t) in report.targets.iter().enumerate() {
        for (position, c) in t.certificates.iter().enumerate() {
            writeln!(
                out,
                "pgtls_certificate_not_after_timestamp_seconds{{{},position=\"{position}\",sha256=\"{}\"}} {}",
                labels(i),
                c.sha256,
                c.not_after_unix
            )?;
        }
    }
    audit(report, &all_labels, out)?;
    writeln!(
        out,
        "# HELP pgtls_tls_info The negotiated TLS protocol and cipher (always 1)."
    )?;
    writeln!(out, "# TYPE pgtls_tls_info gauge")?;
    for (i, t) in report.targets.iter().enumerate() {
        if let Some(tls) = t.tls.as_ref().filter(|_| t.encrypted) {
            writeln!(
                out,
                "pgtls_tls_info{{{},protocol=\"{}\",cipher=\"{}\"}} 1",
                labels(i),
                label(&tls.protocol),
                label(&tls.cipher)
            )?;
        }
    }
    // Only when a profile recognised some target: the provider, to group and route alerts by.
    if report.targets.iter().any(|t| t.provider.is_some()) {
        writeln!(
            out,
            "# HELP pgtls_provider_info The provider profile that recognised the target (always 1)."
        )?;
        writeln!(out, "# TYPE pgtls_provider_info gauge")?;
        for (i, t) in report.targets.iter().enumerate() {
            if let Some(provider) = &t.provider {
                writeln!(
                    out,
                    "pgtls_provider_info{{{},profile=\"{}\"}} 1",
                    labels(i),
                    label(&provider.profile)
                )?;
            }
        }
    }
    let verdicts = report
        .targets
        .iter()
        .enumerate()
        .flat_map(|(i, t)| t.clients.iter().map(move |v| (i, v)));
    let verdicts: Vec<_> = verdicts.collect();
    if verdicts.is_empty() {
        return Ok(());
    }
    writeln!(
        out,
        "# HELP pgtls_client_up Whether this client (label driver) connects to the target (1) or not (0), with --client."
    )?;
    writeln!(out, "# TYPE pgtls_client_up gauge")?;
    for (i, v) in &verdicts {
        writeln!(
            out,
            "pgtls_client_up{{{},driver=\"{}\"}} {}",
            labels(*i),
            v.name.name(),
            u8::from(v.connects)
        )?;
    }
    writeln!(
        out,
        "# HELP pgtls_client_verified Whether this client's connection is encrypted with its certificate chain verified."
    )?;
    writeln!(out, "# TYPE pgtls_client_verified gauge")?;
    for (i, v) in &verdicts {
        writeln!(
            out,
            "pgtls_client_verified{{{},driver=\"{}\"}} {}",
            labels(*i),
            v.name.name(),
            u8::from(v.connects && v.encrypted && v.chain_verified)
        )?;
    }
    writeln!(
        out,
        "# HELP pgtls_client_exit_code The exit code of this client's verdict."
    )?;
    writeln!(out, "# TYPE pgtls_client_exit_code gauge")?;
    for (i, v) in &verdicts {
        writeln!(
            out,
            "pgtls_client_exit_code{{{},driver=\"{}\"}} {}",
            labels(*i),
            v.name.name(),
            v.exit_code
        )?;
    }
    Ok(())
}

/// `# HELP` and `# TYPE ... gauge` for a family.
fn family(out: &mut dyn Write, name: &str, help: &str) -> io::Result<()> {
    writeln!(out, "# HELP {name} {help}")?;
    writeln!(out, "# TYPE {name} gauge")
}

/// `--audit`'s results: one series per protocol, suite, legacy family, group and negotiation
/// style tested (1 accepted, 0 refused; untested ones are left out), and plaintext.
fn audit(report: &Report, labels: &[String], out: &mut dyn Write) -> io::Result<()> {
    let labels = |i: usize| labels[i].as_str();
    let audits: Vec<(usize, &crate::report::Audit)> = report
        .targets
        .iter()
        .enumerate()
        .filter_map(|(i, t)| t.audit.as_ref().map(|a| (i, a)))
        .collect();
    if audits.is_empty() {
        return Ok(());
    }
    let bit = |b: bool| u8::from(b);
    family(
        out,
        "pgtls_audit_protocol_accepted",
        "Whether the server accepts this protocol version (--audit).",
    )?;
    for (i, a) in &audits {
        let p = &a.protocols;
        for (name, accepted) in [
            ("TLSv1.3", p.tls13),
            ("TLSv1.2", p.tls12),
            ("TLSv1.1", p.tls11),
            ("TLSv1.0", p.tls10),
            ("SSLv3", p.ssl3),
        ] {
            if let Some(accepted) = accepted {
                writeln!(
                    out,
                    "pgtls_audit_protocol_accepted{{{},protocol=\"{name}\"}} {}",
                    labels(*i),
                    bit(accepted)
                )?;
            }
        }
    }
    family(
        out,
        "pgtls_audit_suite_accepted",
        "Whether the server accepts this cipher suite (--audit; IANA name).",
    )?;
    for (i, a) in &audits {
        for suite in &a.suites {
            if let Some(accepted) = suite.accepted {
                writeln!(
                    out,
                    "pgtls_audit_suite_accepted{{{},suite=\"{}\"}} {}",
                    labels(*i),
                    label(&suite.name),
                    bit(accepted)
                )?;
            }
        }
    }
    family(
        out,
        "pgtls_audit_legacy_suite_accepted",
        "Whether the server accepts a suite of this legacy family (--audit).",
    )?;
    for (i, a) in &audits {
        for legacy in &a.legacy_suites {
            writeln!(
                out,
                "pgtls_audit_legacy_suite_accepted{{{},family=\"{}\"}} {}",
                labels(*i),
                legacy.family,
                bit(legacy.accepted)
            )?;
        }
    }
    family(
        out,
        "pgtls_audit_group_accepted",
        "Whether the server accepts this key exchange group (--audit).",
    )?;
    for (i, a) in &audits {
        for group in &a.groups {
            if let Some(accepted) = group.accepted {
                writeln!(
                    out,
                    "pgtls_audit_group_accepted{{{},group=\"{}\"}} {}",
                    labels(*i),
                    label(&group.name),
                    bit(accepted)
                )?;
            }
        }
    }
    family(
        out,
        "pgtls_audit_plaintext_accepted",
        "Whether the server proceeds with a startup message sent without TLS (--audit).",
    )?;
    for (i, a) in &audits {
        if let Some(plaintext) = a.plaintext {
            writeln!(
                out,
                "pgtls_audit_plaintext_accepted{{{}}} {}",
                labels(*i),
                bit(plaintext)
            )?;
        }
    }
    Ok(())
}
