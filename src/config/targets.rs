//! Host, hostaddr and port lists paired into one target per host, as libpq's `pqConnectOptions2`
//! and the host loop of `PQconnectPoll` do; and each target's password.

use std::path::PathBuf;

use serde::Serialize;

use super::passfile::{self, DEFAULT_SOCKET_DIR, Lookup};
use super::{ConfigError, Secret, Settings, Source};

/// How a target is reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum HostKind {
    /// A host name, looked up in DNS.
    Name,
    /// A numeric address from `hostaddr`.
    Address,
    /// A Unix-domain socket directory (a path, or `@` for the abstract namespace): never TLS.
    UnixSocket,
}

/// Where a target's password comes from. The password itself is in [`Password::secret`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(tag = "source", rename_all = "lowercase")]
pub enum PasswordSource {
    /// `password=` in the connection string.
    Conninfo,
    /// A service file.
    Service,
    /// `PGPASSWORD`.
    Env,
    /// A line of the password file.
    Passfile {
        path: PathBuf,
        /// The 1-based line.
        line: usize,
    },
}

/// A target's password and its origin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Password {
    /// The password.
    pub secret: Secret,
    /// Where it came from.
    pub source: PasswordSource,
}

/// One host of the connection string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// The name used for certificate verification, SNI and the passfile; empty when only
    /// `hostaddr` was given.
    pub host: String,
    /// The address to connect to instead of resolving `host`.
    pub hostaddr: Option<String>,
    /// The port as written; empty means 5432.
    pub port_text: String,
    /// The port number.
    pub port: u16,
    /// How the target is reached.
    pub kind: HostKind,
    /// The password libpq would send, if any.
    pub password: Option<Password>,
    /// Whether neither host nor hostaddr was given anywhere, so that libpq uses its default
    /// socket directory.
    pub no_host: bool,
}

/// The default port.
pub const DEFAULT_PORT: u16 = 5432;

fn count(list: &str) -> usize {
    list.split(',').count()
}

/// libpq's `is_unixsock_path`: an absolute path, or `@` for Linux's abstract namespace.
fn is_unix_socket(host: &str) -> bool {
    host.starts_with('/') || host.starts_with('@')
}

/// Splits the host, hostaddr and port lists into targets.
///
/// # Errors
/// `could not match N host names to M hostaddr values` and
/// `could not match N port numbers to M hosts`.
pub fn split(settings: &Settings) -> Result<Vec<Target>, ConfigError> {
    let hostaddr = settings.nonempty("hostaddr");
    let host = settings.nonempty("host");
    let n = hostaddr.or(host).map_or(1, count);
    let addrs: Vec<&str> = hostaddr.map_or_else(|| vec![""; n], |a| a.split(',').collect());
    let hosts: Vec<&str> = match host {
        Some(h) if count(h) != n => {
            return Err(ConfigError::HostCount {
                hosts: count(h),
                addrs: n,
            });
        }
        Some(h) => h.split(',').collect(),
        None => vec![""; n],
    };
    let ports: Vec<&str> = match settings.nonempty("port") {
        None => vec![""; n],
        Some(p) if count(p) == 1 => vec![p; n],
        Some(p) if count(p) == n => p.split(',').collect(),
        Some(p) => {
            return Err(ConfigError::PortCount {
                ports: count(p),
                hosts: n,
            });
        }
    };
    Ok((0..n)
        .map(|i| {
            let no_host = addrs[i].is_empty() && hosts[i].is_empty();
            let (kind, host) = if !addrs[i].is_empty() {
                (HostKind::Address, hosts[i])
            } else if is_unix_socket(hosts[i]) {
                (HostKind::UnixSocket, hosts[i])
            } else if !hosts[i].is_empty() {
                (HostKind::Name, hosts[i])
            } else {
                (HostKind::UnixSocket, DEFAULT_SOCKET_DIR)
            };
            Target {
                host: host.to_string(),
                hostaddr: Some(addrs[i].to_string()).filter(|a| !a.is_empty()),
                port_text: ports[i].to_string(),
                port: DEFAULT_PORT,
                kind,
                password: None,
                no_host,
            }
        })
        .collect())
}

/// What libpq checks when it comes to each host: a numeric `hostaddr` and a port in range.
///
/// # Errors
/// `invalid integer value`, `invalid port number` and `could not parse network address`.
pub fn check(targets: &mut [Target]) -> Result<(), ConfigError> {
    for target in targets {
        if !target.port_text.is_empty() {
            let port = super::validate::parse_int(&target.port_text, "port")?;
            target.port = u16::try_from(port)
                .ok()
                .filter(|&p| p != 0)
                .ok_or_else(|| ConfigError::InvalidPort(target.port_text.clone()))?;
        }
        if let Some(addr) = &target.hostaddr
            && crate::net::numeric_host(addr).is_none()
        {
            return Err(ConfigError::InvalidHostaddr(addr.clone()));
        }
    }
    Ok(())
}

/// Gives each target the password libpq would use: `password` when set, else the passfile's.
/// Warnings about an ignored passfile are pushed once.
pub fn attach_passwords(targets: &mut [Target], settings: &Settings, warnings: &mut Vec<String>) {
    if let Some(setting) = settings.get("password").filter(|s| !s.value.is_empty()) {
        let source = match setting.source {
            Source::Service => PasswordSource::Service,
            Source::Env => PasswordSource::Env,
            Source::Conninfo | Source::Default => PasswordSource::Conninfo,
        };
        for target in targets {
            target.password = Some(Password {
                secret: Secret::new(setting.value.clone()),
                source: source.clone(),
            });
        }
        return;
    }
    let Some(path) = settings.nonempty("passfile").map(PathBuf::from) else {
        return;
    };
    for target in targets {
        let host = match (&target.host, &target.hostaddr) {
            (h, Some(addr)) if h.is_empty() => addr.as_str(),
            (h, _) => h.as_str(),
        };
        let key = passfile::Key {
            host,
            port: &target.port_text,
            dbname: settings.value("dbname").unwrap_or(""),
            user: settings.value("user").unwrap_or(""),
        };
        match passfile::lookup(&path, key) {
            Lookup::Found { line, password } => {
                target.password = Some(Password {
                    secret: password,
                    source: PasswordSource::Passfile {
                        path: path.clone(),
                        line,
                    },
                });
            }
            Lookup::Ignored(warning) if !warnings.contains(&warning) => warnings.push(warning),
            Lookup::Ignored(_) | Lookup::NoMatch | Lookup::Missing => {}
        }
    }
}
