//! Npgsql (.NET), modelled from its source (`NpgsqlConnectionStringBuilder`,
//! `NpgsqlConnector.OpenCore`/`SetupEncryption`/`NegotiateEncryption`, `PostgresEnvironment`) and
//! its documentation (Security and Encryption): no .NET runtime runs where pgtls is tested, so
//! these rules are not compared with the real driver.

use std::path::PathBuf;

use super::NameRules;
use super::{
    Anchors, Client, DriverError, DriverString, Fallback, Order, Policy, ReadWhen, Retry, Roots,
    Verify, dot_postgresql,
};
use crate::config::{Environment, Secret};

/// Keywords (upper case, as the builder compares them) and the canonical key pgtls keeps.
const KEYS: [(&str, &str); 29] = [
    ("HOST", "host"),
    ("SERVER", "host"),
    ("PORT", "port"),
    ("DATABASE", "database"),
    ("DB", "database"),
    ("USERNAME", "username"),
    ("USER NAME", "username"),
    ("USERID", "username"),
    ("USER ID", "username"),
    ("UID", "username"),
    ("PASSWORD", "password"),
    ("PSW", "password"),
    ("PWD", "password"),
    ("SSL MODE", "sslmode"),
    ("SSLMODE", "sslmode"),
    ("ROOT CERTIFICATE", "sslrootcert"),
    ("ROOTCERTIFICATE", "sslrootcert"),
    ("SSL CERTIFICATE", "sslcert"),
    ("SSLCERTIFICATE", "sslcert"),
    ("SSL KEY", "sslkey"),
    ("SSLKEY", "sslkey"),
    ("SSL PASSWORD", "sslpassword"),
    ("SSLPASSWORD", "sslpassword"),
    ("TRUST SERVER CERTIFICATE", "trustservercertificate"),
    ("TRUSTSERVERCERTIFICATE", "trustservercertificate"),
    ("CHANNEL BINDING", "channel_binding"),
    ("CHANNELBINDING", "channel_binding"),
    ("SSL NEGOTIATION", "sslnegotiation"),
    ("SSLNEGOTIATION", "sslnegotiation"),
];

/// Keywords Npgsql knows that do not change TLS; kept so that they are not refused.
const OTHER_KEYS: [&str; 14] = [
    "APPLICATION NAME",
    "APPLICATIONNAME",
    "TIMEOUT",
    "COMMAND TIMEOUT",
    "COMMANDTIMEOUT",
    "POOLING",
    "MINIMUM POOL SIZE",
    "MAXIMUM POOL SIZE",
    "SEARCH PATH",
    "TIMEZONE",
    "KEEPALIVE",
    "TARGET SESSION ATTRIBUTES",
    "LOAD BALANCE HOSTS",
    "INCLUDE ERROR DETAIL",
];

/// Whether a string is in Npgsql's `Key=Value;` form with a host (`Host` or `Server`).
pub(crate) fn looks_like(conninfo: &str) -> bool {
    conninfo.contains(';')
        && pairs(conninfo).is_ok_and(|pairs| {
            pairs
                .iter()
                .any(|(k, _)| k.eq_ignore_ascii_case("host") || k.eq_ignore_ascii_case("server"))
        })
}

/// `DbConnectionStringBuilder`'s syntax: `key=value` pairs separated by `;`, values optionally
/// quoted with `'` or `"` (a doubled quote inside stands for one), keys trimmed.
fn pairs(s: &str) -> Result<Vec<(String, String)>, String> {
    let mut out = Vec::new();
    let chars: Vec<char> = s.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        while i < chars.len() && (chars[i] == ';' || chars[i].is_whitespace()) {
            i += 1;
        }
        if i >= chars.len() {
            break;
        }
        let start = i;
        while i < chars.len() && chars[i] != '=' {
            if chars[i] == ';' {
                return Err(format!(
                    "Format of the initialization string does not conform to specification starting at index {start}."
                ));
            }
            i += 1;
        }
        if i >= chars.len() {
            return Err(format!(
                "Format of the initialization string does not conform to specification starting at index {start}."
            ));
        }
        let key: String = chars[start..i]
            .iter()
            .collect::<String>()
            .trim()
            .to_string();
        i += 1;
        while i < chars.len() && chars[i] == ' ' {
            i += 1;
        }
        let mut value = String::new();
        if i < chars.len() && (chars[i] == '\'' || chars[i] == '"') {
            let quote = chars[i];
            i += 1;
            loop {
                match chars.get(i) {
                    None => {
                        return Err(format!(
                            "Format of the initialization string does not conform to specification starting at index {start}."
                        ));
                    }
                    Some(&c) if c == quote && chars.get(i + 1) == Some(&quote) => {
                        value.push(quote);
                        i += 2;
                    }
                    Some(&c) if c == quote => {
                        i += 1;
                        break;
                    }
                    Some(&c) => {
                        value.push(c);
                        i += 1;
                    }
                }
            }
            while i < chars.len() && chars[i] != ';' {
                i += 1;
            }
        } else {
            while i < chars.len() && chars[i] != ';' {
                value.push(chars[i]);
                i += 1;
            }
            value = value.trim().to_string();
        }
        out.push((key, value));
    }
    Ok(out)
}

