//! pgtls: checks TLS connections to PostgreSQL the way libpq makes them.

#![forbid(unsafe_code)]

use std::io::Write;
use std::process::ExitCode;

use clap::Parser;

use pgtls::cli::{Cli, Command};
use pgtls::exit::{Code, Error};
use pgtls::{commands, config, exit};

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code.into(),
        Err(err) if err.is_broken_pipe() => Code::Ok.into(),
        Err(err) => {
            exit::print_error(&err);
            err.code().into()
        }
    }
}

fn run(cli: Cli) -> Result<Code, Error> {
    let env = config::Environment::from_process();
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let code = match cli.command {
        Command::Check(args) => commands::check(&args, &env, &mut out)?,
        Command::Explain(args) => commands::explain(&args, &env, &mut out)?,
        Command::Roots(args) => commands::roots(&args, &mut out)?,
        Command::Inspect(args) => commands::inspect(&args, &mut out)?,
        Command::Completions(args) => commands::completions(args.shell, &mut out)?,
        Command::Man => commands::man(&mut out)?,
    };
    exit::after_output(code, out.flush().map_err(Error::from))
}
