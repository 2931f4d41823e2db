//! tokio-postgres 0.7.18 (`Config::from_str`, `connect_tls`) with postgres-openssl 0.5's
//! `MakeTlsConnector` over `SslConnector::builder(SslMethod::tls())`, as their documentation
//! shows (postgres-native-tls's `TlsConnector::new()` is the same on Linux: OpenSSL with the
//! system's roots).
//!
//! Where tokio-postgres differs from libpq: sslmode is disable, prefer or require, nothing else;
//! verification is the connector's, so every TLS connection checks the chain against OpenSSL's
//! default store (`SSL_CERT_FILE`, `SSL_CERT_DIR`) and the host name, require and prefer alike;
//! there is no root file setting and no `PG*` variable; prefer goes on in plaintext only when
//! the server answers N, never after a failed handshake.

use super::pairs::{self, Pairs};
use super::{
    Anchors, Client, DriverError, DriverString, NameRules, Order, Policy, ReadWhen, Roots, Verify,
};
use crate::config::{Environment, Secret};

/// The keys `Config::from_str` accepts; any other is an error.
const KEYS: &[&str] = &[
    "user",
    "password",
    "dbname",
    "options",
    "application_name",
    "sslmode",
    "sslnegotiation",
    "host",
    "hostaddr",
    "port",
    "connect_timeout",
    "tcp_user_timeout",
    "keepalives",
    "keepalives_idle",
    "keepalives_interval",
    "keepalives_retries",
    "target_session_attrs",
    "channel_binding",
    "load_balance_hosts",
];

fn refuse(message: impl Into<String>) -> DriverError {
    DriverError::new(Client::TokioPostgres, message)
}

fn invalid(key: &str) -> DriverError {
    refuse(format!(
        "invalid connection string: invalid value for option `{key}`"
    ))
}

/// Reads a connection string as `Config::from_str` does.
///
/// # Errors
/// An unknown option or a bad value, in tokio-postgres's words, with a hint where the key is
/// close to one it knows or is a TLS setting it leaves to the connector.
pub(crate) fn parse(conninfo: &str, env: &Environment) -> Result<DriverString, DriverError> {
    let Pairs {
        items,
        after_bare_secret,
    } = pairs::read(conninfo).map_err(|e| refuse(format!("invalid connection string: {e}")))?;
    let mut driver = DriverString::default();
    let mut hosts = String::new();
    let mut ports = String::new();
    for (key, value) in items {
        match key.as_str() {
            "host" => hosts = value,
            "port" => ports = value,
            "dbname" => driver.dbname = Some(value),
            "user" => driver.user = Some(value),
            "password" => driver.password = Some(Secret::new(value)),
            "sslmode" if !matches!(value.as_str(), "disable" | "prefer" | "require") => {
                return Err(refuse(format!(
                    "invalid connection string: invalid value for option `sslmode`{}",
                    verification_hint(&value)
                )));
            }
            "sslnegotiation" if !matches!(value.as_str(), "postgres" | "direct") => {
                return Err(invalid("sslnegotiation"));
            }
            _ if !KEYS.contains(&key.as_str()) => {
                let hint = match key.as_str() {
                    "sslrootcert" | "sslcert" | "sslkey" | "sslcrl" | "sslpassword" => {
                        " (tokio-postgres leaves certificates to the TLS connector: give it the roots with SslConnectorBuilder::set_ca_file, or set SSL_CERT_FILE)".to_string()
                    }
                    _ => String::new(),
                };
                let named = match after_bare_secret.contains(&key) {
                    true => "a word after an unquoted password (not shown: quote a password that holds a space)".to_string(),
                    false => super::unknown_parameter(KEYS.iter().copied(), &key),
                };
                return Err(refuse(format!(
                    "invalid connection string: unknown option: {}{hint}",
                    crate::sanitize::clean(&named)
                )));
            }
            _ => {
                driver.params.insert(key, value);
            }
        }
    }
    if hosts.is_empty() {
        return Err(refuse("invalid configuration: host missing"));
    }
    driver.hosts = pairs::hosts_and_ports(&hosts, &ports).map_err(|e| {
        refuse(if e.starts_with("could not match") {
            "invalid configuration: invalid number of ports".to_string()
        } else {
            "invalid connection string: invalid value for option `port`".to_string()
        })
    })?;
    if driver.user.is_none() {
        driver.user = env.os_user.clone();
    }
    Ok(driver)
}

/// Why verify-ca and verify-full are not tokio-postgres modes.
fn verification_hint(mode: &str) -> &'static str {
    match mode {
        "verify-ca" | "verify-full" => {
            " (tokio-postgres knows disable, prefer and require; the TLS connector verifies the chain and the host name in every TLS mode)"
        }
        _ => " (tokio-postgres knows disable, prefer and require)",
    }
}

