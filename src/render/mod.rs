//! Writers that format plain report data as text or JSON. They never connect, read files or see a
//! rustls type; every string that may come from outside passes through `crate::sanitize` in text.

mod audit;
mod certs;
mod check;
mod explain;
mod junit;
mod prometheus;

pub use certs::{inspect_text, roots_text};
pub use check::check_text;
pub use explain::{clients_text, explain_text};
pub use junit::junit;
pub use prometheus::prometheus;

use std::io::{self, Write};

use serde::Serialize;

/// Writes any report as one pretty-printed JSON document followed by a newline.
///
/// # Errors
/// Whatever writing to `out` returns.
pub fn json<T: Serialize>(report: &T, out: &mut dyn Write) -> io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, report)?;
    writeln!(out)
}
