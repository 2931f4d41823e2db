//! The clients pgtls predicts besides libpq: each one's connection string read as that driver
//! reads it, and its decision rules (default sslmode, what is verified and against which roots,
//! which failures fall back to plaintext) as a [`Policy`]: plain data, judged by
//! `judge::clients` over the facts `probe` gathered. No I/O here.
//!
//! pgjdbc, node-postgres, asyncpg, pgx, lib/pq, sqlx and tokio-postgres are compared with the
//! real drivers by the test suite; Npgsql (no .NET runtime where the tests run) is modelled from
//! its source and documentation.

pub(crate) mod asyncpg;
pub(crate) mod lib_pq;
pub(crate) mod node;
pub(crate) mod npgsql;
mod pairs;
pub(crate) mod pgjdbc;
pub(crate) mod pgx;
mod request;
pub(crate) mod sqlx;
pub(crate) mod tokio_postgres;

pub use request::{ClientRequest, ReadError, read_string};

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::Serialize;

use crate::config::{Environment, Resolved, Secret, Source};

/// A client whose verdict pgtls gives.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, schemars::JsonSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum Client {
    /// libpq: psql, psycopg, Ruby `pg`, PHP `pgsql`/PDO.
    Libpq,
    /// The PostgreSQL JDBC driver.
    Pgjdbc,
    /// node-postgres (npm `pg`).
    NodePostgres,
    /// asyncpg (Python).
    Asyncpg,
    /// Npgsql (.NET).
    Npgsql,
    /// pgx (Go, `github.com/jackc/pgx/v5`).
    Pgx,
    /// lib/pq (Go, `github.com/lib/pq`).
    LibPq,
    /// sqlx (Rust) with rustls.
    Sqlx,
    /// tokio-postgres (Rust) with postgres-openssl.
    TokioPostgres,
    /// pgjdbc 42.5, the line Debian 12 ships (`pgjdbc@42.5`).
    #[serde(rename = "pgjdbc@42.5")]
    Pgjdbc42_5,
    /// Npgsql 9 and earlier (`npgsql@9`).
    #[serde(rename = "npgsql@9")]
    Npgsql9,
    /// lib/pq 1.10 and 1.11 (`lib-pq@1.10`).
    #[serde(rename = "lib-pq@1.10")]
    LibPq1_10,
}

/// How pgtls knows a client's behaviour.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Reference {
    /// Compared with the real client in the test suite.
    Verified,
    /// Modelled from the client's source and documentation; not run in the test suite.
    Modelled,
}

impl Client {
    /// Every client, in the order `--client all` reports them.
    pub const ALL: [Client; 9] = [
        Client::Libpq,
        Client::Pgjdbc,
        Client::NodePostgres,
        Client::Asyncpg,
        Client::Npgsql,
        Client::Pgx,
        Client::LibPq,
        Client::Sqlx,
        Client::TokioPostgres,
    ];

