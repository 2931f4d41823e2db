//! pgjdbc 42.5: `Driver.parseURL` for `jdbc:postgresql:` URLs, and the rules of `SslMode`,
//! `LibPQFactory`, `MakeSSL` and `ConnectionFactoryImpl`.

use std::path::PathBuf;

use super::NameRules;
use super::{
    Anchors, Client, DriverError, DriverString, Fallback, Order, Policy, ReadWhen, Retry, Roots,
    Verify, percent_decode,
};
use crate::config::{Environment, Secret};

const PREFIX: &str = "jdbc:postgresql:";

/// `DriverManager`'s answer to a URL no driver takes. The URL itself is not quoted: a broken one
/// can hold a password anywhere.
fn refuse(_url: &str, why: &str) -> DriverError {
    DriverError::new(
        Client::Pgjdbc,
        format!("No suitable driver found for this URL ({why})"),
    )
}

/// `URLDecoder.decode(s, "UTF-8")`: `+` is a space; a broken escape fails the URL.
fn url_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    for (i, &b) in bytes.iter().enumerate() {
        if b == b'%' {
            let ok = bytes
                .get(i + 1..i + 3)
                .is_some_and(|h| h.iter().all(u8::is_ascii_hexdigit));
            if !ok {
                return None;
            }
        }
    }
    Some(percent_decode(&s.replace('+', " ")))
}

/// Reads a `jdbc:postgresql:` URL as `Driver.parseURL` does.
///
/// # Errors
/// A URL pgjdbc does not take: `DriverManager` answers "No suitable driver found".
pub(crate) fn parse(url: &str) -> Result<DriverString, DriverError> {
    let url = url.trim();
    let (server, args) = url.split_once('?').unwrap_or((url, ""));
    let Some(rest) = server
        .get(..PREFIX.len())
        .filter(|p| p.eq_ignore_ascii_case(PREFIX))
        .map(|_| &server[PREFIX.len()..])
    else {
        return Err(refuse(url, "a pgjdbc URL starts with jdbc:postgresql:"));
    };
    let mut driver = DriverString::default();
    let mut hosts = Vec::new();
    if rest == "//" || rest == "///" {
        hosts.push(("localhost".to_string(), "5432".to_string()));
    } else if let Some(rest) = rest.strip_prefix("//") {
        if rest.matches('/').count() > 1 {
            return Err(refuse(url, "JDBC URL contains too many / characters"));
        }
        let Some((addresses, db)) = rest.split_once('/') else {
            return Err(refuse(
                url,
                "JDBC URL must contain a / at the end of the host or port",
            ));
        };
        if !db.is_empty() {
            driver.dbname =
                Some(url_decode(db).ok_or_else(|| refuse(url, "bad %-escape in the database"))?);
        }
        if addresses.contains('@') {
            // Not a form pgjdbc knows: it would take "user:password@host" for a host name.
            return Err(refuse(
                url,
                "pgjdbc takes the user and password as parameters (?user=...&password=...), not as user:password@host",
            ));
        }
        for address in addresses.split(',') {
            match address.rfind(':') {
                Some(i) if address.rfind(']').is_none_or(|b| b < i) => {
                    let host = if i == 0 { "localhost" } else { &address[..i] };
                    hosts.push((host.to_string(), address[i + 1..].to_string()));
                }
                _ => hosts.push((address.to_string(), "5432".to_string())),
            }
        }
    } else if rest.starts_with('/') {
        return Err(refuse(url, "a path after jdbc:postgresql: needs //host/"));
    } else {
        driver.dbname =
            Some(url_decode(rest).ok_or_else(|| refuse(url, "bad %-escape in the database"))?);
        hosts.push(("localhost".to_string(), "5432".to_string()));
    }
    for token in args.split('&').filter(|t| !t.is_empty()) {
        let (key, value) = match token.split_once('=') {
            Some((k, v)) => (
                k.to_string(),
                url_decode(v).ok_or_else(|| refuse(url, "bad %-escape in a parameter"))?,
            ),
            None => (token.to_string(), String::new()),
        };
        match key.as_str() {
            "user" => driver.user = Some(value),
            "password" => driver.password = Some(Secret::new(value)),
            "PGDBNAME" | "dbname" => driver.dbname = Some(value),
            "PGHOST" => {
                hosts = value
                    .split(',')
                    .map(|h| (h.to_string(), "5432".to_string()))
                    .collect()
            }
            _ => {
                driver.params.insert(key, value);
            }
        }
    }
    // propertiesConsistencyCheck: every port a number in 1..65535.
    for (host, port) in hosts {
        let port: u16 = match port.parse() {
            Ok(p) if p >= 1 => p,
            _ => return Err(refuse(url, "JDBC URL port not valid (1:65535)")),
        };
        driver.hosts.push((host, port));
    }
    Ok(driver)
}

