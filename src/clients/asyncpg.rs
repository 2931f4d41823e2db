//! asyncpg 0.32: `connect_utils._parse_connect_dsn_and_args` for DSNs and `PG*` variables, its
//! `sslmode` rules (an `ssl.SSLContext` per mode) and the fallbacks of `_connect_addr`.

use std::path::PathBuf;

use super::NameRules;
use super::{
    Anchors, Client, DriverError, DriverString, Fallback, Order, Policy, ReadWhen, Retry, Roots,
    Verify, dot_postgresql, percent_decode, query_pairs,
};
use crate::config::{Environment, Secret};

/// The DSN query keys asyncpg reads itself (`_parse_connect_dsn_and_args`); any other becomes a
/// server setting sent with the startup message. Common server settings are listed so that they
/// are not taken for misspellings.
const KEYS: &[&str] = &[
    "port",
    "host",
    "dbname",
    "database",
    "user",
    "password",
    "passfile",
    "sslmode",
    "sslcert",
    "sslkey",
    "sslrootcert",
    "sslnegotiation",
    "sslcrl",
    "sslpassword",
    "ssl_min_protocol_version",
    "ssl_max_protocol_version",
    "target_session_attrs",
    "krbsrvname",
    "gsslib",
    "service",
    "application_name",
    "options",
    "search_path",
    "timezone",
    "client_encoding",
];

fn refuse(message: impl Into<String>) -> DriverError {
    DriverError::new(Client::Asyncpg, message)
}

/// asyncpg's `int()` of a port that is not a number. Its text is not quoted: in a DSN whose
/// password holds a "/", the port is a piece of the password.
fn bad_port() -> DriverError {
    refuse(
        "invalid literal for int() with base 10 (a port that is not a number; percent-encode a \"/\" in the password as %2F)",
    )
}

/// `_parse_hostlist`: `host[:port]` items, `[v6]:port`.
fn host_list(spec: &str, unquote: bool) -> Result<Vec<(String, Option<u16>)>, DriverError> {
    let mut hosts = Vec::new();
    for item in spec.split(',') {
        let (addr, port) = if let Some(v6) = item.strip_prefix('[') {
            let (addr, rest) = v6.split_once(']').ok_or_else(|| {
                refuse(format!(
                    "invalid IPv6 address in the connection URI: '{item}'"
                ))
            })?;
            (addr.to_string(), rest.strip_prefix(':').unwrap_or(""))
        } else if item.starts_with('/') {
            (item.to_string(), "")
        } else {
            let (a, p) = item.split_once(':').unwrap_or((item, ""));
            (a.to_string(), p)
        };
        let addr = if unquote { percent_decode(&addr) } else { addr };
        let port = match port {
            "" => None,
            p => Some(p.parse::<u16>().map_err(|_| bad_port())?),
        };
        hosts.push((addr, port));
    }
    Ok(hosts)
}