    /// The client's name, as `--client` takes it.
    pub fn name(self) -> &'static str {
        match self {
            Client::Libpq => "libpq",
            Client::Pgjdbc => "pgjdbc",
            Client::NodePostgres => "node-postgres",
            Client::Asyncpg => "asyncpg",
            Client::Npgsql => "npgsql",
            Client::Pgx => "pgx",
            Client::LibPq => "lib-pq",
            Client::Sqlx => "sqlx",
            Client::TokioPostgres => "tokio-postgres",
            Client::Pgjdbc42_5 => "pgjdbc@42.5",
            Client::Npgsql9 => "npgsql@9",
            Client::LibPq1_10 => "lib-pq@1.10",
        }
    }

    /// The current line a client's older line belongs to (itself for a current one): whose
    /// parser, messages, hints and TLS stack it shares.
    pub fn base(self) -> Client {
        match self {
            Client::Pgjdbc42_5 => Client::Pgjdbc,
            Client::Npgsql9 => Client::Npgsql,
            Client::LibPq1_10 => Client::LibPq,
            other => other,
        }
    }

    /// This client at a version line, as `--client NAME@LINE` names it: the current line's
    /// numbers mean the client itself.
    pub fn at(self, line: &str) -> Option<Client> {
        let client = match (self, line) {
            (Client::Pgjdbc, "42.7" | "42") => Client::Pgjdbc,
            (Client::Pgjdbc, "42.5" | "42.6") => Client::Pgjdbc42_5,
            (Client::Npgsql, "10") => Client::Npgsql,
            (Client::Npgsql, "9" | "8" | "7") => Client::Npgsql9,
            (Client::LibPq, "1.12") => Client::LibPq,
            (Client::LibPq, "1.10" | "1.11") => Client::LibPq1_10,
            (Client::Pgx, "5" | "5.13") => Client::Pgx,
            (Client::Sqlx, "0.9") => Client::Sqlx,
            (Client::TokioPostgres, "0.7") => Client::TokioPostgres,
            (Client::NodePostgres, "8") => Client::NodePostgres,
            (Client::Asyncpg, "0.32") => Client::Asyncpg,
            (Client::Libpq, "18") => Client::Libpq,
            _ => return None,
        };
        Some(client)
    }

    /// The version lines `--client NAME@LINE` takes for this client, for messages.
    pub fn lines(self) -> &'static str {
        match self.base() {
            Client::Pgjdbc => "42.7 (the default) and 42.5",
            Client::Npgsql => "10 (the default) and 9",
            Client::LibPq => "1.12 (the default) and 1.10",
            Client::Pgx => "5",
            Client::Sqlx => "0.9",
            Client::TokioPostgres => "0.7",
            Client::NodePostgres => "8",
            Client::Asyncpg => "0.32",
            _ => "18",
        }
    }

    /// The versions whose behaviour is modelled.
    pub fn models(self) -> &'static str {
        match self {
            Client::Libpq => "libpq 18 on OpenSSL 3.5 or later",
            Client::Pgjdbc => "pgjdbc 42.7 (42.7.14) on the JDK 17 to 25",
            Client::NodePostgres => {
                "node-postgres 8.23 (pg-connection-string 2.14) on Node.js 22.20 or later (OpenSSL 3.5); measured on Node.js 20"
            }
            Client::Asyncpg => "asyncpg 0.32 on Python's ssl with OpenSSL 3.5 or later",
            Client::Npgsql => {
                "Npgsql 10 on .NET with the system's OpenSSL 3.5 or later (from its source; not run here)"
            }
            Client::Pgx => "pgx v5.13 on Go 1.26's crypto/tls",
            Client::LibPq => "lib/pq 1.12.3 on Go 1.26's crypto/tls",
            Client::Sqlx => {
                "sqlx 0.9 with tls-rustls (rustls 0.23 on ring, webpki-roots and the root file)"
            }
            Client::TokioPostgres => {
                "tokio-postgres 0.7.18 with postgres-openssl 0.5 (SslConnector defaults) on the system's OpenSSL 3.5 or later"
            }
            Client::Pgjdbc42_5 => "pgjdbc 42.5 (Debian 12's 42.5.5) on the JDK 17 to 25",
            Client::Npgsql9 => {
                "Npgsql 9 on .NET with the system's OpenSSL (from its source; not run here)"
            }
            Client::LibPq1_10 => "lib/pq 1.10.9 on Go's crypto/tls",
        }
    }

    /// How pgtls knows this client's behaviour.
    pub fn reference(self) -> Reference {
        match self {
            Client::Npgsql | Client::Npgsql9 => Reference::Modelled,
            _ => Reference::Verified,
        }
    }

    /// The client a `--client` name means: libpq-based drivers mean libpq.
    pub fn from_name(name: &str) -> Option<Client> {
        let client = match name.to_ascii_lowercase().as_str() {
            "libpq" | "psql" | "psycopg" | "psycopg2" | "psycopg3" | "ruby-pg" | "pg-ruby"
            | "php" | "pgsql" | "pdo" | "pdo_pgsql" | "pdo-pgsql" => Client::Libpq,
            "pgjdbc" | "jdbc" | "java" => Client::Pgjdbc,
            "node-postgres" | "node" | "nodejs" | "node-pg" | "pg-node" => Client::NodePostgres,
            "asyncpg" => Client::Asyncpg,
            "npgsql" | "dotnet" | ".net" => Client::Npgsql,
            "pgx" | "pgx/v5" | "pgxpool" => Client::Pgx,
            "lib-pq" | "lib/pq" | "libpq-go" | "go-pq" => Client::LibPq,
            "sqlx" => Client::Sqlx,
            "tokio-postgres" | "rust-postgres" | "postgres-openssl" => Client::TokioPostgres,
            _ => return None,
        };
        Some(client)
    }

    /// The client a connection string's form names: a `jdbc:postgresql:` URL is pgjdbc's, a
    /// `Key=Value;` string with `Host` or `Server` is Npgsql's; anything else is libpq's.
    pub fn detect(conninfo: &str) -> Client {
        let trimmed = conninfo.trim_start();
        if trimmed
            .get(..16)
            .is_some_and(|p| p.eq_ignore_ascii_case("jdbc:postgresql:"))
        {
            return Client::Pgjdbc;
        }
        if npgsql::looks_like(trimmed) {
            return Client::Npgsql;
        }
        Client::Libpq
    }

    /// The names `--client` accepts, for messages.
    pub const NAMES: &'static str = "libpq, pgjdbc, node-postgres, asyncpg, npgsql, pgx, lib-pq, sqlx, tokio-postgres, all (libpq-based drivers such as psycopg, Ruby pg and PHP pgsql mean libpq; NAME@LINE picks an older version line: pgjdbc@42.5, npgsql@9, lib-pq@1.10)";
}

