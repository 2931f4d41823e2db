//! `pgtls explain`: what libpq makes of a connection string, and where each value came from.

use std::io::Write;

use crate::cli::{ExplainArgs, Format};
use crate::config::{self, Environment};
use crate::error::Error;
use crate::exit::Code;
use crate::{conninfo, explain as explanation, render};

/// `pgtls explain`.
///
/// # Errors
/// A connection string libpq refuses, or output that cannot be written.
pub fn explain(args: &ExplainArgs, env: &Environment, out: &mut dyn Write) -> Result<Code, Error> {
    let report = if args.parse_only {
        explanation::parsed(&conninfo::parse(&args.conninfo).map_err(config::ConfigError::from)?)
    } else {
        explanation::explain(&config::resolve(&args.conninfo, env)?)
    };
    let written = match args.format {
        Format::Text => render::explain_text(&report, out),
        Format::Json => render::json(&report, out),
    };
    crate::error::after_output(
        Code::Ok,
        written.and_then(|()| out.flush()).map_err(Error::from),
    )
}