/// A `-Dname=value` system property from the options every JVM reads from the environment
/// (`JAVA_TOOL_OPTIONS`, then `JDK_JAVA_OPTIONS`, the later one winning as the JVM applies them).
fn jvm_property(env: &Environment, name: &str) -> Option<String> {
    let prefix = format!("-D{name}=");
    ["JAVA_TOOL_OPTIONS", "JDK_JAVA_OPTIONS"]
        .iter()
        .filter_map(|var| env.var(var))
        .flat_map(str::split_whitespace)
        .filter_map(|option| option.strip_prefix(&prefix))
        .next_back()
        .map(str::to_string)
}

/// The JVM's default truststore: `javax.net.ssl.trustStore` where the environment's JVM options
/// set it, else `$JAVA_HOME/lib/security/cacerts`, else Debian's `/etc/ssl/certs/java/cacerts`;
/// and its password (`javax.net.ssl.trustStorePassword`).
fn jvm_truststore(env: &Environment) -> (PathBuf, Option<String>) {
    let password = jvm_property(env, "javax.net.ssl.trustStorePassword");
    if let Some(path) = jvm_property(env, "javax.net.ssl.trustStore") {
        return (PathBuf::from(path), password);
    }
    let path = match env.var("JAVA_HOME").filter(|h| !h.is_empty()) {
        Some(home) => PathBuf::from(home).join("lib/security/cacerts"),
        None => PathBuf::from("/etc/ssl/certs/java/cacerts"),
    };
    (path, password)
}