/// Which client's verdict a target reports: one client (at one version line), or all of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientChoice {
    /// One client; libpq is the default.
    One(Client),
    /// Every client side by side (the current lines); the exit code is the first failing
    /// client's.
    All,
}

impl Default for ClientChoice {
    fn default() -> Self {
        ClientChoice::One(Client::Libpq)
    }
}

impl Serialize for ClientChoice {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.name())
    }
}

impl schemars::JsonSchema for ClientChoice {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "ClientChoice".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "description": "`all`, or a client's name as `--client` takes it, with `@LINE` for an older version line (`pgjdbc@42.5`)"
        })
    }
}

impl std::str::FromStr for ClientChoice {
    type Err = String;

    /// A `--client` name: `all`, or a client's name (libpq-based drivers mean libpq), with
    /// `@LINE` for a version line (`npgsql@9`).
    fn from_str(name: &str) -> Result<Self, String> {
        if name.eq_ignore_ascii_case("all") {
            return Ok(ClientChoice::All);
        }
        let (base, line) = match name.split_once('@') {
            Some((base, line)) => (base, Some(line)),
            None => (name, None),
        };
        let client = Client::from_name(base).ok_or_else(|| {
            format!(
                "unknown client \"{}\"; expected one of {}",
                crate::sanitize::clean(name),
                Client::NAMES
            )
        })?;
        match line {
            None => Ok(ClientChoice::One(client)),
            Some(line) => client.at(line).map(ClientChoice::One).ok_or_else(|| {
                format!(
                    "{} has no version line \"{}\" that pgtls models; it models {}",
                    client.name(),
                    crate::sanitize::clean(line),
                    client.lines()
                )
            }),
        }
    }
}

impl ClientChoice {
    /// The choice for one client.
    pub fn one(client: Client) -> Self {
        ClientChoice::One(client)
    }

    /// The one client chosen, if not `all`.
    pub fn client(self) -> Option<Client> {
        match self {
            ClientChoice::One(client) => Some(client),
            ClientChoice::All => None,
        }
    }

    /// The one driver chosen, if the choice is one client other than libpq.
    pub fn driver(self) -> Option<Client> {
        self.client().filter(|c| *c != Client::Libpq)
    }

    /// The name, as `--client` takes it.
    pub fn name(self) -> &'static str {
        match self.client() {
            Some(c) => c.name(),
            None => "all",
        }
    }
}

/// A driver's connection string, read as that driver reads it: what every client's policy is
/// built from. For `--client all` on a libpq string, libpq's settings in the same form.
#[derive(Debug, Clone, Default)]
pub struct DriverString {
    /// Hosts and ports, in order.
    pub hosts: Vec<(String, u16)>,
    /// The database.
    pub dbname: Option<String>,
    pub user: Option<String>,
    pub password: Option<Secret>,
    /// Every other setting, by the driver's lower-case key: `sslmode`, `ssl`, `sslrootcert`...
    pub params: BTreeMap<String, String>,
    /// Parameters of the driver's own string that it does not know and ignores without a word,
    /// each with the name meant where one is close (`"sslmod" (did you mean "sslmode"?)`).
    pub ignored: Vec<String>,
    /// Keys close to one the driver knows that it sends to the server as run-time parameters
    /// (pgx, lib/pq, asyncpg), where the server refuses them: the server's message, with the
    /// key meant.
    pub misspelt: Vec<String>,
}

impl DriverString {
    /// A setting, if given.
    pub fn param(&self, key: &str) -> Option<&str> {
        self.params.get(key).map(String::as_str)
    }

    /// A setting, if given and not empty.
    pub fn nonempty(&self, key: &str) -> Option<&str> {
        self.param(key).filter(|v| !v.is_empty())
    }

    /// A setting from the string, else from its environment variable when set and not empty.
    pub fn setting(&self, key: &str, var: &str, env: &Environment) -> Option<String> {
        self.param(key)
            .map(str::to_string)
            .or_else(|| env.var(var).filter(|v| !v.is_empty()).map(str::to_string))
    }
}

/// A parameter a driver does not know, named for a message with the one meant where one is close
/// (`"sslmod" (did you mean "sslmode"?)`). A name that holds `password`, or characters no
/// parameter name has, is not shown: it is most likely a password whose `=` went missing
/// (`?passwords3cret`) or a string of another form (`POSTGRES://u:pw@h`).
pub(crate) fn unknown_parameter<'a>(known: impl IntoIterator<Item = &'a str>, key: &str) -> String {
    let plain = key
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"_-.[] ".contains(&b));
    if !plain || key.to_ascii_lowercase().contains("password") {
        return "a parameter whose name is not shown (it may hold the password)".into();
    }
    match crate::config::suggest::closest(known, key) {
        Some(near) => format!("\"{key}\" (did you mean \"{near}\"?)"),
        None => format!("\"{key}\""),
    }
}

