//! pgtls: checks TLS connections to PostgreSQL the way libpq makes them.

#![forbid(unsafe_code)]

mod cli;
mod config;
mod conninfo;
mod exit;
mod explain;
mod net;
mod render;

use std::io::Write;
use std::process::ExitCode;

use clap::Parser;

use cli::{Cli, Command, Format};
use exit::{Code, Error};

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code.into(),
        Err(err) if err.is_broken_pipe() => Code::Ok.into(),
        Err(err) => {
            eprintln!(
                "pgtls: error: {}",
                render::sanitize::clean(&err.to_string())
            );
            err.code().into()
        }
    }
}

fn run(cli: Cli) -> Result<Code, Error> {
    let env = config::Environment::from_process();
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    match cli.command {
        Command::Explain(args) => {
            let report = if args.parse_only {
                explain::parsed(
                    &conninfo::parse(&args.conninfo).map_err(config::ConfigError::from)?,
                )
            } else {
                explain::explain(&config::resolve(&args.conninfo, &env)?)
            };
            match args.format {
                Format::Text => render::explain_text(&report, &mut out)?,
                Format::Json => render::json(&report, &mut out)?,
            }
        }
    }
    out.flush()?;
    Ok(Code::Ok)
}
