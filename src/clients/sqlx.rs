//! sqlx 0.9 (`PgConnectOptions`, `maybe_upgrade`) with its `tls-rustls` feature: URLs only, its
//! `PG*` variables, and its TLS rules over rustls on ring.
//!
//! Where sqlx differs from libpq: allow is disable; prefer and require never verify, even with a
//! root file; verify-ca and verify-full trust Mozilla's roots (webpki-roots, built in) *and* the
//! root file, so a publicly trusted certificate passes verify-ca against a private root file;
//! prefer goes on in plaintext only when the server answers N, never after a failed handshake; no
//! `~/.postgresql/root.crt`; names are checked against SANs only.

use std::path::PathBuf;

use super::{
    Anchors, Client, DriverError, DriverString, NameRules, Order, Policy, Roots, Verify,
    percent_decode, query_pairs,
};
use crate::config::{Environment, Secret};

/// The query keys sqlx reads; it ignores any other with a log line.
const KEYS: &[&str] = &[
    "sslmode",
    "ssl-mode",
    "sslrootcert",
    "ssl-root-cert",
    "ssl-ca",
    "sslcert",
    "ssl-cert",
    "sslkey",
    "ssl-key",
    "statement-cache-capacity",
    "host",
    "hostaddr",
    "port",
    "dbname",
    "user",
    "password",
    "application_name",
    "options",
];

fn refuse(message: impl Into<String>) -> DriverError {
    DriverError::new(Client::Sqlx, message)
}

/// Reads a URL as `PgConnectOptions::from_str` does, over `new_without_pgpass`'s variables.
///
/// # Errors
/// A string that is not a URL, a bad port, a bad sslmode, in sqlx's words.
pub(crate) fn parse(conninfo: &str, env: &Environment) -> Result<DriverString, DriverError> {
    let Some((scheme, rest)) = conninfo.split_once("://") else {
        return Err(refuse(
            "error with configuration: relative URL without a base (sqlx reads only postgres:// URLs)",
        ));
    };
    if scheme != "postgres" && scheme != "postgresql" {
        return Err(refuse(format!(
            "error with configuration: unsupported URL scheme \"{}\"",
            crate::sanitize::clean(scheme)
        )));
    }
    let var = |name: &str| env.var(name).map(str::to_string);
    let mut driver = DriverString::default();
    let mut host = var("PGHOST");
    let mut port: u16 = var("PGPORT").and_then(|p| p.parse().ok()).unwrap_or(5432);
    driver.user = var("PGUSER").or_else(|| env.os_user.clone());
    driver.password = var("PGPASSWORD").map(Secret::new);
    driver.dbname = var("PGDATABASE");
    for (key, var) in [
        ("sslrootcert", "PGSSLROOTCERT"),
        ("sslcert", "PGSSLCERT"),
        ("sslkey", "PGSSLKEY"),
    ] {
        if let Some(value) = env.var(var) {
            driver.params.insert(key.into(), value.into());
        }
    }
    let rest = rest.split('#').next().unwrap_or_default();
    let (rest, query) = rest.split_once('?').unwrap_or((rest, ""));
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i + 1..]),
        None => (rest, ""),
    };
    let (userinfo, hostport) = match authority.rfind('@') {
        Some(i) => (Some(&authority[..i]), &authority[i + 1..]),
        None => (None, authority),
    };
    if let Some(userinfo) = userinfo {
        let (user, password) = match userinfo.split_once(':') {
            Some((u, p)) => (u, Some(p)),
            None => (userinfo, None),
        };
        if !user.is_empty() {
            driver.user = Some(percent_decode(user));
        }
        if let Some(p) = password {
            driver.password = Some(Secret::new(percent_decode(p)));
        }
    }
    let (name, given_port) = match hostport.rsplit_once(':') {
        Some((h, p)) if !h.ends_with(']') || hostport.starts_with('[') => (h, Some(p)),
        _ => (hostport, None),
    };
    if !name.is_empty() {
        host = Some(name.to_ascii_lowercase());
    }
    if let Some(p) = given_port.filter(|p| !p.is_empty()) {
        port = p
            .parse()
            .map_err(|_| refuse("error with configuration: invalid port number"))?;
    }
    if !path.is_empty() {
        driver.dbname = Some(percent_decode(path));
    }
    for (key, value) in query_pairs(query, true) {
        let key = match key.as_str() {
            "ssl-mode" => "sslmode".to_string(),
            "ssl-root-cert" | "ssl-ca" => "sslrootcert".to_string(),
            "ssl-cert" => "sslcert".to_string(),
            "ssl-key" => "sslkey".to_string(),
            _ => key,
        };
        match key.as_str() {
            "sslmode" if mode_of(&value).is_none() => {
                return Err(refuse(format!(
                    "error with configuration: unknown value \"{}\" for `ssl_mode`",
                    crate::sanitize::clean(&value)
                )));
            }
            "host" => host = Some(value),
            "port" => {
                port = value
                    .parse()
                    .map_err(|_| refuse("error with configuration: invalid port number"))?;
            }
            "dbname" => driver.dbname = Some(value),
            "user" => driver.user = Some(value),
            "password" => driver.password = Some(Secret::new(value)),
            _ => {
                if !KEYS.contains(&key.as_str()) && !key.starts_with("options[") {
                    driver
                        .ignored
                        .push(super::unknown_parameter(KEYS.iter().copied(), &key));
                }
                driver.params.insert(key, value);
            }
        }
    }
    if host.is_none() {
        driver
            .params
            .insert("pgtls.default_host".into(), "localhost".into());
    }
    driver.hosts = vec![(host.unwrap_or_else(|| "localhost".into()), port)];
    Ok(driver)
}