/// Why a driver refuses a connection string, in its words where it has them.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{client}: {message}")]
pub struct DriverError {
    /// The driver.
    pub client: &'static str,
    pub message: String,
}

impl DriverError {
    pub(crate) fn new(client: Client, message: impl Into<String>) -> Self {
        DriverError {
            client: client.name(),
            message: message.into(),
        }
    }
}

/// Reads `conninfo` as `client` reads it.
///
/// # Errors
/// What the driver refuses, with its message (passwords never included).
pub fn parse(
    client: Client,
    conninfo: &str,
    env: &Environment,
) -> Result<DriverString, DriverError> {
    match client.base() {
        Client::Pgjdbc => pgjdbc::parse(conninfo),
        Client::NodePostgres => node::parse(conninfo, env),
        Client::Asyncpg => asyncpg::parse(conninfo, env),
        Client::Npgsql => npgsql::parse(conninfo, env),
        Client::Pgx => pgx::parse(conninfo, env),
        Client::LibPq => lib_pq::parse(conninfo, env),
        Client::Sqlx => sqlx::parse(conninfo, env),
        Client::TokioPostgres => tokio_postgres::parse(conninfo, env),
        Client::Libpq | Client::Pgjdbc42_5 | Client::Npgsql9 | Client::LibPq1_10 => Err(
            DriverError::new(client, "libpq strings are read by the libpq parser"),
        ),
    }
}

/// The parameter that marks a [`DriverString`] made by [`from_libpq`]: settings to be carried
/// over into a driver's own terms, not a string the driver read.
pub(crate) const FROM_LIBPQ: &str = "pgtls.from_libpq";

/// The same settings as a libpq string resolved into, for the other clients (`--client all`):
/// the values libpq took from the string, a service file or the environment, not its defaults.
pub fn from_libpq(resolved: &Resolved) -> DriverString {
    let settings = &resolved.settings;
    let given = |key: &str| {
        settings
            .get(key)
            .filter(|s| s.source != Source::Default && !s.value.is_empty())
            .map(|s| s.value.clone())
    };
    let mut params = BTreeMap::new();
    for key in [
        "sslmode",
        "sslrootcert",
        "sslcert",
        "sslkey",
        "sslnegotiation",
        "channel_binding",
    ] {
        if let Some(value) = given(key) {
            params.insert(key.to_string(), value);
        }
    }
    params.insert(FROM_LIBPQ.to_string(), String::new());
    DriverString {
        hosts: resolved
            .targets
            .iter()
            .map(|t| (t.host.clone(), t.port))
            .collect(),
        dbname: Some(resolved.options.dbname.clone()),
        user: Some(resolved.options.user.clone()),
        password: None,
        ignored: Vec::new(),
        misspelt: Vec::new(),
        params,
    }
}

/// The libpq string with the same settings as a driver's string: hosts, ports, database, user
/// and the TLS keys libpq shares, with a driver's spelling of sslmode in libpq's. The password is not part of it; `password` is passed separately.
pub fn libpq_equivalent(driver: &DriverString) -> String {
    let mut parts = Vec::new();
    let hosts: Vec<&str> = driver.hosts.iter().map(|(h, _)| h.as_str()).collect();
    let ports: Vec<String> = driver.hosts.iter().map(|(_, p)| p.to_string()).collect();
    parts.push(format!("host={}", crate::conninfo::quote(&hosts.join(","))));
    parts.push(format!("port={}", crate::conninfo::quote(&ports.join(","))));
    if let Some(db) = &driver.dbname {
        parts.push(format!("dbname={}", crate::conninfo::quote(db)));
    }
    if let Some(user) = &driver.user {
        parts.push(format!("user={}", crate::conninfo::quote(user)));
    }
    if let Some(mode) = driver.param("sslmode").and_then(libpq_mode) {
        parts.push(format!("sslmode={mode}"));
    }
    for key in ["sslrootcert", "sslcert", "sslkey"] {
        if let Some(value) = driver.nonempty(key) {
            parts.push(format!("{key}={}", crate::conninfo::quote(value)));
        }
    }
    if let Some(neg) = driver.param("sslnegotiation")
        && (neg == "postgres" || neg == "direct")
    {
        parts.push(format!("sslnegotiation={neg}"));
    }
    // pgjdbc's connectTimeout and the others' connect_timeout, in seconds.
    if let Some(seconds) = driver
        .param("connectTimeout")
        .or(driver.param("connect_timeout"))
        .filter(|s| s.parse::<u32>().is_ok_and(|n| n > 0))
    {
        parts.push(format!("connect_timeout={seconds}"));
    }
    parts.join(" ")
}

