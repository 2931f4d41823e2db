//! pgtls: checks TLS connections to PostgreSQL the way libpq makes them.

#![forbid(unsafe_code)]

use std::io::Write;
use std::process::ExitCode;

use clap::Parser;

use pgtls::cli::{Cli, Command};
use pgtls::clock::Clock;
use pgtls::error::{self, Error};
use pgtls::exit::Code;
use pgtls::{commands, config};

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code.into(),
        Err(err) if err.is_broken_pipe() => Code::Ok.into(),
        Err(err) => {
            error::print_error(&err);
            err.code().into()
        }
    }
}

fn run(cli: Cli) -> Result<Code, Error> {
    let env = config::Environment::from_process();
    let clock = Clock::system();
    // Buffered: a report is written in a few large writes, not one per line. Streams (text and
    // jsonl fleets) flush after each target.
    let mut out = std::io::BufWriter::with_capacity(64 * 1024, std::io::stdout().lock());
    let code = match cli.command {
        Command::Check(args) => commands::check(&args, &env, clock, &mut out)?,
        Command::Explain(args) => commands::explain(&args, &env, clock, &mut out)?,
        Command::Schema(args) => commands::schema(args.document, &mut out)?,
        Command::Roots(args) => commands::roots(&args, &env, clock, &mut out)?,
        Command::Inspect(args) => commands::inspect(&args, &env, clock, &mut out)?,
        Command::Completions(args) => commands::completions(args.shell, &mut out)?,
        Command::Serve(args) => commands::serve(args, &env)?,
        Command::Man => commands::man(&mut out)?,
    };
    error::after_output(code, out.flush().map_err(Error::from))
}
