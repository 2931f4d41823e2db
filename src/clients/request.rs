//! One connection string read for the clients asked: as libpq reads it, or, for one driver
//! (asked for, or named by the string's form), as that driver reads it; then the other clients'
//! policies over the same settings, and the libpq string that holds them. No I/O but what
//! resolution reads (the service and password files).

use super::{Client, ClientChoice, DriverError, DriverString, Policy};
use crate::config::{ConfigError, Environment, Resolved};

/// The other clients asked for on one connection string: their policies (roots not loaded
/// yet) and the libpq string with the same settings.
#[derive(Debug, Clone)]
pub struct ClientRequest {
    /// `--client`, or the client the string's form named.
    pub choice: ClientChoice,
    /// The policies of the clients other than libpq.
    pub policies: Vec<Policy>,
    /// The libpq string with the same settings, for a driver's string.
    pub libpq_equivalent: Option<String>,
}

/// A connection string its reader refuses, with that reader's message.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// libpq refuses it (or the libpq string of a driver's settings).
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The driver that reads it refuses it.
    #[error(transparent)]
    Driver(#[from] DriverError),
}

impl ReadError {
    /// Advice for a common mistake: libpq's, as `check` gives it for an argument; a driver's
    /// refusal carries its own message alone.
    pub fn hint(&self) -> Option<String> {
        match self {
            ReadError::Config(e) => crate::config::suggest::hint(e),
            ReadError::Driver(_) => None,
        }
    }
}

/// Reads one connection string for the clients asked.
///
/// # Errors
/// The string refused, with the message of the client that reads it.
pub fn read_string(
    conninfo: &str,
    env: &Environment,
    asked: Option<ClientChoice>,
) -> Result<(Resolved, Option<ClientRequest>), ReadError> {
    let detected = Client::detect(conninfo);
    let choice = asked.unwrap_or(ClientChoice::one(detected));
    let syntax = choice.client().unwrap_or(detected);
    let others: Vec<Client> = match choice.client() {
        Some(Client::Libpq) => Vec::new(),
        Some(client) => vec![client],
        None => Client::ALL[1..].to_vec(),
    };
    let request = |driver: &DriverString, libpq_equivalent| ClientRequest {
        choice,
        policies: others
            .iter()
            .map(|c| super::policy(*c, driver, env))
            .collect(),
        libpq_equivalent,
    };
    if syntax == Client::Libpq {
        let resolved = crate::config::resolve_to_connect(conninfo, env)?;
        if others.is_empty() {
            return Ok((resolved, None));
        }
        let request = request(&super::from_libpq(&resolved), None);
        return Ok((resolved, Some(request)));
    }
    let driver = super::parse(syntax, conninfo, env)?;
    let equivalent = super::libpq_equivalent(&driver);
    let with_password = match &driver.password {
        Some(p) => format!(
            "{equivalent} password={}",
            crate::conninfo::quote(p.expose())
        ),
        None => equivalent.clone(),
    };
    let resolved = crate::config::resolve_to_connect(&with_password, env)?;
    Ok((resolved, Some(request(&driver, Some(equivalent)))))
}