/// libpq's sslmode for a driver's spelling of one: libpq's own names, Npgsql's (`VerifyFull`,
/// any case), and node-postgres's `no-verify` (TLS without verification: libpq's `require`).
fn libpq_mode(mode: &str) -> Option<&'static str> {
    let folded = mode.to_ascii_lowercase().replace(['-', '_'], "");
    let libpq = match folded.as_str() {
        "noverify" => "require",
        "verifyca" => "verify-ca",
        "verifyfull" => "verify-full",
        other => crate::config::SslMode::parse(other).ok()?.as_str(),
    };
    Some(libpq)
}

/// Whose host-name rules apply (`tls::names` implements them).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NameRules {
    /// pgjdbc's `PGjdbcHostnameVerifier` (42.x).
    Pgjdbc,
    /// Node.js's `tls.checkServerIdentity`.
    Node,
    /// OpenSSL's `X509_check_host` with `X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS` (Python's `ssl`),
    /// or `X509_check_ip` for an address.
    OpenSsl,
    /// Go's `crypto/x509` `VerifyHostname`: SANs only.
    Go,
    /// Go's rules for the name sent as SNI only, so never for an address (lib/pq 1.10's
    /// verify-ca, which passes `ConnectionState().ServerName` to `Verify`).
    GoSni,
    /// webpki's (rustls): SANs only.
    Webpki,
}

/// Which transport a client tries first, and whether it tries the other.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Order {
    /// Plaintext only.
    Plain,
    /// Plaintext; TLS again when the fallback rule says so (`allow`).
    PlainThenTls,
    /// TLS when the server offers it; plaintext when it does not, or when the fallback rule says
    /// so (`prefer`).
    TlsThenPlain,
    /// TLS or nothing.
    Tls,
}

/// Which server errors on the first transport make a client try the other.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Retry {
    /// None.
    Never,
    /// Any error before authentication completes.
    AnyServerError,
    /// Only SQLSTATE 28000 (no pg_hba.conf entry), as pgjdbc.
    Sqlstate28000,
    /// Any error but a wrong password (28P01), a missing database (3D000) or a missing CONNECT
    /// privilege (42501), as pgx.
    NotLoginFailures,
}

/// When a client falls back from its first transport to the other.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fallback {
    /// After a TLS handshake that failed (not a certificate check).
    pub on_handshake_failure: bool,
    /// After a certificate the client refused.
    pub on_certificate_failure: bool,
    /// After the server refused the login on the first transport.
    pub on_server_error: Retry,
}

impl Fallback {
    /// No fallback at all.
    pub const NONE: Fallback = Fallback {
        on_handshake_failure: false,
        on_certificate_failure: false,
        on_server_error: Retry::Never,
    };
}

/// Which certificates a chain may end at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Anchors {
    /// OpenSSL's rules: self-signed certificates of the store (libpq, Node.js, Python, .NET on
    /// Linux).
    OpenSsl,
    /// Java's PKIX: any certificate of the store.
    Pkix,
    /// Go's `crypto/x509`: any certificate of the pool; a server certificate found in it must
    /// still be within its validity period.
    Go,
    /// webpki's (rustls): any certificate of the store that issued one of the chain, without
    /// Java's and Go's shortcut for a server certificate found in the store.
    Webpki,
}

/// When a client reads its root file, and so when a missing one stops it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReadWhen {
    /// While reading the settings, before connecting.
    BeforeConnecting,
    /// Once the server has agreed to TLS (pgjdbc builds its trust manager then).
    AfterTlsOffered,
}

/// Where a client's trusted certificates come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Roots {
    /// A file of PEM certificates.
    File {
        path: PathBuf,
        /// When the client reads it.
        read: ReadWhen,
        /// The client's message when it cannot (`{path}` and `{error}` filled in); `None` when
        /// a missing file means no verification instead (asyncpg's `require` with the default
        /// `~/.postgresql/root.crt`).
        missing: Option<&'static str>,
    },
    /// The JVM's default truststore (`javax.net.ssl.trustStore`, else `$JAVA_HOME/lib/security/cacerts`).
    Jvm {
        /// The truststore file.
        path: PathBuf,
        /// Its password, if any.
        password: Option<String>,
    },
    /// Node.js's bundled Mozilla roots, plus `NODE_EXTRA_CA_CERTS`.
    NodeBundled {
        /// `NODE_EXTRA_CA_CERTS`, if set.
        extra: Option<PathBuf>,
    },
    /// A file if it exists, else the operating system's store (Npgsql's default root file).
    FileElseSystem { path: PathBuf },
    /// A file and the operating system's store together (Npgsql 9's `Root Certificate`).
    FileAndSystem {
        path: PathBuf,
        /// The client's message when the file cannot be read (`{path}`, `{error}`).
        missing: &'static str,
    },
    /// None: the chain is not checked at all, though the host name may be (pgjdbc's
    /// `NonValidatingFactory` under verify-full).
    Unchecked,
    /// The operating system's store.
    System,
    /// webpki-roots (Mozilla's roots, built into the program) and the root file, if any (sqlx on
    /// rustls), read once the server has agreed to TLS.
    WebpkiAndFile {
        file: Option<PathBuf>,
        /// The client's message when the file cannot be read (`{path}`, `{error}`).
        missing: &'static str,
    },
}