/// What pgjdbc does with these settings.
pub(crate) fn policy(driver: &DriverString, env: &Environment) -> Policy {
    let mut unmodelled = Vec::new();
    let (mode, why) = match driver.param("sslmode") {
        Some(mode) => (mode.to_ascii_lowercase(), "sslmode"),
        None => match driver.param("ssl") {
            Some(ssl) if ssl.is_empty() || ssl.eq_ignore_ascii_case("true") => {
                ("verify-full".to_string(), "ssl=true")
            }
            _ => ("prefer".to_string(), "default"),
        },
    };
    let mut policy = Policy {
        client: Client::Pgjdbc,
        mode: match why {
            "sslmode" => mode.clone(),
            other => format!("{mode} ({other})"),
        },
        order: Order::Tls,
        verify: None,
        fallback: Fallback::NONE,
        direct: false,
        reads_first: Vec::new(),
        refused: None,
        no_tls_message: "The server does not support SSL.",
        unmodelled: Vec::new(),
    };
    let verifies = match mode.as_str() {
        "disable" => {
            policy.order = Order::Plain;
            false
        }
        "allow" => {
            policy.order = Order::PlainThenTls;
            policy.fallback.on_server_error = Retry::Sqlstate28000;
            false
        }
        "prefer" => {
            policy.order = Order::TlsThenPlain;
            policy.fallback.on_server_error = Retry::Sqlstate28000;
            false
        }
        "require" => false,
        "verify-ca" | "verify-full" => true,
        other => {
            policy.refused = Some(format!("Invalid sslmode value: {other}"));
            false
        }
    };
    let factory = driver
        .param("sslfactory")
        .unwrap_or("org.postgresql.ssl.LibPQFactory");
    let names = (mode == "verify-full").then_some(NameRules::Pgjdbc);
    policy.verify = match factory {
        "org.postgresql.ssl.LibPQFactory" | "org.postgresql.ssl.jdbc4.LibPQFactory" => verifies
            .then(|| {
                let path = driver.nonempty("sslrootcert").map_or_else(
                    || {
                        env.passwd_home
                            .clone()
                            .unwrap_or_default()
                            .join(".postgresql/root.crt")
                    },
                    PathBuf::from,
                );
                Verify {
                    roots: Roots::File {
                        path,
                        read: ReadWhen::AfterTlsOffered,
                        missing: Some(
                            "SSL error: Could not open SSL root certificate file {path}.",
                        ),
                    },
                    anchors: Anchors::Pkix,
                    names,
                }
            }),
        "org.postgresql.ssl.DefaultJavaSSLFactory" => Some(Verify {
            roots: {
                let (path, password) = jvm_truststore(env);
                Roots::Jvm { path, password }
            },
            anchors: Anchors::Pkix,
            names,
        }),
        "org.postgresql.ssl.NonValidatingFactory" => None,
        other => {
            unmodelled.push(format!("sslfactory={other}"));
            None
        }
    };
    if factory == "org.postgresql.ssl.NonValidatingFactory" && names.is_some() {
        unmodelled.push("sslfactory=NonValidatingFactory with verify-full (pgjdbc checks the name, not the chain)".into());
    }
    if let Some(kind) = driver.param("targetServerType") {
        unmodelled.push(format!("targetServerType={kind} (hosts are checked in order, as libpq's target_session_attrs=any)"));
    }
    if let Some(verifier) = driver.param("sslhostnameverifier") {
        unmodelled.push(format!("sslhostnameverifier={verifier}"));
    }
    for key in ["sslcert", "sslkey", "sslpassword"] {
        if driver.param(key).is_some() {
            unmodelled.push(format!(
                "{key} (client certificates are offered as libpq would)"
            ));
        }
    }
    policy.unmodelled = unmodelled;
    policy
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hosts(d: &DriverString) -> Vec<(String, u16)> {
        d.hosts.clone()
    }

    #[test]
    fn urls_are_read_as_parse_url_reads_them() {
        let d = parse("jdbc:postgresql://db.example.com:6432,b/app?user=u&sslmode=verify-full&ssl")
            .unwrap();
        assert_eq!(
            hosts(&d),
            [
                ("db.example.com".to_string(), 6432),
                ("b".to_string(), 5432)
            ]
        );
        assert_eq!(d.dbname.as_deref(), Some("app"));
        assert_eq!(d.user.as_deref(), Some("u"));
        assert_eq!(d.param("sslmode"), Some("verify-full"));
        assert_eq!(d.param("ssl"), Some(""));
        let d = parse("jdbc:postgresql:app").unwrap();
        assert_eq!(hosts(&d), [("localhost".to_string(), 5432)]);
        let d = parse("jdbc:postgresql://[::1]:5433/x").unwrap();
        assert_eq!(hosts(&d), [("[::1]".to_string(), 5433)]);
        let d = parse("jdbc:postgresql://h/a%20b?password=p%2Bq+r").unwrap();
        assert_eq!(d.dbname.as_deref(), Some("a b"));
        assert_eq!(d.password.as_ref().unwrap().expose(), "p+q r");
    }

    #[test]
    fn urls_pgjdbc_refuses_are_refused_without_the_password() {
        let table = [
            ("jdbc:postgresql://h", "must contain a /"),
            ("jdbc:postgresql://h/a/b", "too many /"),
            ("jdbc:postgresql://h:99999/a", "not valid (1:65535)"),
            ("jdbc:postgresql://h:x/a", "not valid (1:65535)"),
            ("jdbc:postgresql://h/a?password=sec%zz", "bad %-escape"),
            ("jdbc:mysql://h/a", "starts with jdbc:postgresql:"),
        ];
        for (url, why) in table {
            let err = parse(url).unwrap_err().to_string();
            assert!(err.contains(why), "{url}: {err}");
            assert!(err.contains("No suitable driver found"), "{url}: {err}");
            assert!(!err.contains("sec"), "{url}: {err}");
        }
    }

    #[test]
    fn sslmode_ssl_and_the_factory_decide_what_is_verified() {
        let env = Environment::with_vars([], None);
        // (url, order, verifies chain, checks name)
        let table = [
            ("jdbc:postgresql://h/d", Order::TlsThenPlain, false, false),
            ("jdbc:postgresql://h/d?ssl=true", Order::Tls, true, true),
            ("jdbc:postgresql://h/d?ssl", Order::Tls, true, true),
            (
                "jdbc:postgresql://h/d?ssl=false",
                Order::TlsThenPlain,
                false,
                false,
            ),
            (
                "jdbc:postgresql://h/d?sslmode=disable",
                Order::Plain,
                false,
                false,
            ),
            (
                "jdbc:postgresql://h/d?sslmode=allow",
                Order::PlainThenTls,
                false,
                false,
            ),
            (
                "jdbc:postgresql://h/d?sslmode=require&sslrootcert=/r",
                Order::Tls,
                false,
                false,
            ),
            (
                "jdbc:postgresql://h/d?sslmode=VERIFY-CA",
                Order::Tls,
                true,
                false,
            ),
            (
                "jdbc:postgresql://h/d?sslmode=verify-full",
                Order::Tls,
                true,
                true,
            ),
            (
                "jdbc:postgresql://h/d?sslmode=require&sslfactory=org.postgresql.ssl.DefaultJavaSSLFactory",
                Order::Tls,
                true,
                false,
            ),
        ];
        for (url, order, chain, name) in table {
            let p = policy(&parse(url).unwrap(), &env);
            assert_eq!(super::super::shape(&p), (order, chain, name), "{url}");
        }
        let java = Environment::with_vars(
            [
                ("JAVA_HOME", "/opt/jdk"),
                (
                    "JAVA_TOOL_OPTIONS",
                    "-Xmx1g -Djavax.net.ssl.trustStore=/etc/app/trust.p12 -Djavax.net.ssl.trustStorePassword=pw",
                ),
            ],
            None,
        );
        assert_eq!(
            jvm_truststore(&java),
            (PathBuf::from("/etc/app/trust.p12"), Some("pw".to_string()))
        );
        let plain = Environment::with_vars([("JAVA_HOME", "/opt/jdk")], None);
        assert_eq!(
            jvm_truststore(&plain),
            (PathBuf::from("/opt/jdk/lib/security/cacerts"), None)
        );
        let p = policy(&parse("jdbc:postgresql://h/d?sslmode=bogus").unwrap(), &env);
        assert_eq!(p.refused.as_deref(), Some("Invalid sslmode value: bogus"));
    }
}
