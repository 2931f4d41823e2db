//! Why a connection string, with its environment and service file, cannot be used: libpq's own
//! messages, so that a user who searches for one finds libpq's documentation.

use std::path::PathBuf;

use crate::conninfo::ParseError;

/// A configuration that libpq would refuse before or while connecting.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The connection string itself does not parse.
    #[error(transparent)]
    Parse(#[from] ParseError),
    /// An error whose text held pieces of a URI password, shown with them redacted.
    #[error("{0}")]
    Redacted(String),
    /// A URI whose password holds an unencoded `@` or `/`: libpq would connect with pieces of it
    /// as host, port or database name, and send the rest as the password. pgtls does not.
    #[error(
        "the URI's password holds an unencoded \"@\" or \"/\", so its pieces would be taken for the host, port or database name; percent-encode them (%40, %2F)"
    )]
    UnencodedPassword,
    /// `PGSERVICEFILE` names a file that cannot be opened.
    #[error("service file \"{}\" not found", .0.display())]
    ServiceFileNotFound(PathBuf),
    /// The service file is a directory or too large to be one.
    #[error("could not read service file \"{}\": {reason}", file.display())]
    ServiceFileUnreadable {
        /// The service file.
        file: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// No service file defines the service.
    #[error("definition of service \"{0}\" not found")]
    ServiceNotFound(String),
    /// A line of the service file is not `key=value` with a known keyword.
    #[error("syntax error in service file \"{}\", line {line}", file.display())]
    ServiceSyntax {
        /// The service file.
        file: PathBuf,
        /// The 1-based line number.
        line: usize,
    },
    /// A service sets `service=`.
    #[error(
        "nested service specifications not supported in service file \"{}\", line {line}",
        file.display()
    )]
    ServiceNested {
        /// The service file.
        file: PathBuf,
        /// The 1-based line number.
        line: usize,
    },
    /// `host` and `hostaddr` lists differ in length.
    #[error("could not match {hosts} host names to {addrs} hostaddr values")]
    HostCount {
        /// Entries in `host`.
        hosts: usize,
        /// Entries in `hostaddr`.
        addrs: usize,
    },
    /// The `port` list is neither one port nor one per host.
    #[error("could not match {ports} port numbers to {hosts} hosts")]
    PortCount {
        /// Entries in `port`.
        ports: usize,
        /// Number of hosts.
        hosts: usize,
    },
    /// No user name was given and the operating system has none for this process.
    #[error("could not look up local user name")]
    NoUser,
    /// A value outside a keyword's closed set.
    #[error("invalid {keyword} value: \"{value}\"")]
    InvalidValue {
        keyword: &'static str,
        /// The value given.
        value: String,
    },
    /// A TLS protocol version libpq does not know (libpq quotes the keyword here).
    #[error("invalid \"{keyword}\" value: \"{value}\"")]
    InvalidTlsVersion {
        /// `ssl_min_protocol_version` or `ssl_max_protocol_version`.
        keyword: &'static str,
        /// The value given.
        value: String,
    },
    /// `ssl_min_protocol_version` above `ssl_max_protocol_version`.
    #[error("invalid SSL protocol version range")]
    TlsVersionRange,
    /// `min_protocol_version` above `max_protocol_version`.
    #[error("\"min_protocol_version\" is greater than \"max_protocol_version\"")]
    ProtocolVersionRange,
    /// A negated `require_auth` method after plain ones.
    #[error("negative require_auth method \"{0}\" cannot be mixed with non-negative methods")]
    RequireAuthNegativeMixed(String),
    /// A plain `require_auth` method after negated ones.
    #[error("require_auth method \"{0}\" cannot be mixed with negative methods")]
    RequireAuthPositiveMixed(String),
    /// A `require_auth` method named twice.
    #[error("require_auth method \"{0}\" is specified more than once")]
    RequireAuthDuplicate(String),
    /// `sslrootcert=system` with a mode that does not verify the host name.
    #[error("weak sslmode \"{0}\" may not be used with sslrootcert=system (use \"verify-full\")")]
    WeakSslModeWithSystemRoots(String),
    /// `sslnegotiation=direct` with a mode that allows plaintext.
    #[error(
        "weak sslmode \"{0}\" may not be used with sslnegotiation=direct (use \"require\", \"verify-ca\", or \"verify-full\")"
    )]
    WeakSslModeWithDirect(String),
    /// `scram_client_key` or `scram_server_key` is not base64.
    #[error("invalid SCRAM {0} key")]
    ScramKey(&'static str),
    /// `scram_client_key` or `scram_server_key` decodes to the wrong length.
    #[error("invalid SCRAM {which} key length: {len}")]
    ScramKeyLength {
        /// `client` or `server`.
        which: &'static str,
        /// The decoded length.
        len: usize,
    },
    /// A value that must be an integer is not one.
    #[error("invalid integer value \"{value}\" for connection option \"{keyword}\"")]
    InvalidInteger {
        keyword: &'static str,
        /// The value given.
        value: String,
    },
    /// A port outside 1..=65535.
    #[error("invalid port number: \"{0}\"")]
    InvalidPort(String),
    /// A `hostaddr` entry that is not a numeric IP address.
    #[error("could not parse network address \"{0}\": Name or service not known")]
    InvalidHostaddr(String),
}