impl Roots {
    /// The roots in words: `the root file /r.crt`, `the JVM truststore /x.p12`.
    pub fn describe(&self) -> String {
        match self {
            Roots::File { path, missing, .. } => match missing {
                Some(_) => format!("the root file {}", path.display()),
                None => format!(
                    "the root file {} if it exists (else not verified)",
                    path.display()
                ),
            },
            Roots::FileElseSystem { path } => {
                format!("{} if it exists, else the system store", path.display())
            }
            Roots::FileAndSystem { path, .. } => {
                format!("{} and the system store", path.display())
            }
            Roots::Jvm { path, .. } => format!("the JVM truststore {}", path.display()),
            Roots::NodeBundled { extra: None } => "Node.js's bundled Mozilla roots".to_string(),
            Roots::NodeBundled { extra: Some(extra) } => format!(
                "Node.js's bundled Mozilla roots and NODE_EXTRA_CA_CERTS={}",
                extra.display()
            ),
            Roots::System => "the system store".to_string(),
            Roots::Unchecked => String::new(),
            Roots::WebpkiAndFile { file: None, .. } => {
                "webpki-roots (Mozilla's roots, built in)".to_string()
            }
            Roots::WebpkiAndFile {
                file: Some(path), ..
            } => format!(
                "webpki-roots (Mozilla's roots, built in) and the root file {}",
                path.display()
            ),
        }
    }
}

impl Verify {
    /// Go's crypto/x509 (pgx, lib/pq): any certificate of the pool ends a chain; `names`, when
    /// the name is checked.
    pub(crate) fn go(roots: Roots, names: Option<NameRules>) -> Self {
        Verify {
            roots,
            anchors: Anchors::Go,
            names,
        }
    }
}

/// How a client verifies the server, when it does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verify {
    /// The trusted certificates.
    pub roots: Roots,
    /// Which of them may end a chain.
    pub anchors: Anchors,
    /// The host-name rules, when the name is checked.
    pub names: Option<NameRules>,
}

/// What a client does with one connection string: plain data for `judge::clients`.
#[derive(Debug, Clone)]
pub struct Policy {
    pub client: Client,
    /// The mode in force, in the driver's terms, and why (e.g. `verify-full (ssl=true)`).
    pub mode: String,
    /// Transports in order.
    pub order: Order,
    /// The verification of TLS connections, if any.
    pub verify: Option<Verify>,
    /// When the first transport falls back to the other.
    pub fallback: Fallback,
    /// Whether TLS starts at once, without SSLRequest.
    pub direct: bool,
    /// Files the driver reads before connecting whatever the mode (node-postgres reads
    /// `sslrootcert`, `sslcert` and `sslkey` while parsing), with the message for one it cannot.
    pub reads_first: Vec<(PathBuf, &'static str)>,
    /// The driver refuses these settings before connecting, with this message.
    pub refused: Option<String>,
    /// The message when the server answers SSLRequest with 'N' and TLS is mandatory.
    pub no_tls_message: &'static str,
    /// Settings given that the model does not cover, named so that the report can say so.
    pub unmodelled: Vec<String>,
    /// Parameters the driver ignores (see [`DriverString::ignored`]).
    pub ignored: Vec<String>,
    /// A setting that replaces the driver's own certificate checks with code pgtls cannot see
    /// (a custom SSL factory or host-name verifier, a registered TLS configuration): the
    /// verdict's chain and name checks are then not modelled.
    pub custom_verification: Option<String>,
}

/// The policy of `client` for `driver`'s settings.
pub fn policy(client: Client, driver: &DriverString, env: &Environment) -> Policy {
    match client {
        Client::Pgjdbc42_5 => pgjdbc::policy_42_5(driver, env),
        Client::Npgsql9 => npgsql::policy_9(driver, env),
        Client::LibPq1_10 => lib_pq::policy_1_10(driver, env),
        Client::Pgjdbc => pgjdbc::policy(driver, env),
        Client::NodePostgres => node::policy(driver, env),
        Client::Asyncpg => asyncpg::policy(driver, env),
        Client::Npgsql => npgsql::policy(driver, env),
        Client::Pgx => pgx::policy(driver, env),
        Client::LibPq => lib_pq::policy(driver, env),
        Client::Sqlx => sqlx::policy(driver, env),
        Client::TokioPostgres => tokio_postgres::policy(driver, env),
        Client::Libpq => unreachable!("libpq is judged by the libpq rules"),
    }
}

/// One client's rules for one string, described for `explain --client`: plain data.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct Plan {
    /// The client.
    pub name: Client,
    /// The driver versions whose behaviour is modelled.
    pub models: &'static str,
    /// `verified` or `modelled`.
    pub reference: Reference,
    /// The mode in force, in the driver's terms.
    pub mode: String,
    /// The transports it tries, in order, and when it moves to the next.
    pub transports: String,
    /// How it verifies the chain, or `not verified`.
    pub chain: String,
    /// How it checks the host name, or `not checked`.
    pub host_name: String,
    /// The driver's message when it refuses these settings before connecting.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refused: Option<String>,
    /// Settings given that the model does not cover.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unmodelled: Vec<String>,
    /// Parameters the driver ignores because it does not know them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ignored: Vec<String>,
}