/// Reads a DSN as `asyncpg.connect(dsn)` does, with its `PG*` variables and defaults.
///
/// # Errors
/// What asyncpg refuses, with its message.
pub(crate) fn parse(dsn: &str, env: &Environment) -> Result<DriverString, DriverError> {
    let (scheme, rest) = dsn.split_once("://").unwrap_or(("", dsn));
    if scheme != "postgresql" && scheme != "postgres" {
        return Err(refuse(format!(
            "invalid DSN: scheme is expected to be either \"postgresql\" or \"postgres\", got '{scheme}'"
        )));
    }
    let (rest, query) = rest.split_once('?').unwrap_or((rest, ""));
    let (netloc, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i + 1..]),
        None => (rest, ""),
    };
    let (auth, hostspec) = match netloc.split_once('@') {
        Some((a, h)) => (a, h),
        None => ("", netloc),
    };
    if hostspec.contains('@') {
        // asyncpg splits at the first "@": the rest of a password would become the host name.
        return Err(refuse(
            "the DSN has more than one \"@\": percent-encode an \"@\" in the user or password as %40",
        ));
    }
    let (user, password) = auth.split_once(':').unwrap_or((auth, ""));
    let mut driver = DriverString::default();
    let mut hosts = if hostspec.is_empty() {
        Vec::new()
    } else {
        host_list(hostspec, true)?
    };
    if !path.is_empty() {
        driver.dbname = Some(percent_decode(path));
    }
    if !user.is_empty() {
        driver.user = Some(percent_decode(user));
    }
    if !password.is_empty() {
        driver.password = Some(Secret::new(percent_decode(password)));
    }
    let mut query_port: Option<Vec<u16>> = None;
    for (key, value) in query_pairs(query, true) {
        match key.as_str() {
            "port" => {
                let ports: Result<Vec<u16>, _> = value.split(',').map(str::parse).collect();
                query_port = Some(ports.map_err(|_| bad_port())?);
            }
            "host" if hosts.is_empty() && !value.is_empty() => hosts = host_list(&value, false)?,
            "dbname" | "database" if driver.dbname.is_none() => driver.dbname = Some(value),
            "user" if driver.user.is_none() => driver.user = Some(value),
            "password" if driver.password.is_none() => driver.password = Some(Secret::new(value)),
            _ => {
                if let Some(message) = super::pairs::misspelt(KEYS, &key) {
                    driver.misspelt.push(message);
                }
                driver.params.insert(key, value);
            }
        }
    }
    let var = |name: &str| env.var(name).filter(|v| !v.is_empty()).map(str::to_string);
    if hosts.is_empty()
        && let Some(spec) = var("PGHOST")
    {
        hosts = host_list(&spec, false)?;
    }
    if hosts.is_empty() {
        // asyncpg tries /run/postgresql, /var/run/postgresql, /tmp and /private/tmp first.
        hosts.push(("localhost".to_string(), None));
        driver
            .params
            .insert("pgtls.default_host".into(), "localhost".into());
    }
    let default_port = match var("PGPORT") {
        Some(p) => p.parse::<u16>().map_err(|_| bad_port())?,
        None => 5432,
    };
    let ports: Vec<u16> = match &query_port {
        Some(p) if p.len() > 1 && p.len() != hosts.len() => {
            return Err(refuse(format!(
                "could not match {} port numbers to {} hosts",
                p.len(),
                hosts.len()
            )));
        }
        Some(p) if p.len() > 1 => p.clone(),
        Some(p) => vec![p[0]; hosts.len()],
        None => hosts
            .iter()
            .map(|(_, p)| p.unwrap_or(default_port))
            .collect(),
    };
    driver.hosts = hosts.into_iter().map(|(h, _)| h).zip(ports).collect();
    if driver.user.is_none() {
        driver.user = var("PGUSER")
            .or_else(|| var("LOGNAME"))
            .or_else(|| var("USER"))
            .or_else(|| env.os_user.clone());
    }
    if driver.dbname.is_none() {
        driver.dbname = var("PGDATABASE").or_else(|| driver.user.clone());
    }
    if driver.password.is_none() {
        driver.password = var("PGPASSWORD").map(Secret::new);
    }
    Ok(driver)
}

/// What asyncpg does with these settings.
pub(crate) fn policy(driver: &DriverString, env: &Environment) -> Policy {
    let var = |name: &str| env.var(name).map(str::to_string);
    let (mode, why) = match driver
        .param("sslmode")
        .map(str::to_string)
        .or_else(|| var("PGSSLMODE"))
    {
        Some(mode) => (mode, ""),
        None => ("prefer".to_string(), " (asyncpg's default)"),
    };
    let mut policy = Policy::new(
        Client::Asyncpg,
        format!("{mode}{why}"),
        "rejected SSL upgrade",
    );
    let negotiation = driver
        .param("sslnegotiation")
        .map(str::to_string)
        .or_else(|| var("PGSSLNEGOTIATION"));
    match negotiation.as_deref() {
        None | Some("postgres") => {}
        Some("direct") => policy.direct = true,
        Some(_) => policy.refused = Some(BAD_NEGOTIATION.into()),
    }
    let rootcert = driver
        .nonempty("sslrootcert")
        .map(PathBuf::from)
        .or_else(|| {
            var("PGSSLROOTCERT")
                .filter(|v| !v.is_empty())
                .map(PathBuf::from)
        });
    // disable 0, allow 1, prefer 2, require 3, verify-ca 4, verify-full 5.
    let modes = [
        "disable",
        "allow",
        "prefer",
        "require",
        "verify_ca",
        "verify_full",
    ];
    let Some(level) = modes.iter().position(|m| *m == mode.replace('-', "_")) else {
        policy.refused = Some(
            "`sslmode` parameter must be one of: disable, allow, prefer, require, verify-ca, verify-full"
                .into(),
        );
        return policy;
    };
    let level = level as u8;
    match level {
        0..=2 => fallbacks(&mut policy, level),
        _ => verification(&mut policy, level, rootcert, env),
    }
    if policy.direct && level < 3 {
        policy.refused =
            Some("direct TLS requires sslmode=require, verify-ca, or verify-full".into());
    }
    policy.unmodelled = unmodelled(driver);
    if let Some(message) = driver.misspelt.first() {
        policy.refused = Some(format!(
            "asyncpg.exceptions.UndefinedObjectError: {message}"
        ));
    }
    policy
}

/// The transports and fallbacks of `level` 0 (disable), 1 (allow) and 2 (prefer).
fn fallbacks(policy: &mut Policy, level: u8) {
    match level {
        0 => policy.order = Order::Plain,
        1 => {
            policy.order = Order::PlainThenTls;
            policy.fallback.on_server_error = Retry::AnyServerError;
        }
        _ => {
            policy.order = Order::TlsThenPlain;
            policy.fallback = Fallback {
                on_handshake_failure: true,
                on_certificate_failure: false,
                on_server_error: Retry::AnyServerError,
            };
        }
    }
}