/// sqlx's `PgSslMode` for a value, as `from_str` reads it (any case).
fn mode_of(value: &str) -> Option<&'static str> {
    Some(match value.to_ascii_lowercase().as_str() {
        "disable" => "disable",
        "allow" => "allow",
        "prefer" => "prefer",
        "require" => "require",
        "verify-ca" => "verify-ca",
        "verify-full" => "verify-full",
        _ => return None,
    })
}

/// What sqlx does with these settings.
pub(crate) fn policy(driver: &DriverString, env: &Environment) -> Policy {
    // An sslmode in PGSSLMODE that sqlx cannot read is ignored.
    let (mode, why) = match driver
        .param("sslmode")
        .and_then(mode_of)
        .or_else(|| env.var("PGSSLMODE").and_then(mode_of))
    {
        Some("allow") => ("allow", " (sqlx treats allow as disable)"),
        Some(mode) => (mode, ""),
        None => ("prefer", " (sqlx's default)"),
    };
    let mut policy = Policy::new(
        Client::Sqlx,
        format!("{mode}{why}"),
        "error occurred while attempting to establish a TLS connection: server does not support TLS",
    );
    policy.ignored = driver.ignored.clone();
    let file = driver
        .nonempty("sslrootcert")
        .or_else(|| env.var("PGSSLROOTCERT").filter(|v| !v.is_empty()))
        .map(PathBuf::from);
    match mode {
        "disable" | "allow" => policy.order = Order::Plain,
        "prefer" => policy.order = Order::TlsThenPlain,
        "require" => {}
        _ => {
            policy.verify = Some(Verify {
                roots: Roots::WebpkiAndFile {
                    file,
                    missing: "error communicating with database: {error}",
                },
                anchors: Anchors::Webpki,
                names: (mode == "verify-full").then_some(NameRules::Webpki),
            })
        }
    }
    if driver.param("pgtls.default_host").is_some() {
        policy.unmodelled.push("no host: sqlx uses a Unix-domain socket in /var/run/postgresql, /private/tmp or /tmp where one exists, else localhost".into());
    }
    for key in ["sslcert", "sslkey"] {
        if driver.param(key).is_some() {
            policy
                .unmodelled
                .push(format!("{key} (offered or checked as libpq would)"));
        }
    }
    if driver.param("sslnegotiation").is_some() {
        policy
            .unmodelled
            .push("sslnegotiation (sqlx has no direct TLS and ignores it)".into());
    }
    policy
}

#[cfg(test)]
mod tests {
    use super::super::shape;
    use super::*;

    fn env() -> Environment {
        Environment::with_vars([("USER", "osuser")], None)
    }

    #[test]
    fn each_mode_gives_sqlxs_transports_and_checks() {
        let table = [
            ("disable", Order::Plain, false, false),
            ("allow", Order::Plain, false, false),
            ("prefer", Order::TlsThenPlain, false, false),
            ("require", Order::Tls, false, false),
            ("verify-ca", Order::Tls, true, false),
            ("Verify-Full", Order::Tls, true, true),
        ];
        for (mode, order, chain, names) in table {
            let s = format!("postgres://app@db/x?sslmode={mode}&sslrootcert=/r.crt");
            let p = policy(&parse(&s, &env()).unwrap(), &env());
            assert_eq!(shape(&p), (order, chain, names), "{mode}");
            assert_eq!(p.fallback, super::super::Fallback::NONE, "{mode}");
        }
    }

    #[test]
    fn sqlx_reads_urls_only_and_ignores_unknown_keys_with_a_hint() {
        assert!(parse("host=db sslmode=require", &env()).is_err());
        assert!(parse("postgres://db/x?sslmode=verify_full", &env()).is_err());
        let d = parse(
            "postgres://app:p%40ss@db:6432/x?ssl-mode=require&sslmod=verify-full",
            &env(),
        )
        .unwrap();
        assert_eq!(d.hosts, [("db".into(), 6432)]);
        assert_eq!(d.password.unwrap().expose(), "p@ss");
        assert_eq!(d.params["sslmode"], "require");
        assert_eq!(d.ignored, ["\"sslmod\" (did you mean \"sslmode\"?)"]);
    }
}