/// What tokio-postgres with postgres-openssl does with these settings.
pub(crate) fn policy(driver: &DriverString, _env: &Environment) -> Policy {
    // libpq's settings carried over (`--client all`): its verifying modes are require with the
    // connector verifying, and its root file is the connector's CA file.
    let translated = driver.param(super::FROM_LIBPQ).is_some();
    let (mode, why) = match driver.param("sslmode") {
        Some(mode @ ("verify-ca" | "verify-full")) if translated => (
            "require",
            match mode {
                "verify-ca" => {
                    " (libpq's verify-ca: the connector verifies the chain, and the host name too)"
                }
                _ => " (libpq's verify-full: the connector verifies the chain and the host name)",
            },
        ),
        Some(mode) => (mode, ""),
        None => ("prefer", " (tokio-postgres's default)"),
    };
    let ca_file = driver
        .nonempty("sslrootcert")
        .filter(|_| translated)
        .map(std::path::PathBuf::from);
    let mut policy = Policy::new(
        Client::TokioPostgres,
        format!("{mode}{why}"),
        "error performing TLS handshake: server does not support TLS",
    );
    policy.direct = driver.param("sslnegotiation") == Some("direct");
    // A libpq string judged for tokio-postgres too (`--client all`) may hold what it refuses.
    if !matches!(mode, "disable" | "prefer" | "require") {
        policy.refused = Some(format!(
            "invalid connection string: invalid value for option `sslmode`{}",
            verification_hint(mode)
        ));
        return policy;
    }
    if let Some(key) = ["sslrootcert", "sslcert", "sslkey"]
        .into_iter()
        .find(|k| driver.param(k).is_some() && !translated)
    {
        policy.refused = Some(format!(
            "invalid connection string: unknown option `{key}` (tokio-postgres leaves certificates to the TLS connector)"
        ));
        return policy;
    }
    if policy.direct && mode == "prefer" {
        policy.refused = Some(
            "weak sslmode \"prefer\" may not be used with sslnegotiation=direct (use \"require\")"
                .into(),
        );
    }
    let connector = Verify {
        roots: match ca_file {
            Some(path) => Roots::File {
                path,
                read: ReadWhen::BeforeConnecting,
                missing: Some("No such file or directory: {path}"),
            },
            None => Roots::System,
        },
        anchors: Anchors::OpenSsl,
        names: Some(NameRules::OpenSsl),
    };
    match mode {
        "disable" => policy.order = Order::Plain,
        "prefer" => {
            policy.order = Order::TlsThenPlain;
            policy.verify = Some(connector);
        }
        _ => policy.verify = Some(connector),
    }
    policy
}

#[cfg(test)]
mod tests {
    use super::super::shape;
    use super::*;

    fn env() -> Environment {
        Environment::with_vars([("USER", "osuser"), ("PGSSLMODE", "disable")], None)
    }

    #[test]
    fn every_tls_mode_verifies_through_the_connector() {
        let table = [
            ("disable", Order::Plain, false, false),
            ("prefer", Order::TlsThenPlain, true, true),
            ("require", Order::Tls, true, true),
        ];
        for (mode, order, chain, names) in table {
            let s = format!("host=db user=app sslmode={mode}");
            let p = policy(&parse(&s, &env()).unwrap(), &env());
            assert_eq!(shape(&p), (order, chain, names), "{mode}");
        }
        // No PG* variable is read: the default is prefer.
        let p = policy(&parse("host=db", &env()).unwrap(), &env());
        assert!(p.mode.starts_with("prefer"), "{}", p.mode);
    }

    #[test]
    fn libpqs_settings_carried_over_become_the_connectors() {
        let mut driver = DriverString::default();
        driver
            .params
            .insert(super::super::FROM_LIBPQ.into(), String::new());
        driver.params.insert("sslmode".into(), "verify-full".into());
        driver.params.insert("sslrootcert".into(), "/r.crt".into());
        let p = policy(&driver, &env());
        assert!(p.refused.is_none(), "{:?}", p.refused);
        assert!(p.mode.starts_with("require"), "{}", p.mode);
        assert!(matches!(p.verify.unwrap().roots, Roots::File { .. }));
    }

    #[test]
    fn libpqs_verification_settings_are_errors_with_a_hint() {
        for (s, needle) in [
            ("host=db sslmode=verify-full", "every TLS mode"),
            ("host=db sslrootcert=/r.crt", "set_ca_file"),
            ("host=db sslmod=require", "did you mean \"sslmode\""),
            ("host=db passwords3cret=x", "not shown"),
            ("user=app", "host missing"),
        ] {
            let e = parse(s, &env()).unwrap_err().to_string();
            assert!(e.contains(needle), "{s}: {e}");
        }
    }
}
