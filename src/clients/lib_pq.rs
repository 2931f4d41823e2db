//! lib/pq 1.12.3 (`NewConfig`, `ssl`, `Connector.open`): its connection strings and `PG*`
//! variables, and its TLS rules over Go's crypto/tls.
//!
//! Where lib/pq differs from libpq: without an sslmode it uses TLS without verification and no
//! fallback (libpq's require; a later release may make it prefer); prefer and require verify the
//! chain when a root file exists, and a given root file that does not exist is dropped without a
//! word; prefer falls back to plaintext after any TLS failure, certificate failures included;
//! allow retries with TLS after any failure of the plaintext login; environment variables it does
//! not support (`PGCHANNELBINDING`, `PGREQUIREAUTH`, `PGSSLCERTMODE`, ...) stop it; names are
//! checked against SANs only; any certificate of the root file may end a chain.

use std::path::PathBuf;

use super::pairs;
use super::{
    Client, DriverError, DriverString, Fallback, NameRules, Order, Policy, ReadWhen, Retry, Roots,
    Verify, dot_postgresql,
};
use crate::config::Environment;

/// The keys lib/pq reads itself (its `Config`'s tags); any other is sent to the server as a
/// run-time parameter.
pub(crate) const KEYS: &[&str] = &[
    "application_name",
    "binary_parameters",
    "client_encoding",
    "connect_timeout",
    "database",
    "datestyle",
    "dbname",
    "disable_prepared_binary_result",
    "fallback_application_name",
    "geqo",
    "host",
    "hostaddr",
    "krbspn",
    "krbsrvname",
    "load_balance_hosts",
    "max_protocol_version",
    "min_protocol_version",
    "options",
    "passfile",
    "password",
    "port",
    "service",
    "ssl_max_protocol_version",
    "ssl_min_protocol_version",
    "sslcert",
    "sslinline",
    "sslkey",
    "sslmode",
    "sslnegotiation",
    "sslrootcert",
    "sslsni",
    "target_session_attrs",
    "tz",
    "user",
    "search_path",
    "timezone",
];

/// The variables lib/pq refuses to run with.
const UNSUPPORTED_VARS: &[&str] = &[
    "PGREQUIRESSL",
    "PGSSLCOMPRESSION",
    "PGREALM",
    "PGGSSENCMODE",
    "PGGSSDELEGATION",
    "PGGSSLIB",
    "PGREQUIREAUTH",
    "PGCHANNELBINDING",
    "PGSSLCERTMODE",
    "PGSSLCRL",
    "PGSSLCRLDIR",
    "PGREQUIREPEER",
];

const MODES: &[&str] = &[
    "disable",
    "allow",
    "prefer",
    "require",
    "verify-full",
    "verify-ca",
];

fn refuse(message: impl Into<String>) -> DriverError {
    DriverError::new(Client::LibPq, message)
}

/// Go's message for a root file `os.ReadFile` cannot open.
const UNREADABLE: &str = "open {path}: no such file or directory";

/// Reads a connection string as `pq.NewConnector` does, with its `PG*` variables.
///
/// # Errors
/// What lib/pq refuses, in its words.
pub(crate) fn parse(conninfo: &str, env: &Environment) -> Result<DriverString, DriverError> {
    if let Some(var) = UNSUPPORTED_VARS.iter().find(|v| env.var(v).is_some()) {
        return Err(refuse(format!(
            "pq: environment variable ${var} is not supported"
        )));
    }
    let bad_mode = |key: &str, value: &str| {
        (key == "sslmode" && !MODES.contains(&value) && !value.starts_with("pqgo-")).then(|| {
            format!(
                "wrong value for \"sslmode\": \"{}\" is not supported; supported values are {}",
                crate::sanitize::clean(value),
                MODES.join(", ")
            )
        })
    };
    let mut driver =
        pairs::go_driver(conninfo, env, KEYS, bad_mode).map_err(|e| refuse(format!("pq: {e}")))?;
    // lib/pq's default host is localhost itself.
    driver.params.remove(pairs::DEFAULT_HOST);
    Ok(driver)
}

