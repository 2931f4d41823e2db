//! Parameters, environment, service file, passfile and defaults to resolved targets, following
//! libpq's `conninfo_add_defaults` and `pqConnectOptions2` step by step and in libpq's order, so
//! that the first error reported is the one libpq reports. No network.

mod environment;
mod error;
mod modes;
pub mod passfile;
mod require_auth;
pub mod service;
mod settings;
pub(crate) mod suggest;
mod targets;
mod validate;

use std::path::PathBuf;

pub use environment::Environment;
pub use error::ConfigError;
pub use modes::{
    ChannelBinding, GssEncMode, LoadBalanceHosts, SslCertMode, SslMode, SslNegotiation, TlsVersion,
    Transport,
};
pub use require_auth::{AuthRequest, RequireAuth, SaslMechanism};
pub use settings::{Secret, Settings, Source};
pub use targets::{HostKind, PasswordSource, Target};
pub use validate::{OAuthSettings, Options, ProtocolRange, RootCert};

use crate::conninfo;

/// A connection string resolved as libpq resolves it before connecting.
#[derive(Debug, Clone)]
pub struct Resolved {
    /// Every parameter that has a value, with where it came from.
    pub settings: Settings,
    /// The service file that supplied settings, if any.
    pub service_file: Option<PathBuf>,
    /// The validated, typed options.
    pub options: Options,
    /// One target per host, in order.
    pub targets: Vec<Target>,
    /// Warnings libpq would print (an ignored passfile, say).
    pub warnings: Vec<String>,
    /// Pieces of a URI password that the parse moved into other parameters (shown redacted).
    pub password_fragments: Vec<String>,
}

/// Resolves a connection string against an environment.
///
/// # Errors
/// Whatever libpq would refuse with the same string and environment, with libpq's message.
pub fn resolve(conninfo: &str, env: &Environment) -> Result<Resolved, ConfigError> {
    let params = conninfo::parse(conninfo)?;
    let fragments = params.password_fragments().to_vec();
    resolve_params(&params, env).map_err(|e| match fragments.is_empty() {
        true => e,
        false => ConfigError::Redacted(conninfo::redact_fragments(&e.to_string(), &fragments)),
    })
}

/// Resolves a connection string that is about to be used to connect: as [`resolve`], but a URI
/// whose password holds an unencoded `@` or `/` is refused rather than sent in pieces.
///
/// # Errors
/// As [`resolve`], and [`ConfigError::UnencodedPassword`].
pub fn resolve_to_connect(conninfo: &str, env: &Environment) -> Result<Resolved, ConfigError> {
    let resolved = resolve(conninfo, env)?;
    if !resolved.password_fragments.is_empty() {
        return Err(ConfigError::UnencodedPassword);
    }
    Ok(resolved)
}

fn resolve_params(params: &conninfo::Params, env: &Environment) -> Result<Resolved, ConfigError> {
    let mut settings = Settings::from_params(params);
    let service_file = apply_service(&mut settings, env)?;
    settings.apply_env_and_defaults(env);
    let mut targets = targets::split(&settings)?;
    validate::user_and_database(&mut settings, env)?;
    let mut options = validate::options(&settings, env)?;
    if settings.get("sslcertmode").is_none() {
        settings.set("sslcertmode", options.sslcertmode.as_str(), Source::Default);
    }
    targets::check(&mut targets)?;
    options.connect_timeout = validate::connection_integers(&settings, &targets)?;
    let mut warnings = Vec::new();
    targets::attach_passwords(&mut targets, &settings, &mut warnings);
    Ok(Resolved {
        settings,
        service_file,
        options,
        targets,
        warnings,
        password_fragments: params.password_fragments().to_vec(),
    })
}

/// Reads the service named by `service` or `PGSERVICE` into the unset parameters.
fn apply_service(
    settings: &mut Settings,
    env: &Environment,
) -> Result<Option<PathBuf>, ConfigError> {
    let name = match settings.value("service") {
        Some(name) => name.to_string(),
        None => match env.var("PGSERVICE") {
            Some(name) => name.to_string(),
            None => return Ok(None),
        },
    };
    let found = service::lookup(&name, env)?;
    for (index, value) in found.settings {
        settings.fill(index, value, Source::Service);
    }
    Ok(Some(found.file))
}

#[cfg(test)]
mod tests;
