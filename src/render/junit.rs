//! `check --format junit`: one test case per target, failures with their message, for CI systems
//! that read JUnit XML.

use std::io::{self, Write};

use crate::exit::Code;
use crate::report::{Report, TargetReport};

/// Text made safe for XML and HTML: markup escaped, characters XML cannot hold replaced.
pub fn xml(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if (c as u32) < 0x20 || c == '\u{fffe}' || c == '\u{ffff}' => out.push('\u{fffd}'),
            c => out.push(c),
        }
    }
    out
}

/// Whether a target's code is an error of the check itself (a configuration that could not be
/// used, a bug) rather than a verdict on the server: JUnit's `<error>` rather than `<failure>`.
fn is_error(code: Code) -> bool {
    matches!(code, Code::Usage | Code::Internal)
}

/// Test case names that stay the same when targets are reordered: host, port and sslmode; the
/// input position is added only to names that two targets share.
fn names(report: &Report) -> Vec<String> {
    let base: Vec<String> = report
        .targets
        .iter()
        .map(|t| match (t.port, t.client) {
            (None, _) => "invalid connection string".to_string(),
            (Some(port), crate::report::ClientChoice::One(crate::clients::Client::Libpq)) => {
                format!("{}:{port} sslmode={}", t.host, t.sslmode)
            }
            (Some(port), client) => format!(
                "{}:{port} sslmode={}{} client={}",
                t.host,
                t.sslmode,
                match &t.driver_sslmode {
                    Some(own) if *own != t.sslmode.as_str() => format!(" ({own})"),
                    _ => String::new(),
                },
                client.name()
            ),
        })
        .collect();
    super::disambiguate(base, &report.targets, |name, input| {
        format!("{name} (input {input})")
    })
}

/// Writes the report as JUnit XML.
///
/// # Errors
/// Whatever writing to `out` returns.
pub fn junit(report: &Report, out: &mut dyn Write) -> io::Result<()> {
    let tests = report.targets.len();
    let errors = report
        .targets
        .iter()
        .filter(|t| is_error(t.exit_code))
        .count();
    let failures = report
        .targets
        .iter()
        .filter(|t| t.exit_code != Code::Ok && !is_error(t.exit_code))
        .count();
    let seconds = |t: &TargetReport| {
        t.attempts
            .iter()
            .fold(0.0, |sum, a| sum + a.timings.total_ms)
            / 1000.0
    };
    let total: f64 = report
        .targets
        .iter()
        .map(seconds)
        .fold(0.0, |sum, s| sum + s);
    writeln!(out, r#"<?xml version="1.0" encoding="UTF-8"?>"#)?;
    writeln!(
        out,
        r#"<testsuites name="pgtls" tests="{tests}" failures="{failures}" errors="{errors}" time="{total:.3}">"#
    )?;
    writeln!(
        out,
        r#"  <testsuite name="pgtls check" tests="{tests}" failures="{failures}" errors="{errors}" skipped="0" time="{total:.3}">"#
    )?;
    for (t, name) in report.targets.iter().zip(names(report)) {
        write_case(t, &name, seconds(t), out)?;
    }
    writeln!(out, "  </testsuite>")?;
    writeln!(out, "</testsuites>")
}

/// What the handshake negotiated, for the test case's output: protocol, cipher and key exchange
/// group, and the presented certificate that expires first.
fn negotiated(t: &TargetReport) -> Option<String> {
    let tls = t.tls.as_ref().filter(|_| t.encrypted)?;
    let expiry = t.earliest_expiry.as_ref().map_or(String::new(), |e| {
        format!(
            "; first to expire: {} \"{}\" on {}",
            e.position,
            e.subject,
            crate::certinfo::day(&e.not_after)
        )
    });
    Some(format!(
        "{} {}, group {}{expiry}",
        tls.protocol,
        tls.cipher,
        super::group(tls)
    ))
}

fn write_case(t: &TargetReport, name: &str, time: f64, out: &mut dyn Write) -> io::Result<()> {
    let tls = negotiated(t);
    if t.exit_code == Code::Ok && tls.is_none() {
        return writeln!(
            out,
            r#"    <testcase classname="pgtls.check" name="{}" time="{time:.3}"/>"#,
            xml(name)
        );
    }
    writeln!(
        out,
        r#"    <testcase classname="pgtls.check" name="{}" time="{time:.3}">"#,
        xml(name)
    )?;
    if let Some(tls) = tls {
        writeln!(out, "      <system-out>{}</system-out>", xml(&tls))?;
    }
    if t.exit_code == Code::Ok {
        return writeln!(out, "    </testcase>");
    }
    let details: Vec<String> = t
        .findings
        .iter()
        .map(|f| match &f.hint {
            Some(hint) => format!("{}\nhint: {hint}", f.message),
            None => f.message.clone(),
        })
        .collect();
    let element = if is_error(t.exit_code) {
        "error"
    } else {
        "failure"
    };
    writeln!(
        out,
        r#"      <{element} message="{}" type="exit {}">{}</{element}>"#,
        xml(&t.summary),
        t.exit_code,
        xml(&details.join("\n"))
    )?;
    writeln!(out, "    </testcase>")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xml_text_is_escaped_and_control_characters_replaced() {
        assert_eq!(xml("a<b & \"c\""), "a&lt;b &amp; &quot;c&quot;");
        assert_eq!(xml("esc\u{1b}[0m"), "esc\u{fffd}[0m");
    }
}
