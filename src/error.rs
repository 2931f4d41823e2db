//! Why a command could not run at all, as typed errors with their exit codes and hints; printing
//! them once, at the top; and keeping a verdict's code when its reader closed the pipe.

use crate::exit::Code;

/// Why a command could not run at all.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The connection string or its environment is invalid.
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    /// A driver refuses its connection string (`--client`).
    #[error(transparent)]
    Driver(#[from] crate::clients::DriverError),
    /// The TLS configuration (root file, CRL, protocol range) cannot be used.
    #[error(transparent)]
    Tls(#[from] crate::tls::TlsSetupError),
    /// A certificate file cannot be inspected.
    #[error(transparent)]
    Inspect(#[from] crate::inspect::InspectError),
    /// A profile file cannot be used.
    #[error(transparent)]
    Profile(#[from] crate::profiles::ProfileError),
    /// `--profile` names no profile.
    #[error(transparent)]
    UnknownProfile(#[from] crate::profiles::UnknownProfile),
    /// An output file cannot be written.
    #[error("could not write \"{}\": {source}", path.display())]
    Write {
        path: std::path::PathBuf,
        source: crate::files::FileError,
    },
    /// The client certificate or key cannot be used.
    #[error(transparent)]
    ClientCert(#[from] crate::tls::client_cert::ClientCertError),
    /// A targets file cannot be read.
    #[error("could not read targets file \"{}\": {source}", path.display())]
    Targets {
        path: std::path::PathBuf,
        source: crate::files::FileError,
    },
    /// An output file that is there already, and neither --force nor --append was given.
    #[error(
        "\"{}\" exists; pass --append to add what it lacks, or --force to replace it",
        .0.display()
    )]
    Exists(std::path::PathBuf),
    /// A PEM file to append to that is not one.
    #[error("cannot append to \"{}\": {reason}", path.display())]
    Append {
        path: std::path::PathBuf,
        reason: String,
    },
    /// A truststore that could not be encoded.
    #[error("could not encode the truststore: {0}")]
    Keystore(#[from] crate::keystore::KeystoreError),
    /// A binary format asked for on standard output without a file.
    #[error("a PKCS#12 truststore is binary: write it to a file with -o FILE")]
    BinaryNeedsFile,
    /// `pgtls serve` cannot start, or stopped.
    #[error(transparent)]
    Serve(#[from] crate::serve::ServeError),
    /// Flags that do not go together.
    #[error("{0}")]
    Usage(String),
    /// The async runtime could not start.
    #[error("could not start the runtime: {0}")]
    Runtime(std::io::Error),
    /// Writing the output failed.
    #[error("could not write output: {0}")]
    Output(#[from] std::io::Error),
}

impl From<crate::clients::ReadError> for Error {
    fn from(e: crate::clients::ReadError) -> Self {
        match e {
            crate::clients::ReadError::Config(e) => Error::Config(e),
            crate::clients::ReadError::Driver(e) => Error::Driver(e),
        }
    }
}

impl From<crate::fleet::FleetError> for Error {
    fn from(e: crate::fleet::FleetError) -> Self {
        match e {
            crate::fleet::FleetError::Tls(e) => Error::Tls(e),
            crate::fleet::FleetError::ClientCert(e) => Error::ClientCert(e),
            crate::fleet::FleetError::Runtime(e) => Error::Runtime(e),
        }
    }
}

impl Error {
    /// The exit code for this error.
    pub fn code(&self) -> Code {
        match self {
            Error::Config(_)
            | Error::Driver(_)
            | Error::Tls(_)
            | Error::Inspect(_)
            | Error::Profile(_)
            | Error::UnknownProfile(_)
            | Error::Write { .. }
            | Error::Targets { .. }
            | Error::ClientCert(_)
            | Error::BinaryNeedsFile
            | Error::Keystore(_)
            | Error::Exists(_)
            | Error::Append { .. }
            | Error::Usage(_) => Code::Usage,
            Error::Serve(e) => e.code(),
            Error::Runtime(_) | Error::Output(_) => Code::Internal,
        }
    }

    /// Advice to print after the message, where the mistake is a common one.
    pub fn hint(&self) -> Option<String> {
        match self {
            Error::Config(e) => crate::config::suggest::hint(e),
            _ => None,
        }
    }

    /// Whether the error is a closed pipe on output, which ends the program quietly.
    pub fn is_broken_pipe(&self) -> bool {
        matches!(self, Error::Output(e) if e.kind() == std::io::ErrorKind::BrokenPipe)
    }
}

/// Prints an error (and its hint) to standard error, as the program's one place for them.
pub fn print_error(err: &Error) {
    eprintln!(
        "pgtls: error: {}",
        crate::sanitize::clean_lines(&err.to_string())
    );
    if let Some(hint) = err.hint() {
        eprintln!("pgtls: hint: {}", crate::sanitize::clean(&hint));
    }
}

/// The verdict's code once its output is written: a reader that closed the pipe early (`| head`)
/// ends the output quietly but never turns a failing verdict into success.
///
/// # Errors
/// Any other failure to write.
pub fn after_output(code: Code, written: Result<(), Error>) -> Result<Code, Error> {
    match written {
        Err(err) if err.is_broken_pipe() => Ok(code),
        Err(err) => Err(err),
        Ok(()) => Ok(code),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::ConfigError;

    #[test]
    fn a_bare_word_for_a_connection_string_gets_a_hint() {
        let err = Error::Config(ConfigError::Parse(
            crate::conninfo::ParseError::MissingEquals("db.example.com".into()),
        ));
        assert!(
            err.hint()
                .unwrap()
                .ends_with("write \"host=db.example.com\"")
        );
        assert_eq!(Error::Config(ConfigError::TlsVersionRange).hint(), None);
        // `host=x user`, and a stray word after a password, are other mistakes.
        for word in ["user", "(redacted)"] {
            let err = Error::Config(ConfigError::Parse(
                crate::conninfo::ParseError::MissingEquals(word.into()),
            ));
            assert_eq!(err.hint(), None, "{word}");
        }
    }

    #[test]
    fn typos_get_a_did_you_mean_after_libpqs_message() {
        use crate::conninfo::ParseError;
        let cases = [
            (
                Error::Config(ConfigError::Parse(ParseError::UnknownKeyword(
                    "sslmod".into(),
                ))),
                Some("did you mean \"sslmode\"?"),
            ),
            (
                Error::Config(ConfigError::Parse(ParseError::UnknownKeyword(
                    "(redacted)".into(),
                ))),
                None,
            ),
            (
                Error::Config(ConfigError::Parse(ParseError::UnknownKeyword("ssl".into()))),
                Some(
                    "ssl=true is pgjdbc's and node-postgres's spelling; libpq's keyword is sslmode: sslmode=verify-full with sslrootcert=FILE verifies the server, sslmode=require only encrypts",
                ),
            ),
            (
                Error::Config(ConfigError::Parse(ParseError::UnknownKeyword(
                    "jdbc:postgres://db/app?user".into(),
                ))),
                Some(
                    "a JDBC URL for pgjdbc starts with jdbc:postgresql: (pgjdbc answers \"No suitable driver\" to any other); write jdbc:postgresql://HOST:PORT/DATABASE?...",
                ),
            ),
            (
                Error::Config(ConfigError::InvalidValue {
                    keyword: "sslmode",
                    value: "verify_full".into(),
                }),
                Some(
                    "did you mean \"verify-full\"? (sslmode takes disable, allow, prefer, require, verify-ca, verify-full)",
                ),
            ),
            (
                Error::Config(ConfigError::InvalidValue {
                    keyword: "channel_binding",
                    value: "always".into(),
                }),
                Some("channel_binding takes disable, prefer, require"),
            ),
        ];
        for (err, hint) in cases {
            assert_eq!(err.hint().as_deref(), hint, "{err}");
        }
    }

    #[test]
    fn configuration_errors_exit_2_and_output_errors_exit_1() {
        assert_eq!(
            Error::Config(ConfigError::TlsVersionRange).code(),
            Code::Usage
        );
        let io = std::io::Error::other("disk full");
        assert_eq!(Error::Output(io).code(), Code::Internal);
    }
}