fn refuse(message: impl Into<String>) -> DriverError {
    DriverError::new(Client::Npgsql, message)
}

/// A keyword as Npgsql's documentation spells it: `SSL MODE` as `SSL Mode`.
fn title_case(upper: &str) -> String {
    upper
        .split(' ')
        .map(|word| {
            if word == "SSL" {
                return word.to_string();
            }
            let mut chars = word.chars();
            match chars.next() {
                Some(first) => first.to_string() + &chars.as_str().to_ascii_lowercase(),
                None => String::new(),
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Reads an Npgsql connection string.
///
/// # Errors
/// A malformed string, an unknown keyword or a bad port, in Npgsql's words.
pub(crate) fn parse(conninfo: &str, env: &Environment) -> Result<DriverString, DriverError> {
    let mut driver = DriverString::default();
    let mut host = None;
    let mut port = None;
    for (key, value) in pairs(conninfo).map_err(refuse)? {
        let upper = key.to_ascii_uppercase();
        let Some(canonical) = KEYS.iter().find(|(k, _)| *k == upper).map(|(_, c)| *c) else {
            if OTHER_KEYS.contains(&upper.as_str()) {
                continue;
            }
            // After a password, an unknown keyword may be the rest of a password with a ";".
            if driver.password.is_some() {
                return Err(refuse(
                    "Keyword not supported (after Password=: quote a password that holds \";\")",
                ));
            }
            if upper.contains("PASSWORD") {
                return Err(refuse(
                    "Keyword not supported (a keyword whose name holds \"password\", not shown: it may hold the password)",
                ));
            }
            let near = crate::config::suggest::closest(
                KEYS.iter()
                    .map(|(k, _)| *k)
                    .chain(OTHER_KEYS.iter().copied()),
                &upper,
            )
            .map(|k| format!(" (did you mean '{}'?)", title_case(k)))
            .unwrap_or_default();
            return Err(refuse(format!("Keyword not supported: '{key}'{near}")));
        };
        match canonical {
            "host" => host = Some(value),
            "port" => port = Some(value),
            "database" => driver.dbname = Some(value),
            "username" => driver.user = Some(value),
            "password" => driver.password = Some(Secret::new(value)),
            other => {
                driver.params.insert(other.to_string(), value);
            }
        }
    }
    let default_port: u16 = match port {
        Some(p) => p
            .parse()
            .map_err(|_| refuse(format!("Couldn't set Port: '{p}' is not a valid port")))?,
        None => 5432,
    };
    let host = host
        .or_else(|| env.var("PGHOST").map(str::to_string))
        .ok_or_else(|| refuse("Host can't be null"))?;
    for item in host.split(',').map(str::trim) {
        // Host=a:5433,b: a port after the last colon, outside an IPv6 address's brackets.
        let (h, p) = match item.rfind(':') {
            Some(i)
                if item.rfind(']').is_none_or(|b| b < i)
                    && item[i + 1..].parse::<u16>().is_ok() =>
            {
                (&item[..i], item[i + 1..].parse().unwrap_or(default_port))
            }
            _ => (item, default_port),
        };
        let h = h.trim_start_matches('[').trim_end_matches(']');
        driver.hosts.push((h.to_string(), p));
    }
    if driver.user.is_none() {
        driver.user = env
            .var("PGUSER")
            .map(str::to_string)
            .or_else(|| env.os_user.clone());
    }
    if driver.password.is_none() {
        driver.password = env.var("PGPASSWORD").map(|p| Secret::new(p.to_string()));
    }
    if driver.dbname.is_none() {
        driver.dbname = env
            .var("PGDATABASE")
            .map(str::to_string)
            .or_else(|| driver.user.clone());
    }
    Ok(driver)
}

/// Npgsql's message when TLS is required and the server does not offer it.
const NO_TLS: &str =
    "SSL connection requested. No SSL enabled connection from this host is configured.";

/// What Npgsql does with these settings.
pub(crate) fn policy(driver: &DriverString, env: &Environment) -> Policy {
    let given = driver.param("sslmode").unwrap_or("Prefer");
    let mode = given.replace(['-', '_'], "").to_ascii_lowercase();
    let shown = match driver.param("sslmode") {
        Some(m) => format!("SSL Mode={m}"),
        None => "SSL Mode=Prefer (Npgsql's default)".into(),
    };
    let mut policy = Policy::new(Client::Npgsql, shown, NO_TLS);
    policy.direct = driver
        .param("sslnegotiation")
        .is_some_and(|n| n.eq_ignore_ascii_case("direct"));
    // Any error on the first transport before the connection is open makes Npgsql try the other
    // (OpenCore's catch clause).
    let any = Fallback {
        on_handshake_failure: true,
        on_certificate_failure: true,
        on_server_error: Retry::AnyServerError,
    };
    match mode.as_str() {
        "disable" => policy.order = Order::Plain,
        "allow" => {
            policy.order = Order::PlainThenTls;
            policy.fallback = any;
        }
        "prefer" => {
            policy.order = Order::TlsThenPlain;
            policy.fallback = any;
        }
        "require" => {}
        "verifyca" | "verifyfull" => {
            policy.verify = Some(Verify {
                roots: roots(driver, env),
                anchors: Anchors::OpenSsl,
                names: (mode == "verifyfull").then_some(NameRules::OpenSsl),
            });
        }
        _ => {
            policy.refused = Some(format!(
                "Couldn't set SSL Mode: Requested value '{given}' was not found."
            ))
        }
    }
    if policy.direct && matches!(mode.as_str(), "disable" | "allow" | "prefer") {
        policy.refused = Some(
            "SSL Mode has to be Require or higher to be used with direct SSL Negotiation".into(),
        );
    }
    policy.unmodelled = unmodelled(driver);
    policy
}

/// What Npgsql 9 and earlier do with these settings: Npgsql 10's, except that `Root
/// Certificate` is added to the system store instead of replacing it, so a publicly trusted
/// certificate passes too.
pub(crate) fn policy_9(driver: &DriverString, env: &Environment) -> Policy {
    let mut policy = policy(driver, env);
    policy.client = Client::Npgsql9;
    if let Some(verify) = &mut policy.verify
        && let Roots::File { path, missing, .. } = &verify.roots
    {
        verify.roots = Roots::FileAndSystem {
            path: path.clone(),
            missing: missing.unwrap_or("{error}"),
        };
    }
    policy
}

/// What Npgsql 10 verifies the chain against: `Root Certificate` (or `PGSSLROOTCERT`) alone,
/// else `~/.postgresql/root.crt` where it exists, else the system store.
fn roots(driver: &DriverString, env: &Environment) -> Roots {
    let file = driver
        .nonempty("sslrootcert")
        .map(PathBuf::from)
        .or_else(|| env.var("PGSSLROOTCERT").map(PathBuf::from));
    match file {
        Some(path) => Roots::File {
            path,
            read: ReadWhen::AfterTlsOffered,
            missing: Some("Could not find file '{path}'."),
        },
        None => match dot_postgresql(env.home(), "root.crt") {
            Some(path) => Roots::FileElseSystem { path },
            None => Roots::System,
        },
    }
}

/// The settings the model does not follow, or leaves to libpq's rules.
fn unmodelled(driver: &DriverString) -> Vec<String> {
    let mut notes = Vec::new();
    if driver.param("trustservercertificate").is_some() {
        notes.push("Trust Server Certificate (obsolete since Npgsql 8: no effect)".into());
    }
    for key in ["sslcert", "sslkey"] {
        if driver.param(key).is_some() {
            notes.push(format!(
                "{key} (client certificates are offered as libpq would)"
            ));
        }
    }
    notes
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env() -> Environment {
        Environment::with_vars([("HOME", "/home/u")], Some("u"))
    }

    #[test]
    fn keys_are_case_insensitive_with_npgsqls_aliases() {
        let d = parse(
            "Server=db.example.com;Port=6432;DB=app;User Id=u1;PWD='p;w''d';SSL Mode=VerifyFull;Root Certificate=/r.crt",
            &env(),
        )
        .unwrap();
        assert_eq!(d.hosts, [("db.example.com".to_string(), 6432)]);
        assert_eq!(d.dbname.as_deref(), Some("app"));
        assert_eq!(d.user.as_deref(), Some("u1"));
        assert_eq!(d.password.as_ref().unwrap().expose(), "p;w'd");
        assert_eq!(d.param("sslmode"), Some("VerifyFull"));
        assert_eq!(d.param("sslrootcert"), Some("/r.crt"));
        let d = parse("host=a:5433,b;username=x;sslmode=require", &env()).unwrap();
        assert_eq!(d.hosts, [("a".to_string(), 5433), ("b".to_string(), 5432)]);
        let err = parse("Host=h;Colour=blue", &env()).unwrap_err().to_string();
        assert_eq!(err, "npgsql: Keyword not supported: 'Colour'");
        let err = parse("Host=h;SSL Mod=VerifyFull", &env())
            .unwrap_err()
            .to_string();
        assert!(err.ends_with("(did you mean 'SSL Mode'?)"), "{err}");
        assert!(parse("Host=h;Port=x", &env()).is_err());
        assert!(parse("Host=h;Password='open", &env()).is_err());
    }

    /// Each row is what Npgsql's documentation ("Security and Encryption") and source say of a
    /// mode; the row's name says which.
    #[test]
    fn each_ssl_mode_behaves_as_npgsql_documents() {
        // (documented behaviour, string, order, verifies chain, checks name, falls back on errors)
        let table = [
            (
                "Disable: no encryption",
                "Host=h;SSL Mode=Disable",
                Order::Plain,
                false,
                false,
                false,
            ),
            (
                "Allow: plaintext first, TLS if the server insists",
                "Host=h;SSL Mode=Allow",
                Order::PlainThenTls,
                false,
                false,
                true,
            ),
            (
                "Prefer (the default): TLS if offered, not validated; any failure retries in plaintext",
                "Host=h",
                Order::TlsThenPlain,
                false,
                false,
                true,
            ),
            (
                "Require: TLS, certificate not validated (Npgsql 8+)",
                "Host=h;SSL Mode=Require",
                Order::Tls,
                false,
                false,
                false,
            ),
            (
                "Require ignores Root Certificate",
                "Host=h;SSL Mode=Require;Root Certificate=/r",
                Order::Tls,
                false,
                false,
                false,
            ),
            (
                "VerifyCA: chain validated, name not",
                "Host=h;SSL Mode=VerifyCA",
                Order::Tls,
                true,
                false,
                false,
            ),
            (
                "VerifyFull: chain and host name validated",
                "Host=h;SslMode=verify-full",
                Order::Tls,
                true,
                true,
                false,
            ),
        ];
        for (documented, conninfo, order, chain, name, falls_back) in table {
            let p = policy(&parse(conninfo, &env()).unwrap(), &env());
            assert_eq!(
                super::super::shape(&p),
                (order, chain, name),
                "{documented}"
            );
            assert_eq!(p.fallback != Fallback::NONE, falls_back, "{documented}");
        }
        let p = policy(
            &parse("Host=h;SSL Mode=VerifyFull", &env()).unwrap(),
            &env(),
        );
        assert!(
            matches!(p.verify.unwrap().roots, Roots::FileElseSystem { .. }),
            "without Root Certificate: ~/.postgresql/root.crt if it exists, else the system store"
        );
        let p = policy(&parse("Host=h;SSL Mode=Sometimes", &env()).unwrap(), &env());
        assert!(p.refused.is_some());
    }
}
