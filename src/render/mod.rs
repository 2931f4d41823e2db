//! Writers that format plain report data as text or JSON. They never connect, read files or see a
//! rustls type; every string that may come from outside passes through `crate::sanitize` in text.

mod audit;
mod certs;
mod check;
mod explain;
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
    serde_json::to_writer_pretty(&mut *out, &Document::new(report, now))?;
    writeln!(out)
}
