//! `pgtls explain`: what libpq makes of a connection string, and where each value came from.

use std::io::Write;

use crate::cli::{ExplainArgs, Format};
use crate::clients::{self, Client, ClientChoice};
use crate::config::{self, Environment};
use crate::error::Error;
use crate::exit::Code;
use crate::{conninfo, explain as explanation, render};

/// `pgtls explain`.
///
/// # Errors
/// A connection string libpq refuses, or output that cannot be written.
pub fn explain(
    args: &ExplainArgs,
    env: &Environment,
    clock: crate::clock::Clock,
    out: &mut dyn Write,
) -> Result<Code, Error> {
    let detected = Client::detect(&args.conninfo);
    if args.parse_only && detected != Client::Libpq {
        return Err(clients::DriverError {
            client: detected.name(),
            message: "--parse-only reads libpq strings, and this is this driver's: run pgtls explain without --parse-only".into(),
        }
        .into());
    }
    if !args.parse_only && (args.client.is_some() || detected != Client::Libpq) {
        let report = for_clients(args, env, detected)?;
        let written = match args.format {
            Format::Text => render::clients_text(&report, out),
            Format::Json => render::json(&report, clock.unix(), out),
        };
        return crate::error::after_output(
            Code::Ok,
            written.and_then(|()| out.flush()).map_err(Error::from),
        );
    }
    let report = if args.parse_only {
        explanation::parsed(&conninfo::parse(&args.conninfo).map_err(config::ConfigError::from)?)
    } else {
        explanation::explain(&config::resolve(&args.conninfo, env)?)
    };
    let written = match args.format {
        Format::Text => render::explain_text(&report, out),
        Format::Json => render::json(&report, clock.unix(), out),
    };
    crate::error::after_output(
        Code::Ok,
        written.and_then(|()| out.flush()).map_err(Error::from),
    )
}

/// `explain --client`: the string read by its own client, and each asked client's plan.
fn for_clients(
    args: &ExplainArgs,
    env: &Environment,
    detected: Client,
) -> Result<explanation::ClientsExplanation, Error> {
    let choice = args.client.unwrap_or(ClientChoice::one(detected));
    let syntax = choice.client().unwrap_or(detected);
    let asked: Vec<Client> = match choice.client() {
        Some(client) => vec![client],
        None => Client::ALL.to_vec(),
    };
    let (driver, resolved, equivalent) = if syntax == Client::Libpq {
        // As check reads it: a URI whose password libpq would split is refused.
        let resolved = config::resolve_to_connect(&args.conninfo, env)?;
        (clients::from_libpq(&resolved), resolved, None)
    } else {
        let driver = clients::parse(syntax, &args.conninfo, env)?;
        let equivalent = clients::libpq_equivalent(&driver);
        let resolved = config::resolve(&equivalent, env)?;
        (driver, resolved, Some(equivalent))
    };
    let plans = asked
        .iter()
        .map(|client| match client {
            Client::Libpq => {
                let root_file_exists = matches!(
                    &resolved.options.root_cert,
                    config::RootCert::File { path, .. } if path.exists()
                );
                explanation::libpq_plan(&resolved, root_file_exists)
            }
            other => clients::policy(*other, &driver, env).plan(),
        })
        .collect();
    Ok(explanation::ClientsExplanation {
        client: choice,
        read_as: syntax,
        hosts: driver.hosts.clone(),
        user: driver.user.clone(),
        dbname: driver.dbname.clone(),
        libpq_equivalent: equivalent,
        clients: plans,
    })
}