impl Policy {
    /// A client's policy before its settings are read: TLS only, nothing verified, no
    /// fallback; `no_tls_message` is its message when the server does not offer TLS.
    pub fn new(client: Client, mode: String, no_tls_message: &'static str) -> Self {
        Policy {
            client,
            mode,
            order: Order::Tls,
            verify: None,
            fallback: Fallback::NONE,
            direct: false,
            reads_first: Vec::new(),
            refused: None,
            no_tls_message,
            unmodelled: Vec::new(),
            ignored: Vec::new(),
            custom_verification: None,
        }
    }

    /// The policy described for people and documents.
    pub fn plan(&self) -> Plan {
        let retry = match self.fallback.on_server_error {
            Retry::Never => None,
            Retry::AnyServerError => Some("any server error before authentication completes"),
            Retry::Sqlstate28000 => {
                Some("a server error with SQLSTATE 28000 (no pg_hba.conf entry)")
            }
            Retry::NotLoginFailures => Some(
                "a server error other than a wrong password, a missing database or a missing CONNECT privilege",
            ),
        };
        let mut triggers: Vec<&str> = Vec::new();
        if self.fallback.on_handshake_failure {
            triggers.push("a failed TLS handshake");
        }
        if self.fallback.on_certificate_failure {
            triggers.push("a refused certificate");
        }
        triggers.extend(retry);
        let start = if self.direct {
            "direct TLS"
        } else {
            "TLS (SSLRequest)"
        };
        let transports = match self.order {
            Order::Plain => "plaintext only".to_string(),
            Order::Tls => format!("{start} only; no plaintext fallback"),
            Order::TlsThenPlain => match triggers.is_empty() {
                true => {
                    format!("{start}; plaintext on the same connection if the server answers N")
                }
                false => format!(
                    "{start}; plaintext on the same connection if the server answers N, and a new plaintext connection after {}",
                    triggers.join(" or ")
                ),
            },
            Order::PlainThenTls => match triggers.is_empty() {
                true => "plaintext only (no retry with TLS)".to_string(),
                false => format!(
                    "plaintext; a new {start} connection after {}",
                    triggers.join(" or ")
                ),
            },
        };
        let (chain, host_name) = match &self.verify {
            None => ("not verified".to_string(), "not checked".to_string()),
            Some(v) => {
                let roots = v.roots.describe();
                let anchors = match v.anchors {
                    Anchors::OpenSsl => "a self-signed root of",
                    Anchors::Pkix | Anchors::Go | Anchors::Webpki => "any certificate of",
                };
                let names = match v.names {
                    None => "not checked".to_string(),
                    Some(NameRules::Pgjdbc) => "checked (PGjdbcHostnameVerifier)".to_string(),
                    Some(NameRules::Node) => {
                        "checked (Node.js tls.checkServerIdentity)".to_string()
                    }
                    Some(NameRules::OpenSsl) => "checked (OpenSSL X509_check_host)".to_string(),
                    Some(NameRules::Go) => {
                        "checked (Go crypto/x509 VerifyHostname: SANs only)".to_string()
                    }
                    Some(NameRules::GoSni) => {
                        "checked for a host name, not for an address (Go crypto/x509: SANs only)"
                            .to_string()
                    }
                    Some(NameRules::Webpki) => "checked (webpki: SANs only)".to_string(),
                };
                let chain = match v.roots {
                    Roots::Unchecked => "not verified (any chain is accepted)".to_string(),
                    _ => format!("verified up to {anchors} {roots}"),
                };
                (chain, names)
            }
        };
        Plan {
            name: self.client,
            models: self.client.models(),
            reference: self.client.reference(),
            mode: self.mode.clone(),
            transports,
            chain,
            host_name,
            refused: self.refused.clone(),
            unmodelled: self.unmodelled.clone(),
            ignored: self.ignored.clone(),
        }
    }
}

