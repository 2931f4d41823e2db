//! `check --format prometheus`: the text exposition format, for node_exporter's textfile
//! collector. Labels name the target (host, port, the string's position); never a secret.

use std::io::{self, Write};

use crate::report::{Report, TargetReport};

/// A label value escaped as the exposition format requires.
fn label(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

fn labels(t: &TargetReport, index: usize) -> String {
    if t.port == 0 {
        return format!(
            "index=\"{index}\",target=\"(invalid)\",port=\"0\",sslmode=\"\",client=\"{}\"",
            t.client.name()
        );
    }
    format!(
        "index=\"{index}\",target=\"{}\",port=\"{}\",sslmode=\"{}\",client=\"{}\"",
        label(if t.host.is_empty() {
            t.hostaddr.as_deref().unwrap_or("")
        } else {
            &t.host
        }),
        t.port,
        t.sslmode,
        t.client.name()
    )
}

struct Metric {
    name: &'static str,
    help: &'static str,
    value: fn(&TargetReport, i64) -> Option<String>,
}

const METRICS: &[Metric] = &[
    Metric {
        name: "pgtls_up",
        help: "Whether a libpq client with this connection string connects to the target (1) or not (0).",
        value: |t, _| Some(u8::from(t.libpq_connects).to_string()),
    },
    Metric {
        name: "pgtls_exit_code",
        help: "The target's pgtls exit code (0 when it connects as its sslmode requires).",
        value: |t, _| Some(t.exit_code.to_string()),
    },
    Metric {
        name: "pgtls_encrypted",
        help: "Whether the connection a libpq client makes is encrypted.",
        value: |t, _| Some(u8::from(t.encrypted).to_string()),
    },
    Metric {
        name: "pgtls_leaf_expiry_seconds",
        help: "Seconds until the server certificate expires (negative once expired).",
        value: |t, now| {
            t.certificates
                .first()
                .map(|c| (c.not_after_unix - now).to_string())
        },
    },
    Metric {
        name: "pgtls_leaf_expiry_days",
        help: "Whole days until the server certificate expires.",
        value: |t, _| t.certificates.first().map(|c| c.days_left.to_string()),
    },
    Metric {
        name: "pgtls_chain_expiry_seconds",
        help: "Seconds until the earliest-expiring certificate the server presented expires.",
        value: |t, now| {
            t.certificates
                .iter()
                .map(|c| c.not_after_unix - now)
                .min()
                .map(|s| s.to_string())
        },
    },
    Metric {
        name: "pgtls_chain_expiry_days",
        help: "Whole days until the earliest-expiring certificate the server presented expires.",
        value: |t, _| {
            t.certificates
                .iter()
                .map(|c| c.days_left)
                .min()
                .map(|d| d.to_string())
        },
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
    },
];

/// Writes the report as Prometheus metrics.
///
/// # Errors
/// Whatever writing to `out` returns.
pub fn prometheus(report: &Report, now: i64, out: &mut dyn Write) -> io::Result<()> {
    for metric in METRICS {
        writeln!(out, "# HELP {} {}", metric.name, metric.help)?;
        writeln!(out, "# TYPE {} gauge", metric.name)?;
        for (i, t) in report.targets.iter().enumerate() {
            if let Some(value) = (metric.value)(t, now) {
                writeln!(out, "{}{{{}}} {value}", metric.name, labels(t, i))?;
            }
        }
    }
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
                labels(t, i),
                label(&tls.protocol),
                label(&tls.cipher)
            )?;
        }
    }
    let verdicts = report
        .targets
        .iter()
        .enumerate()
        .flat_map(|(i, t)| t.clients.iter().map(move |v| (i, t, v)));
    let verdicts: Vec<_> = verdicts.collect();
    if verdicts.is_empty() {
        return Ok(());
    }
    writeln!(
        out,
        "# HELP pgtls_client_up Whether this client (label driver) connects to the target (1) or not (0), with --client."
    )?;
    writeln!(out, "# TYPE pgtls_client_up gauge")?;
    for (i, t, v) in &verdicts {
        writeln!(
            out,
            "pgtls_client_up{{{},driver=\"{}\"}} {}",
            labels(t, *i),
            v.name.name(),
            u8::from(v.connects)
        )?;
    }
    writeln!(
        out,
        "# HELP pgtls_client_verified Whether this client's connection is encrypted with its certificate chain verified."
    )?;
    writeln!(out, "# TYPE pgtls_client_verified gauge")?;
    for (i, t, v) in &verdicts {
        writeln!(
            out,
            "pgtls_client_verified{{{},driver=\"{}\"}} {}",
            labels(t, *i),
            v.name.name(),
            u8::from(v.connects && v.encrypted && v.chain_verified)
        )?;
    }
    writeln!(
        out,
        "# HELP pgtls_client_exit_code The exit code of this client's verdict."
    )?;
    writeln!(out, "# TYPE pgtls_client_exit_code gauge")?;
    for (i, t, v) in &verdicts {
        writeln!(
            out,
            "pgtls_client_exit_code{{{},driver=\"{}\"}} {}",
            labels(t, *i),
            v.name.name(),
            v.exit_code
        )?;
    }
    Ok(())
}
