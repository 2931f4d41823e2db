//! pgjdbc 42.7: `Driver.parseURL` for `jdbc:postgresql:` URLs, and the rules of `SslMode`,
//! `LibPQFactory`, `MakeSSL` and `ConnectionFactoryImpl`.

use std::path::PathBuf;

use super::NameRules;
use super::{
    Anchors, Client, DriverError, DriverString, Order, Policy, ReadWhen, Retry, Roots, Verify,
    percent_decode,
};
use crate::config::{Environment, Secret};

const PREFIX: &str = "jdbc:postgresql:";

/// pgjdbc's answer to a `jdbc:postgresql:` URL that `parseURL` cannot read (`Driver.connect`'s
/// "Unable to parse URL"), with the reason its log gives. The URL itself is not quoted: a broken
/// one can hold a password anywhere.
fn refuse(_url: &str, why: &str) -> DriverError {
    DriverError::new(Client::Pgjdbc, format!("Unable to parse URL ({why})"))
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

/// A query key as `PGPropertyUtil.translatePGServiceToPGProperty` reads it: `host`, `port` and
/// `dbname` in any case are `PGHOST`, `PGPORT` and `PGDBNAME`; every other key stays as written.
fn translate(key: &str) -> String {
    let test = format!("PG{}", key.to_uppercase());
    match test.as_str() {
        "PGHOST" | "PGPORT" | "PGDBNAME" => test,
        _ => key.to_string(),
    }
}

/// The connection properties pgjdbc knows (`PGProperty`, on its main branch after 42.7.9); it
/// ignores any other without a word.
const PROPERTIES: [&str; 91] = [
    "adaptiveFetch",
    "adaptiveFetchMaximum",
    "adaptiveFetchMinimum",
    "allowEncodingChanges",
    "ApplicationName",
    "assumeMinServerVersion",
    "authenticationPluginClassName",
    "autosave",
    "binaryTransfer",
    "binaryTransferDisable",
    "binaryTransferEnable",
    "cancelSignalTimeout",
    "channelBinding",
    "classLoaderStrategy",
    "cleanupSavepoints",
    "connectExecutor",
    "connectExecutorArg",
    "connectTimeout",
    "convertBooleanToNumeric",
    "currentSchema",
    "databaseMetadataCacheFields",
    "databaseMetadataCacheFieldsMiB",
    "defaultRowFetchSize",
    "disableColumnSanitiser",
    "escapeSyntaxCallMode",
    "flushCacheOnDdl",
    "groupStartupParameters",
    "gssEncMode",
    "gsslib",
    "gssResponseTimeout",
    "gssUseDefaultCreds",
    "hideUnprivilegedObjects",
    "hostRecheckSeconds",
    "jaasApplicationName",
    "jaasLogin",
    "kerberosServerName",
    "loadBalanceHosts",
    "localSocketAddress",
    "loggerFile",
    "loggerLevel",
    "loginTimeout",
    "logServerErrorDetail",
    "logUnclosedConnections",
    "maxResultBuffer",
    "maxSendBufferSize",
    "options",
    "password",
    "PGDBNAME",
    "PGHOST",
    "PGPORT",
    "preferQueryMode",
    "preparedStatementCacheQueries",
    "preparedStatementCacheSizeMiB",
    "prepareThreshold",
    "protocolVersion",
    "queryTimeout",
    "quoteReturningIdentifiers",
    "readOnly",
    "readOnlyMode",
    "receiveBufferSize",
    "replication",
    "requireAuth",
    "reWriteBatchedInserts",
    "reWriteBatchedInsertsSize",
    "scramMaxIterations",
    "sendBufferSize",
    "service",
    "socketFactory",
    "socketFactoryArg",
    "socketTimeout",
    "ssl",
    "sslcert",
    "sslfactory",
    "sslfactoryarg",
    "sslhostnameverifier",
    "sslkey",
    "sslmode",
    "sslNegotiation",
    "sslpassword",
    "sslpasswordcallback",
    "sslResponseTimeout",
    "sslrootcert",
    "sspiServiceClass",
    "stringtype",
    "targetServerType",
    "tcpKeepAlive",
    "tcpNoDelay",
    "unknownLength",
    "user",
    "useSpnego",
    "xmlFactoryFactory",
];

/// Java's `String.split(",")`: trailing empty fields are dropped (a string with no comma is
/// one field, even when empty).
fn java_split(list: &str) -> Vec<String> {
    let mut fields: Vec<String> = list.split(',').map(str::to_string).collect();
    if fields.len() > 1 {
        while fields.last().is_some_and(String::is_empty) {
            fields.pop();
        }
    }
    fields
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
        // No driver takes it: DriverManager's answer.
        return Err(DriverError::new(
            Client::Pgjdbc,
            "No suitable driver found for this URL (a pgjdbc URL starts with jdbc:postgresql:)",
        ));
    };
    let mut driver = DriverString::default();
    // PGHOST and PGPORT: comma lists, set by the URL and then by its query, one independently
    // of the other, and matched up only at the end (propertiesConsistencyCheck).
    let (mut hosts, mut ports) = (vec!["localhost".to_string()], vec!["5432".to_string()]);
    if let Some(rest) = rest
        .strip_prefix("//")
        .filter(|r| !r.is_empty() && *r != "/")
    {
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
        (hosts, ports) = addresses
            .split(',')
            .map(|address| match address.rfind(':') {
                Some(i) if address.rfind(']').is_none_or(|b| b < i) => {
                    let host = if i == 0 { "localhost" } else { &address[..i] };
                    (host.to_string(), address[i + 1..].to_string())
                }
                _ => (address.to_string(), "5432".to_string()),
            })
            .unzip();
    } else if rest.starts_with('/') && rest != "//" && rest != "///" {
        return Err(refuse(url, "a path after jdbc:postgresql: needs //host/"));
    } else if !rest.starts_with('/') {
        driver.dbname =
            Some(url_decode(rest).ok_or_else(|| refuse(url, "bad %-escape in the database"))?);
    }
    for token in args.split('&').filter(|t| !t.is_empty()) {
        let (key, value) = match token.split_once('=') {
            Some((k, v)) => (
                translate(k),
                url_decode(v).ok_or_else(|| refuse(url, "bad %-escape in a parameter"))?,
            ),
            None => (token.to_string(), String::new()),
        };
        match key.as_str() {
            "user" => driver.user = Some(value),
            "password" => driver.password = Some(Secret::new(value)),
            "PGDBNAME" => driver.dbname = Some(value),
            "PGHOST" => hosts = java_split(&value),
            "PGPORT" => ports = java_split(&value),
            _ => {
                if !PROPERTIES.contains(&key.as_str()) {
                    driver
                        .ignored
                        .push(super::unknown_parameter(PROPERTIES, &key));
                }
                driver.params.insert(key, value);
            }
        }
    }
    // propertiesConsistencyCheck: every port a number in 1..65535, as many ports as hosts.
    let ports = ports
        .iter()
        .map(|p| p.parse::<u16>().ok().filter(|p| *p >= 1))
        .collect::<Option<Vec<u16>>>()
        .ok_or_else(|| refuse(url, "JDBC URL port not valid (1:65535)"))?;
    if hosts.len() != ports.len() {
        return Err(refuse(
            url,
            "Properties [PGHOST] [PGPORT] must have same amount of values",
        ));
    }
    driver.hosts = hosts.into_iter().zip(ports).collect();
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

/// The properties pgjdbc 42.7 knows and 42.5 does not (42.5.5's `PGProperty`): 42.5 ignores
/// them without a word.
const SINCE_42_6: [&str; 13] = [
    "channelBinding",
    "classLoaderStrategy",
    "connectExecutor",
    "connectExecutorArg",
    "convertBooleanToNumeric",
    "flushCacheOnDdl",
    "gssUseDefaultCreds",
    "maxSendBufferSize",
    "queryTimeout",
    "requireAuth",
    "reWriteBatchedInsertsSize",
    "scramMaxIterations",
    "sslNegotiation",
];

/// What pgjdbc 42.5 does with these settings: 42.7's rules without the properties it added
/// (`sslNegotiation=direct`, `channelBinding`, `requireAuth`), which 42.5 ignores. The real
/// 42.5.5 and 42.7.14 agree on every case of the driver matrix.
pub(crate) fn policy_42_5(driver: &DriverString, env: &Environment) -> Policy {
    let mut older = driver.clone();
    for key in SINCE_42_6 {
        if older.params.remove(key).is_some() {
            older
                .ignored
                .push(format!("\"{key}\" (added after pgjdbc 42.5)"));
        }
    }
    let mut policy = policy(&older, env);
    policy.client = Client::Pgjdbc42_5;
    policy
}

/// What pgjdbc does with these settings.
pub(crate) fn policy(driver: &DriverString, env: &Environment) -> Policy {
    let (mode, why) = match driver.param("sslmode") {
        Some(mode) => (mode.to_ascii_lowercase(), "sslmode"),
        None => match driver.param("ssl") {
            Some(ssl) if ssl.is_empty() || ssl.eq_ignore_ascii_case("true") => {
                ("verify-full".to_string(), "ssl=true")
            }
            _ => ("prefer".to_string(), "default"),
        },
    };
    let mut policy = Policy::new(
        Client::Pgjdbc,
        match why {
            "sslmode" => mode.clone(),
            other => format!("{mode} ({other})"),
        },
        "The server does not support SSL.",
    );
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
    let (verify, mut unmodelled) = verification(driver, env, &mode, verifies);
    // A factory other than the default LibPQFactory decides what is verified: named where the
    // mode is (the reason the chain goes unverified with NonValidatingFactory).
    if let Some(factory) = driver
        .param("sslfactory")
        .filter(|f| !f.ends_with(".LibPQFactory") && policy.order != Order::Plain)
    {
        let short = factory.rsplit('.').next().unwrap_or(factory);
        policy.mode = format!("{} with sslfactory={short}", policy.mode);
    }
    policy.verify = verify;
    // Code of the application's own decides what is trusted.
    if policy.order != Order::Plain {
        policy.custom_verification = unmodelled
            .iter()
            .find(|n| n.starts_with("sslfactory="))
            .cloned()
            .or_else(|| {
                driver
                    .param("sslhostnameverifier")
                    .map(|v| format!("sslhostnameverifier={v}"))
            });
    }
    unmodelled.extend(unmodelled_settings(driver));
    policy.unmodelled = unmodelled;
    policy.ignored = driver.ignored.clone();
    policy
}

/// What the SSL factory verifies: LibPQFactory the root file (default `~/.postgresql/root.crt`
/// in the JVM's home) when the mode verifies, DefaultJavaSSLFactory the JVM truststore,
/// NonValidatingFactory nothing; and what of the factory is not modelled.
fn verification(
    driver: &DriverString,
    env: &Environment,
    mode: &str,
    verifies: bool,
) -> (Option<Verify>, Vec<String>) {
    let factory = driver
        .param("sslfactory")
        .unwrap_or("org.postgresql.ssl.LibPQFactory");
    let names = (mode == "verify-full").then_some(NameRules::Pgjdbc);
    let verify = |roots| Verify {
        roots,
        anchors: Anchors::Pkix,
        names,
    };
    match factory {
        "org.postgresql.ssl.LibPQFactory" | "org.postgresql.ssl.jdbc4.LibPQFactory" => {
            let path = driver.nonempty("sslrootcert").map_or_else(
                || {
                    env.passwd_home
                        .clone()
                        .unwrap_or_default()
                        .join(".postgresql/root.crt")
                },
                PathBuf::from,
            );
            let roots = Roots::File {
                path,
                read: ReadWhen::AfterTlsOffered,
                missing: Some("SSL error: Could not open SSL root certificate file {path}."),
            };
            (verifies.then(|| verify(roots)), Vec::new())
        }
        "org.postgresql.ssl.DefaultJavaSSLFactory" => {
            let (path, password) = jvm_truststore(env);
            (Some(verify(Roots::Jvm { path, password })), Vec::new())
        }
        // The factory's trust manager accepts any chain; MakeSSL still checks the name under
        // verify-full.
        "org.postgresql.ssl.NonValidatingFactory" if names.is_some() => {
            (Some(verify(Roots::Unchecked)), Vec::new())
        }
        "org.postgresql.ssl.NonValidatingFactory" => (None, Vec::new()),
        other => (None, vec![format!("sslfactory={other}")]),
    }
}

/// The settings the model does not follow, or leaves to libpq's rules.
fn unmodelled_settings(driver: &DriverString) -> Vec<String> {
    let mut notes = Vec::new();
    if let Some(kind) = driver.param("targetServerType") {
        notes.push(format!("targetServerType={kind} (hosts are checked in order, as libpq's target_session_attrs=any)"));
    }
    if let Some(verifier) = driver.param("sslhostnameverifier") {
        notes.push(format!("sslhostnameverifier={verifier}"));
    }
    for key in ["sslcert", "sslkey", "sslpassword"] {
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

    fn hosts(d: &DriverString) -> Vec<(String, u16)> {
        d.hosts.clone()
    }

    #[test]
    fn parameters_pgjdbc_does_not_know_are_named_with_the_one_meant() {
        let cases: [(&str, &[&str]); 6] = [
            (
                "jdbc:postgresql://h/d?sslmode=verify-full&sslrootcert=/r.crt",
                &[],
            ),
            (
                "jdbc:postgresql://h/d?sslmod=verify-full",
                &["\"sslmod\" (did you mean \"sslmode\"?)"],
            ),
            // Property names are case-sensitive in pgjdbc.
            (
                "jdbc:postgresql://h/d?SSLMode=verify-full",
                &["\"SSLMode\" (did you mean \"sslmode\"?)"],
            ),
            ("jdbc:postgresql://h/d?frobnicate=1", &["\"frobnicate\""]),
            // Read by parseURL itself: host, port and dbname in any case, PGHOST as written.
            ("jdbc:postgresql://h/d?PGHOST=a&Port=6432&user=u", &[]),
            (
                "jdbc:postgresql://h/d?pgport=6432",
                &["\"pgport\" (did you mean \"PGPORT\"?)"],
            ),
        ];
        for (url, ignored) in cases {
            assert_eq!(parse(url).unwrap().ignored, ignored, "{url}");
        }
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
    fn the_query_sets_hosts_ports_and_database_as_parse_url_does() {
        // (url, hosts and ports, database)
        type Case<'a> = (&'a str, &'a [(&'a str, u16)], Option<&'a str>);
        let table: [Case; 9] = [
            ("jdbc:postgresql://a:1/db?port=2", &[("a", 2)], Some("db")),
            ("jdbc:postgresql://a:1/db?PGPORT=2", &[("a", 2)], Some("db")),
            ("jdbc:postgresql://a:1/db?Host=b", &[("b", 1)], Some("db")),
            (
                "jdbc:postgresql://a:1/db?HOST=b&Port=3",
                &[("b", 3)],
                Some("db"),
            ),
            (
                "jdbc:postgresql://a/db?PGHOST=b,c&port=3,4",
                &[("b", 3), ("c", 4)],
                Some("db"),
            ),
            (
                "jdbc:postgresql://a/db?DbName=other",
                &[("a", 5432)],
                Some("other"),
            ),
            ("jdbc:postgresql:db?host=b&port=7", &[("b", 7)], Some("db")),
            // Java's split drops trailing empty fields.
            (
                "jdbc:postgresql://a/db?host=b,c,&port=1,2",
                &[("b", 1), ("c", 2)],
                Some("db"),
            ),
            // Not translated: pghost stays a property of its own.
            ("jdbc:postgresql://a:1/db?pghost=b", &[("a", 1)], Some("db")),
        ];
        for (url, want, db) in table {
            let d = parse(url).unwrap();
            let want: Vec<(String, u16)> = want.iter().map(|(h, p)| (h.to_string(), *p)).collect();
            assert_eq!(hosts(&d), want, "{url}");
            assert_eq!(d.dbname.as_deref(), db, "{url}");
        }
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
            (
                "jdbc:postgresql://a:1,b:2/d?port=5432",
                "same amount of values",
            ),
            ("jdbc:postgresql://a/d?host=b,c", "same amount of values"),
            ("jdbc:postgresql://a/d?port=0", "not valid (1:65535)"),
        ];
        for (url, why) in table {
            let err = parse(url).unwrap_err().to_string();
            assert!(err.contains(why), "{url}: {err}");
            let words = match url.starts_with("jdbc:postgresql:") {
                true => "Unable to parse URL",
                false => "No suitable driver found",
            };
            assert!(err.contains(words), "{url}: {err}");
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