/// `~/.postgresql/NAME` for a home directory.
fn dot_postgresql(home: Option<PathBuf>, name: &str) -> Option<PathBuf> {
    home.map(|h| h.join(".postgresql").join(name))
}

/// Percent-decodes a URL component (invalid escapes are kept as they are).
fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let hex = |b: u8| char::from(b).to_digit(16);
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && let (Some(&h), Some(&l)) = (bytes.get(i + 1), bytes.get(i + 2))
            && let (Some(h), Some(l)) = (hex(h), hex(l))
        {
            out.push((h * 16 + l) as u8);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Splits a URL query into decoded pairs (`+` is a space, as in form encoding).
fn query_pairs(query: &str, plus_is_space: bool) -> Vec<(String, String)> {
    query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            let fix = |s: &str| {
                if plus_is_space {
                    percent_decode(&s.replace('+', " "))
                } else {
                    percent_decode(s)
                }
            };
            (fix(k), fix(v))
        })
        .collect()
}

/// A policy's shape, for the drivers' table tests: its transports, whether it verifies the chain,
/// whether it checks the host name.
#[cfg(test)]
fn shape(p: &Policy) -> (Order, bool, bool) {
    let names = p.verify.as_ref().and_then(|v| v.names).is_some();
    (p.order, p.verify.is_some(), names)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_strings_form_names_its_client() {
        let table = [
            ("jdbc:postgresql://db/app", Client::Pgjdbc),
            ("JDBC:PostgreSQL://db/app", Client::Pgjdbc),
            ("Host=db;Username=app;SSL Mode=Require", Client::Npgsql),
            ("Server=db;Database=app", Client::Npgsql),
            ("host=db user=app", Client::Libpq),
            ("postgresql://db/app", Client::Libpq),
            ("", Client::Libpq),
        ];
        for (conninfo, want) in table {
            assert_eq!(Client::detect(conninfo), want, "{conninfo}");
        }
    }

    #[test]
    fn libpq_based_drivers_mean_libpq_and_the_others_are_their_own() {
        let table = [
            ("psycopg", Some(Client::Libpq)),
            ("psycopg2", Some(Client::Libpq)),
            ("ruby-pg", Some(Client::Libpq)),
            ("pdo_pgsql", Some(Client::Libpq)),
            ("JDBC", Some(Client::Pgjdbc)),
            ("node-postgres", Some(Client::NodePostgres)),
            ("asyncpg", Some(Client::Asyncpg)),
            ("npgsql", Some(Client::Npgsql)),
            ("sqlx", Some(Client::Sqlx)),
            ("lib/pq", Some(Client::LibPq)),
            ("rust-postgres", Some(Client::TokioPostgres)),
            ("diesel", None),
        ];
        for (name, want) in table {
            assert_eq!(Client::from_name(name), want, "{name}");
        }
    }

    #[test]
    fn the_libpq_equivalent_keeps_what_libpq_shares_and_quotes_values() {
        let mut driver = DriverString {
            hosts: vec![("a".into(), 5432), ("b".into(), 6432)],
            dbname: Some("my db".into()),
            user: Some("app".into()),
            password: Some(Secret::new("s3cret".into())),
            params: BTreeMap::new(),
            ignored: Vec::new(),
            misspelt: Vec::new(),
        };
        driver.params.insert("sslmode".into(), "no-verify".into());
        driver.params.insert("sslrootcert".into(), "/r.crt".into());
        assert_eq!(
            libpq_equivalent(&driver),
            "host=a,b port=5432,6432 dbname='my db' user=app sslmode=require sslrootcert=/r.crt"
        );
        // Each driver's spelling of sslmode, in libpq's.
        for (given, libpq) in [
            ("VerifyFull", Some("verify-full")),
            ("verify-ca", Some("verify-ca")),
            ("VERIFYCA", Some("verify-ca")),
            ("Prefer", Some("prefer")),
            ("Disable", Some("disable")),
            ("no-verify", Some("require")),
            ("sometimes", None),
        ] {
            assert_eq!(libpq_mode(given), libpq, "{given}");
        }
        driver.params.insert("sslmode".into(), "verify-full".into());
        driver.params.insert("connectTimeout".into(), "7".into());
        assert!(libpq_equivalent(&driver).contains("sslmode=verify-full"));
        assert!(libpq_equivalent(&driver).ends_with(" connect_timeout=7"));
        assert!(!libpq_equivalent(&driver).contains("s3cret"));
    }

    #[test]
    fn percent_escapes_decode_and_broken_ones_stay() {
        assert_eq!(percent_decode("a%20b%2Fc"), "a b/c");
        assert_eq!(percent_decode("100%"), "100%");
        assert_eq!(percent_decode("%zz"), "%zz");
    }
}
