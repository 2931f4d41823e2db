//! `check --format junit`: one test case per target, failures with their message, for CI systems
//! that read JUnit XML.

use std::io::{self, Write};

use crate::report::Report;

/// Text made safe for XML: markup escaped, characters XML cannot hold replaced.
fn xml(text: &str) -> String {
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

/// Writes the report as JUnit XML.
///
/// # Errors
/// Whatever writing to `out` returns.
pub fn junit(report: &Report, out: &mut dyn Write) -> io::Result<()> {
    let tests = report.targets.len();
    let failures = report
        .targets
        .iter()
        .filter(|t| t.exit_code != crate::exit::Code::Ok)
        .count();
    let seconds = |t: &crate::report::TargetReport| {
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
        r#"<testsuites name="pgtls" tests="{tests}" failures="{failures}" errors="0" time="{total:.3}">"#
    )?;
    writeln!(
        out,
        r#"  <testsuite name="pgtls check" tests="{tests}" failures="{failures}" errors="0" skipped="0" time="{total:.3}">"#
    )?;
    for (i, t) in report.targets.iter().enumerate() {
        let name = if t.port == 0 {
            format!("{} (invalid connection string)", i + 1)
        } else {
            format!("{} {}:{} sslmode={}", i + 1, t.host, t.port, t.sslmode)
        };
        let time = seconds(t);
        if t.exit_code == crate::exit::Code::Ok {
            writeln!(
                out,
                r#"    <testcase classname="pgtls.check" name="{}" time="{time:.3}"/>"#,
                xml(&name)
            )?;
            continue;
        }
        writeln!(
            out,
            r#"    <testcase classname="pgtls.check" name="{}" time="{time:.3}">"#,
            xml(&name)
        )?;
        let details: Vec<String> = t
            .findings
            .iter()
            .map(|f| match &f.hint {
                Some(hint) => format!("{}\nhint: {hint}", f.message),
                None => f.message.clone(),
            })
            .collect();
        writeln!(
            out,
            r#"      <failure message="{}" type="exit {}">{}</failure>"#,
            xml(&t.summary),
            t.exit_code,
            xml(&details.join("\n"))
        )?;
        writeln!(out, "    </testcase>")?;
    }
    writeln!(out, "  </testsuite>")?;
    writeln!(out, "</testsuites>")
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
