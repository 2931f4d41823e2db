//! pgx v5.13 (`pgconn.ParseConfig` and `configTLS`, `connectPreferred`): its connection strings,
//! `PG*` variables and `~/.postgresql` defaults, and its TLS rules over Go's crypto/tls.
//!
//! Where pgx differs from libpq: `sslrootcert` is read while parsing, whatever the mode;
//! `sslrootcert=system` turns any mode into verify-full; `sslnegotiation=direct` turns prefer into
//! require; prefer and allow try a new connection after any failure of the first transport but a
//! wrong password, a missing database or a missing CONNECT privilege; names are checked against
//! SANs only; any certificate of the root file may end a chain.

use std::path::PathBuf;

use super::pairs;
use super::{
    Client, DriverError, DriverString, Fallback, NameRules, Order, Policy, ReadWhen, Retry, Roots,
    Verify, dot_postgresql,
};
use crate::config::Environment;

/// The keys pgx reads itself; any other is sent to the server as a run-time parameter. Common
/// run-time parameters are listed so that they are not taken for misspellings.
pub(crate) const KEYS: &[&str] = &[
    "host",
    "port",
    "database",
    "dbname",
    "user",
    "password",
    "passfile",
    "connect_timeout",
    "sslmode",
    "sslkey",
    "sslcert",
    "sslcertmode",
    "sslrootcert",
    "sslnegotiation",
    "sslpassword",
    "sslsni",
    "krbspn",
    "krbsrvname",
    "target_session_attrs",
    "service",
    "servicefile",
    "min_protocol_version",
    "max_protocol_version",
    "channel_binding",
    "require_auth",
    "application_name",
    "options",
    "search_path",
    "timezone",
    "client_encoding",
];

fn refuse(message: impl Into<String>) -> DriverError {
    DriverError::new(Client::Pgx, message)
}

/// pgx's message for a root file it cannot read while parsing.
const UNREADABLE: &str = "failed to configure TLS (unable to read CA file: open {path}: {error})";

/// Reads a connection string as `pgx.ParseConfig` does, with its `PG*` variables.
///
/// # Errors
/// What pgx refuses, in its words.
pub(crate) fn parse(conninfo: &str, env: &Environment) -> Result<DriverString, DriverError> {
    let form = if pairs::is_url(conninfo) {
        "URL"
    } else {
        "keyword/value"
    };
    pairs::go_driver(conninfo, env, KEYS, |_, _| None).map_err(|e| match e {
        pairs::GoDriverError::Syntax(e) => refuse(format!(
            "cannot parse the connection string: failed to parse as {form} ({e})"
        )),
        pairs::GoDriverError::Value(e) => {
            refuse(format!("cannot parse the connection string: {e}"))
        }
    })
}

/// What pgx does with these settings.
pub(crate) fn policy(driver: &DriverString, env: &Environment) -> Policy {
    let setting = |key: &str, var: &str| driver.setting(key, var, env);
    let given_mode = setting("sslmode", "PGSSLMODE");
    let rootcert = setting("sslrootcert", "PGSSLROOTCERT").filter(|v| !v.is_empty());
    let direct = setting("sslnegotiation", "PGSSLNEGOTIATION").as_deref() == Some("direct");
    let (mut mode, mut why) = match given_mode {
        Some(mode) => (mode, String::new()),
        None => ("prefer".to_string(), " (pgx's default)".to_string()),
    };
    if rootcert.as_deref() == Some("system") {
        if mode != "verify-full" {
            why = format!(" (sslrootcert=system turns {mode} into verify-full)");
        }
        mode = "verify-full".into();
    } else if direct && mode == "prefer" {
        why = " (sslnegotiation=direct turns prefer into require)".into();
        mode = "require".into();
    }
    let mut policy = Policy::new(
        Client::Pgx,
        format!("{mode}{why}"),
        "tls error: server refused TLS connection",
    );
    policy.direct = direct;
    if let Some(message) = driver.misspelt.first() {
        policy.refused = Some(format!("server error: FATAL: {message}"));
    }
    // The root file is read while parsing, in every mode.
    let file = rootcert
        .as_deref()
        .filter(|r| *r != "system")
        .map(PathBuf::from);
    if let Some(path) = &file {
        policy.reads_first.push((path.clone(), UNREADABLE));
    }
    let default_file = dot_postgresql(env.home(), "root.crt");
    let go = |roots: Roots, names: bool| Verify::go(roots, names.then_some(NameRules::Go));
    let any_but_login = Fallback {
        on_handshake_failure: true,
        on_certificate_failure: true,
        on_server_error: Retry::NotLoginFailures,
    };
    match mode.as_str() {
        "disable" => policy.order = Order::Plain,
        "allow" => {
            policy.order = Order::PlainThenTls;
            policy.fallback = any_but_login;
        }
        "prefer" => {
            policy.order = Order::TlsThenPlain;
            policy.fallback = any_but_login;
        }
        "require" => {
            // A root file (given, or ~/.postgresql/root.crt where it exists) makes require
            // verify the chain, as libpq does.
            let roots = match (&file, default_file) {
                (Some(path), _) => Some(Roots::File {
                    path: path.clone(),
                    read: ReadWhen::BeforeConnecting,
                    missing: Some(UNREADABLE),
                }),
                (None, Some(path)) => Some(Roots::File {
                    path,
                    read: ReadWhen::BeforeConnecting,
                    missing: None,
                }),
                (None, None) => None,
            };
            policy.verify = roots.map(|r| go(r, false));
        }
        "verify-ca" | "verify-full" => {
            let roots = match (&file, default_file) {
                _ if rootcert.as_deref() == Some("system") => Roots::System,
                (Some(path), _) => Roots::File {
                    path: path.clone(),
                    read: ReadWhen::BeforeConnecting,
                    missing: Some(UNREADABLE),
                },
                (None, Some(path)) => Roots::FileElseSystem { path },
                (None, None) => Roots::System,
            };
            policy.verify = Some(go(roots, mode == "verify-full"));
        }
        _ => policy.refused = Some("failed to configure TLS (sslmode is invalid)".into()),
    }
    policy.unmodelled = unmodelled(driver);
    policy
}