/// asyncpg's refusal of an `sslnegotiation` it does not know.
const BAD_NEGOTIATION: &str = "`sslnegotiation` parameter must be one of: postgres, direct";

/// What the model leaves to libpq's rules, or does not follow.
fn unmodelled(driver: &DriverString) -> Vec<String> {
    let mut notes = Vec::new();
    if driver.param("pgtls.default_host").is_some() {
        notes.push("no host: asyncpg tries the Unix-domain sockets in /run/postgresql, /var/run/postgresql and /tmp before localhost".into());
    }
    for key in ["sslcert", "sslkey", "sslcrl"] {
        if driver.param(key).is_some() {
            notes.push(format!("{key} (offered or checked as libpq would)"));
        }
    }
    notes
}

/// What asyncpg verifies at `level` 3 (require), 4 (verify-ca) and 5 (verify-full): the chain
/// against `rootcert`, else `~/.postgresql/root.crt` where it exists (require verifies only
/// then; the others refuse without one), and the host name at 5.
fn verification(policy: &mut Policy, level: u8, rootcert: Option<PathBuf>, env: &Environment) {
    let names = (level == 5).then_some(NameRules::OpenSsl);
    let roots = match rootcert {
        Some(path) => Some(Roots::File {
            path,
            read: ReadWhen::BeforeConnecting,
            missing: Some("FileNotFoundError: [Errno 2] No such file or directory"),
        }),
        None => dot_postgresql(env.home(), "root.crt").map(|path| Roots::File {
            missing: (level > 3)
                .then_some("root certificate file \"{path}\" does not exist or cannot be accessed"),
            path,
            read: ReadWhen::BeforeConnecting,
        }),
    };
    policy.verify = roots.map(|roots| Verify {
        roots,
        anchors: Anchors::OpenSsl,
        names,
    });
    if policy.verify.is_none() && level > 3 {
        policy.refused = Some(
            "root certificate file \"~/.postgresql/root.crt\" does not exist or cannot be accessed"
                .into(),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env() -> Environment {
        Environment::with_vars([("HOME", "/home/u"), ("USER", "u")], None)
    }

    #[test]
    fn dsns_are_read_as_asyncpg_reads_them() {
        let d = parse(
            "postgres://app:s%3Acret@h1:6432,[::1]/db?sslmode=require",
            &env(),
        )
        .unwrap();
        assert_eq!(
            d.hosts,
            [("h1".to_string(), 6432), ("::1".to_string(), 5432)]
        );
        assert_eq!(d.user.as_deref(), Some("app"));
        assert_eq!(d.password.as_ref().unwrap().expose(), "s:cret");
        assert_eq!(d.dbname.as_deref(), Some("db"));
        assert_eq!(d.param("sslmode"), Some("require"));
        let d = parse("postgresql:///?host=a,b&port=1,2", &env()).unwrap();
        assert_eq!(d.hosts, [("a".to_string(), 1), ("b".to_string(), 2)]);
        assert_eq!(d.user.as_deref(), Some("u"));
        let err = parse("mysql://h/db", &env()).unwrap_err().to_string();
        assert!(err.contains("scheme is expected"), "{err}");
        let err = parse("postgres:///?host=a,b,c&port=1,2", &env())
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("could not match 2 port numbers to 3 hosts"),
            "{err}"
        );
    }

    #[test]
    fn prefer_never_verifies_and_require_verifies_only_with_a_root_file() {
        // (query, order, verifies, checks the name, a missing root file refuses)
        let table = [
            ("", Order::TlsThenPlain, false, false),
            ("?sslmode=disable", Order::Plain, false, false),
            ("?sslmode=allow", Order::PlainThenTls, false, false),
            (
                "?sslmode=prefer&sslrootcert=/r",
                Order::TlsThenPlain,
                false,
                false,
            ),
            ("?sslmode=require", Order::Tls, true, false),
            ("?sslmode=require&sslrootcert=/r", Order::Tls, true, false),
            ("?sslmode=verify-ca", Order::Tls, true, false),
            ("?sslmode=verify-full", Order::Tls, true, true),
        ];
        for (query, order, chain, name) in table {
            let dsn = format!("postgres://h/d{query}");
            let p = policy(&parse(&dsn, &env()).unwrap(), &env());
            assert_eq!(super::super::shape(&p), (order, chain, name), "{dsn}");
        }
        // require with the default root file: verified if it exists, not refused if it does not.
        let p = policy(
            &parse("postgres://h/d?sslmode=require", &env()).unwrap(),
            &env(),
        );
        assert!(matches!(
            p.verify.unwrap().roots,
            Roots::File { missing: None, .. }
        ));
        let p = policy(
            &parse("postgres://h/d?sslmode=bogus", &env()).unwrap(),
            &env(),
        );
        assert!(p.refused.unwrap().contains("must be one of"));
    }
}
