//! Writers that format plain report data as text or JSON. They never connect, read files or see a
//! rustls type; every string that may come from outside passes through `crate::sanitize` in text.

mod audit;
mod certs;
mod check;
mod explain;
pub(crate) mod exposition;
mod junit;
mod prometheus;

pub use certs::{inspect_text, roots_text};
pub use check::TextStream;
pub use explain::{clients_text, explain_text};
pub use junit::{junit, xml as markup};
pub use prometheus::{probe as prometheus_probe, prometheus};

use std::io::{self, Write};

use serde::Serialize;

/// Names that stay the same when targets are reordered: each target's `base` name, with
/// `position` (the input the target came from, 1-based) added by `with` only to names that two
/// targets share.
fn disambiguate(
    base: Vec<String>,
    targets: &[crate::report::TargetReport],
    with: impl Fn(&str, usize) -> String,
) -> Vec<String> {
    let mut counts: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
    for name in &base {
        *counts.entry(name.as_str()).or_default() += 1;
    }
    base.iter()
        .zip(targets)
        .map(|(name, t)| match counts[name.as_str()] {
            1 => name.clone(),
            _ => with(name, t.conninfo + 1),
        })
        .collect()
}

/// A count with its noun, singular for one: `1 target`, `3 targets`.
pub(crate) fn counted(n: usize, noun: &str) -> String {
    match n {
        1 => format!("1 {noun}"),
        n => format!("{n} {noun}s"),
    }
}

/// Every JSON document: its layout's version, the pgtls that wrote it and when, then the
/// command's own fields.
#[derive(Serialize, schemars::JsonSchema)]
pub struct Document<T> {
    /// The version of the document's layout; raised on any incompatible change.
    pub schema_version: u32,
    /// The version of pgtls that wrote it.
    pub pgtls_version: String,
    /// When it was written (RFC 3339, UTC).
    pub generated_at: String,
    /// The command's own fields.
    #[serde(flatten)]
    pub body: T,
}

/// RFC 3339 (UTC, seconds) for a Unix time.
/// The key exchange group a session negotiated, and whether it cost a HelloRetryRequest.
fn group(tls: &crate::report::TlsSession) -> String {
    format!(
        "{}{}",
        tls.key_exchange_group.as_deref().unwrap_or("unknown"),
        if tls.hello_retry {
            " after a HelloRetryRequest"
        } else {
            ""
        }
    )
}

fn rfc3339(unix: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(unix)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_default()
}

impl<T> Document<T> {
    /// `body` as the document written at `now`.
    pub fn new(body: T, now: i64) -> Self {
        Document {
            schema_version: crate::report::SCHEMA_VERSION,
            pgtls_version: env!("CARGO_PKG_VERSION").to_string(),
            generated_at: rfc3339(now),
            body,
        }
    }
}

/// Writes any report as one pretty-printed JSON document, with the `Document` fields, followed
/// by a newline.
///
/// # Errors
/// Whatever writing to `out` returns.
pub fn json<T: Serialize>(report: &T, now: i64, out: &mut dyn Write) -> io::Result<()> {
    let formatter = Escaping(serde_json::ser::PrettyFormatter::new());
    let mut serializer = serde_json::Serializer::with_formatter(&mut *out, formatter);
    Document::new(report, now).serialize(&mut serializer)?;
    writeln!(out)
}

/// Writes a value as JSON on one line (no newline after it), as [`json`] escapes strings.
///
/// # Errors
/// Whatever writing to `out` returns.
pub fn json_line<T: Serialize>(value: &T, out: &mut dyn Write) -> io::Result<()> {
    let formatter = Escaping(serde_json::ser::CompactFormatter);
    let mut serializer = serde_json::Serializer::with_formatter(&mut *out, formatter);
    value.serialize(&mut serializer).map_err(io::Error::from)
}

/// A JSON formatter that writes, beside the escapes JSON requires, every character a terminal or
/// a viewer would act on as `\uXXXX`: C1 controls (U+009B starts an escape sequence),
/// bidirectional and zero-width characters, U+2028 and U+2029. The document means the same; its
/// bytes are safe to print.
struct Escaping<F>(F);

impl<F: serde_json::ser::Formatter> serde_json::ser::Formatter for Escaping<F> {
    fn write_string_fragment<W: ?Sized + Write>(
        &mut self,
        writer: &mut W,
        fragment: &str,
    ) -> io::Result<()> {
        let mut rest = fragment;
        while let Some(at) = rest.find(crate::sanitize::needs_escape) {
            writer.write_all(&rest.as_bytes()[..at])?;
            let c = rest[at..].chars().next().unwrap_or_default();
            let mut units = [0u16; 2];
            for unit in c.encode_utf16(&mut units) {
                write!(writer, "\\u{unit:04x}")?;
            }
            rest = &rest[at + c.len_utf8()..];
        }
        writer.write_all(rest.as_bytes())
    }

    fn begin_array<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.0.begin_array(w)
    }
    fn end_array<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.0.end_array(w)
    }
    fn begin_array_value<W: ?Sized + Write>(&mut self, w: &mut W, first: bool) -> io::Result<()> {
        self.0.begin_array_value(w, first)
    }
    fn end_array_value<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.0.end_array_value(w)
    }
    fn begin_object<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.0.begin_object(w)
    }
    fn end_object<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.0.end_object(w)
    }
    fn begin_object_key<W: ?Sized + Write>(&mut self, w: &mut W, first: bool) -> io::Result<()> {
        self.0.begin_object_key(w, first)
    }
    fn begin_object_value<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.0.begin_object_value(w)
    }
    fn end_object_value<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.0.end_object_value(w)
    }
}

#[cfg(test)]
mod tests {

    #[test]
    fn a_count_of_one_takes_the_singular() {
        assert_eq!(super::counted(1, "target"), "1 target");
        assert_eq!(super::counted(0, "module"), "0 modules");
        assert_eq!(super::counted(3, "target"), "3 targets");
    }

    use super::*;

    #[test]
    fn json_strings_carry_no_character_a_terminal_acts_on() {
        let text = "a\u{1b}[2J b\u{9b}31m c\u{202e}d e\u{2028}f é ü 😀";
        for pretty in [true, false] {
            let mut out = Vec::new();
            let value = serde_json::json!({ "text": text });
            if pretty {
                json(&value, 0, &mut out).unwrap();
            } else {
                json_line(&value, &mut out).unwrap();
            }
            let written = String::from_utf8(out).unwrap();
            assert!(
                !written
                    .chars()
                    .any(|c| c != '\n' && crate::sanitize::needs_escape(c)),
                "{written:?}"
            );
            for escape in ["\\u001b", "\\u009b", "\\u202e", "\\u2028"] {
                assert!(written.contains(escape), "{escape} in {written:?}");
            }
            assert!(written.contains("é ü 😀"), "{written:?}");
            let back: serde_json::Value = serde_json::from_str(&written).unwrap();
            assert_eq!(back["text"].as_str(), Some(text));
        }
    }
}