/// What lib/pq does with these settings.
pub(crate) fn policy(driver: &DriverString, env: &Environment) -> Policy {
    let setting = |key: &str, var: &str| driver.setting(key, var, env);
    let given_mode = setting("sslmode", "PGSSLMODE");
    let rootcert = setting("sslrootcert", "PGSSLROOTCERT").filter(|v| !v.is_empty());
    let direct = setting("sslnegotiation", "PGSSLNEGOTIATION").as_deref() == Some("direct");
    let system = rootcert.as_deref() == Some("system");
    let (mode, why) = match (&given_mode, system) {
        (Some(mode), _) => (mode.clone(), ""),
        (None, true) => ("verify-full".to_string(), " (sslrootcert=system)"),
        (None, false) => (
            String::new(),
            "require (lib/pq's default: no sslmode means TLS without verification)",
        ),
    };
    let mut policy = Policy::new(
        Client::LibPq,
        format!("{mode}{why}"),
        "pq: SSL is not enabled on the server",
    );
    policy.direct = direct;
    if let Some(message) = driver.misspelt.first() {
        policy.refused = Some(format!("pq: {message}"));
    }
    // A TLS configuration the application registered (`pq.RegisterTLSConfig`) for this mode.
    if mode.starts_with("pqgo-") {
        policy.custom_verification = Some(format!("sslmode={mode} (pq.RegisterTLSConfig)"));
        return policy;
    }
    if !mode.is_empty() && !MODES.contains(&mode.as_str()) {
        policy.refused = Some(format!(
            "pq: wrong value for $PGSSLMODE: \"{}\" is not supported",
            crate::sanitize::clean(&mode)
        ));
        return policy;
    }
    if direct && matches!(mode.as_str(), "disable" | "allow" | "prefer") {
        policy.refused = Some(format!(
            "pq: weak sslmode \"{mode}\" may not be used with sslnegotiation=direct (use \"require\", \"verify-ca\", or \"verify-full\")"
        ));
    }
    if system && mode != "verify-full" {
        policy.refused = Some(format!(
            "pq: weak sslmode \"{}\" may not be used with sslrootcert=system (use \"verify-full\")",
            if mode.is_empty() { "require" } else { &mode }
        ));
    }
    let file = rootcert.filter(|r| r != "system").map(PathBuf::from);
    // ~/.postgresql/root.crt stands in for sslrootcert in the modes that use TLS by name.
    let default_file = match mode.as_str() {
        "prefer" | "require" | "verify-ca" | "verify-full" => {
            dot_postgresql(env.home(), "root.crt")
        }
        _ => None,
    };
    let go = |roots: Roots, names: bool| Verify::go(roots, names.then_some(NameRules::Go));
    // In "", prefer and require, a root file verifies the chain where it exists; a missing one
    // is dropped.
    let if_exists = file
        .clone()
        .or(default_file.clone())
        .map(|path| Roots::File {
            path,
            read: ReadWhen::BeforeConnecting,
            missing: None,
        });
    match mode.as_str() {
        "disable" => policy.order = Order::Plain,
        "allow" => {
            policy.order = Order::PlainThenTls;
            policy.fallback.on_server_error = Retry::AnyServerError;
        }
        "prefer" => {
            policy.order = Order::TlsThenPlain;
            policy.fallback = Fallback {
                on_handshake_failure: true,
                on_certificate_failure: true,
                on_server_error: Retry::Never,
            };
            policy.verify = if_exists.map(|r| go(r, false));
        }
        "" | "require" => policy.verify = if_exists.map(|r| go(r, false)),
        _ => {
            let roots = match (file, default_file) {
                _ if system => Roots::System,
                (Some(path), _) => Roots::File {
                    path,
                    read: ReadWhen::BeforeConnecting,
                    missing: Some(UNREADABLE),
                },
                (None, Some(path)) => Roots::FileElseSystem { path },
                (None, None) => Roots::System,
            };
            policy.verify = Some(go(roots, mode == "verify-full"));
        }
    }
    for key in ["sslcert", "sslkey", "sslinline"] {
        if driver.param(key).is_some() {
            policy
                .unmodelled
                .push(format!("{key} (offered or checked as libpq would)"));
        }
    }
    policy
}

/// The variables lib/pq 1.10 stops at (it panics with "setting ... not supported").
const UNSUPPORTED_VARS_1_10: &[&str] = &[
    "PGHOSTADDR",
    "PGSERVICE",
    "PGSERVICEFILE",
    "PGREALM",
    "PGREQUIRESSL",
    "PGSSLCRL",
    "PGREQUIREPEER",
    "PGKRBSRVNAME",
    "PGGSSLIB",
    "PGSYSCONFDIR",
    "PGLOCALEDIR",
];

