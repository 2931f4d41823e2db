//! pgtls: checks TLS connections to PostgreSQL the way libpq makes them.

#![forbid(unsafe_code)]

use std::io::Write;
use std::process::ExitCode;

use clap::Parser;

use pgtls::cli::{Cli, Command, Format};
use pgtls::exit::{Code, Error};
use pgtls::{commands, config, conninfo, explain, render};

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code.into(),
        Err(err) if err.is_broken_pipe() => Code::Ok.into(),
        Err(err) => {
            pgtls::exit::print_error(&err);
            err.code().into()
        }
    }
}

fn run(cli: Cli) -> Result<Code, Error> {
    let env = config::Environment::from_process();
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    match cli.command {
        Command::Check(args) => {
            return commands::check(&args, &env, &mut out).and_then(|c| flush(&mut out, c));
        }
        Command::Completions(args) => {
            return commands::completions(args.shell, &mut out).and_then(|c| flush(&mut out, c));
        }
        Command::Man => return commands::man(&mut out).and_then(|c| flush(&mut out, c)),
        Command::Roots(args) => {
            return commands::roots(&args, &mut out).and_then(|c| flush(&mut out, c));
        }
        Command::Inspect(args) => {
            return commands::inspect(&args, &mut out).and_then(|c| flush(&mut out, c));
        }
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

fn flush(out: &mut dyn Write, code: Code) -> Result<Code, Error> {
    pgtls::exit::after_output(code, out.flush().map_err(Error::from))
}