fn unmodelled(driver: &DriverString) -> Vec<String> {
    let mut notes = Vec::new();
    if driver.param(pairs::DEFAULT_HOST).is_some() {
        notes.push("no host: pgx uses a Unix-domain socket in /var/run/postgresql, /private/tmp or /tmp where one exists, else localhost".into());
    }
    for key in ["sslcert", "sslkey", "sslpassword", "sslcertmode"] {
        if driver.param(key).is_some() {
            notes.push(format!("{key} (offered or checked as libpq would)"));
        }
    }
    notes
}

#[cfg(test)]
mod tests {
    use super::super::shape;
    use super::*;

    fn env(vars: &[(&str, &str)]) -> Environment {
        let mut all = vec![("USER", "osuser"), ("HOME", "/nonexistent-home")];
        all.extend_from_slice(vars);
        Environment::with_vars(all, None)
    }

    fn policy_of(s: &str, vars: &[(&str, &str)]) -> Policy {
        let env = env(vars);
        policy(&parse(s, &env).unwrap(), &env)
    }

    #[test]
    fn each_mode_gives_pgxs_transports_and_checks() {
        let table = [
            ("sslmode=disable", Order::Plain, false, false),
            ("sslmode=allow", Order::PlainThenTls, false, false),
            ("", Order::TlsThenPlain, false, false),
            (
                "sslmode=prefer sslrootcert=/r.crt",
                Order::TlsThenPlain,
                false,
                false,
            ),
            ("sslmode=require", Order::Tls, true, false),
            (
                "sslmode=require sslrootcert=/r.crt",
                Order::Tls,
                true,
                false,
            ),
            ("sslmode=verify-ca", Order::Tls, true, false),
            ("sslmode=verify-full", Order::Tls, true, true),
            // sslrootcert=system makes any mode verify-full.
            ("sslmode=disable sslrootcert=system", Order::Tls, true, true),
            // Direct TLS turns prefer into require.
            ("sslnegotiation=direct", Order::Tls, true, false),
        ];
        for (s, order, chain, names) in table {
            let p = policy_of(&format!("host=db {s}"), &[]);
            assert_eq!(shape(&p), (order, chain, names), "{s}: {}", p.mode);
        }
        // require without any root file verifies nothing.
        let p = policy_of("host=db sslmode=require", &[]);
        assert!(matches!(
            p.verify.unwrap().roots,
            Roots::File { missing: None, .. }
        ));
        assert!(
            policy_of("host=db sslmode=sometimes", &[])
                .refused
                .is_some()
        );
    }

    #[test]
    fn the_environment_and_urls_are_read_as_pgx_reads_them() {
        let e = env(&[
            ("PGSSLMODE", "verify-full"),
            ("PGHOST", "a,b"),
            ("PGPORT", "6432"),
        ]);
        let d = parse("user=app", &e).unwrap();
        assert_eq!(d.hosts, [("a".into(), 6432), ("b".into(), 6432)]);
        assert_eq!(policy(&d, &e).mode, "verify-full");
        let d = parse("postgres://app:s3cret@db:5433/x?sslmode=require", &e).unwrap();
        assert_eq!(d.hosts, [("db".into(), 5433)]);
        assert_eq!(d.dbname.as_deref(), Some("x"));
        assert_eq!(d.password.unwrap().expose(), "s3cret");
        assert!(parse("host=a,b,c port=1,2", &e).is_err());
    }

    #[test]
    fn a_misspelt_key_is_sent_to_the_server_which_refuses_it() {
        let p = policy_of("host=db sslmod=verify-full", &[]);
        let refused = p.refused.unwrap();
        assert!(refused.contains("did you mean \"sslmode\""), "{refused}");
        // A run-time parameter is not a misspelling.
        assert!(
            policy_of("host=db application_name=x", &[])
                .refused
                .is_none()
        );
    }
}