/// What lib/pq 1.10 (and 1.11) does with these settings: disable, require (the default),
/// verify-ca and verify-full only; no `~/.postgresql/root.crt`, no `sslrootcert=system`, no
/// `sslnegotiation`; require verifies the chain when the given root file exists; and its
/// verify-ca (and require with a root file) checks the host name too, unless the host is an
/// address or `sslsni=0` (1.12 fixed this).
pub(crate) fn policy_1_10(driver: &DriverString, env: &Environment) -> Policy {
    let setting = |key: &str, var: &str| driver.setting(key, var, env);
    let mode = setting("sslmode", "PGSSLMODE").unwrap_or_default();
    let shown = match mode.as_str() {
        "" => "require (lib/pq's default)".to_string(),
        m => m.to_string(),
    };
    let mut policy = Policy::new(
        Client::LibPq1_10,
        shown,
        "pq: SSL is not enabled on the server",
    );
    if let Some(message) = driver.misspelt.first() {
        policy.refused = Some(format!("pq: {message}"));
    }
    if let Some(var) = UNSUPPORTED_VARS_1_10.iter().find(|v| env.var(v).is_some()) {
        policy.refused = Some(format!("setting {var} not supported"));
        return policy;
    }
    if driver.param("sslnegotiation").is_some() {
        policy.refused = Some(
            "unrecognized configuration parameter \"sslnegotiation\": lib/pq 1.10 sends it to the server".into(),
        );
        return policy;
    }
    let file = setting("sslrootcert", "PGSSLROOTCERT")
        .filter(|r| !r.is_empty())
        .map(PathBuf::from);
    let go = Verify::go;
    // Its verify-ca checks the chain with the name it sent as SNI (`sslsni`, on by default).
    let sni = match setting("sslsni", "PGSSLSNI").as_deref() {
        Some(v) if !v.starts_with('1') => None,
        _ => Some(NameRules::GoSni),
    };
    match mode.as_str() {
        "disable" => policy.order = Order::Plain,
        "" | "require" => {
            policy.verify = file.map(|path| {
                go(
                    Roots::File {
                        path,
                        read: ReadWhen::BeforeConnecting,
                        missing: None,
                    },
                    sni,
                )
            });
        }
        "verify-ca" | "verify-full" => {
            let roots = match file {
                Some(path) => Roots::File {
                    path,
                    read: ReadWhen::BeforeConnecting,
                    missing: Some(UNREADABLE),
                },
                None => Roots::System,
            };
            policy.verify = Some(match mode.as_str() {
                "verify-full" => go(roots, Some(NameRules::Go)),
                _ => go(roots, sni),
            });
        }
        other => {
            policy.refused = Some(format!(
                "pq: unsupported sslmode \"{}\"; only \"require\" (default), \"verify-full\", \"verify-ca\", and \"disable\" supported",
                crate::sanitize::clean(other)
            ));
        }
    }
    policy
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

    fn policy_of(s: &str) -> Policy {
        let env = env(&[]);
        policy(&parse(s, &env).unwrap(), &env)
    }

    #[test]
    fn each_mode_gives_lib_pqs_transports_and_checks() {
        let table = [
            ("", Order::Tls, false, false),
            ("sslrootcert=/r.crt", Order::Tls, true, false),
            ("sslmode=disable", Order::Plain, false, false),
            ("sslmode=allow", Order::PlainThenTls, false, false),
            ("sslmode=prefer", Order::TlsThenPlain, true, false),
            ("sslmode=require", Order::Tls, true, false),
            ("sslmode=verify-ca", Order::Tls, true, false),
            ("sslmode=verify-full", Order::Tls, true, true),
            ("sslrootcert=system", Order::Tls, true, true),
        ];
        for (s, order, chain, names) in table {
            let p = policy_of(&format!("host=db {s}"));
            assert_eq!(shape(&p), (order, chain, names), "{s}: {}", p.mode);
            assert!(p.refused.is_none(), "{s}");
        }
        // Without an sslmode, lib/pq does not fall back to plaintext and verifies nothing.
        let p = policy_of("host=db");
        assert!(p.mode.contains("lib/pq's default"), "{}", p.mode);
        assert!(p.verify.is_none());
        // prefer falls back after a refused certificate.
        assert!(
            policy_of("host=db sslmode=prefer")
                .fallback
                .on_certificate_failure
        );
    }

    #[test]
    fn lib_pq_1_10_knows_four_modes_and_no_default_root_file() {
        let e = env(&[]);
        for (s, refused, order, chain) in [
            ("host=db", false, Order::Tls, false),
            ("host=db sslmode=prefer", true, Order::Tls, false),
            ("host=db sslmode=allow", true, Order::Tls, false),
            (
                "host=db sslmode=require sslrootcert=/r.crt",
                false,
                Order::Tls,
                true,
            ),
            ("host=db sslmode=verify-ca", false, Order::Tls, true),
            ("host=db sslmode=disable", false, Order::Plain, false),
        ] {
            let p = policy_1_10(&parse(s, &e).unwrap(), &e);
            assert_eq!(p.refused.is_some(), refused, "{s}: {:?}", p.refused);
            if !refused {
                assert_eq!((p.order, p.verify.is_some()), (order, chain), "{s}");
            }
        }
    }

    #[test]
    fn lib_pq_refuses_what_it_refuses() {
        let e = env(&[]);
        assert!(parse("host=db sslmode=verify_full", &e).is_err());
        assert!(parse("host=db", &env(&[("PGCHANNELBINDING", "require")])).is_err());
        for s in [
            "host=db sslmode=require sslrootcert=system",
            "host=db sslmode=prefer sslnegotiation=direct",
            "host=db sslmod=verify-full",
        ] {
            assert!(policy_of(s).refused.is_some(), "{s}");
        }
    }
}
