//! Exit codes: the one table that scripts depend on (see README). Nothing else decides a code.

use std::process::ExitCode;

/// The documented exit codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Code {
    /// Every target connects as its sslmode requires, and no policy failed.
    Ok = 0,
    /// Internal error (a bug).
    Internal = 1,
    /// Usage or configuration error.
    Usage = 2,
    /// Server unreachable.
    Unreachable = 3,
    /// TLS required but not offered.
    TlsNotOffered = 4,
    /// TLS handshake failed.
    HandshakeFailed = 5,
    /// Server certificate not trusted.
    Untrusted = 6,
    /// Server certificate does not match the host name.
    NameMismatch = 7,
    /// Rejected after TLS.
    Rejected = 8,
    /// Connected, but a requested policy failed.
    PolicyFailed = 9,
}

/// Every code with what it means: the table of the README and of `--help`.
pub const MEANINGS: [(Code, &str); 10] = [
    (
        Code::Ok,
        "every target connects as its sslmode requires, and no policy failed",
    ),
    (Code::Internal, "internal error (a bug)"),
    (
        Code::Usage,
        "usage or configuration error: bad flag, bad connection string, unreadable or invalid certificate, key or root file",
    ),
    (
        Code::Unreachable,
        "server unreachable: name resolution, refused, timeout, closed early, not a PostgreSQL server",
    ),
    (Code::TlsNotOffered, "TLS required but not offered"),
    (Code::HandshakeFailed, "TLS handshake failed"),
    (Code::Untrusted, "server certificate not trusted"),
    (
        Code::NameMismatch,
        "server certificate does not match the host name",
    ),
    (
        Code::Rejected,
        "rejected after TLS: pg_hba, authentication failure, required client certificate missing",
    ),
    (
        Code::PolicyFailed,
        "connected, but a requested policy failed",
    ),
];

/// The exit codes as a help section.
pub fn help_table() -> String {
    let mut out = String::from("Exit codes (with several targets, the largest of theirs):\n");
    for (code, meaning) in MEANINGS {
        out.push_str(&format!("  {}  {meaning}\n", code as u8));
    }
    out
}

impl From<Code> for ExitCode {
    fn from(code: Code) -> Self {
        ExitCode::from(code as u8)
    }
}

/// The exit code of one attempt's outcome.
pub fn outcome_code(outcome: crate::report::Outcome) -> Code {
    use crate::report::Outcome;
    match outcome {
        Outcome::Accepted => Code::Ok,
        Outcome::Unreachable => Code::Unreachable,
        Outcome::TlsNotOffered => Code::TlsNotOffered,
        Outcome::HandshakeFailed => Code::HandshakeFailed,
        Outcome::Untrusted => Code::Untrusted,
        Outcome::NameMismatch => Code::NameMismatch,
        Outcome::Rejected => Code::Rejected,
        Outcome::ConfigError => Code::Usage,
    }
}

/// The exit code of a whole report: the largest of its targets'.
pub fn report_code(report: &crate::report::Report) -> Code {
    report
        .targets
        .iter()
        .map(|t| t.exit_code)
        .max()
        .map_or(Code::Ok, code_from_number)
}

fn code_from_number(n: u8) -> Code {
    MEANINGS
        .iter()
        .map(|(code, _)| *code)
        .find(|code| *code as u8 == n)
        .unwrap_or(Code::Internal)
}

/// Why a command could not run at all.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The connection string or its environment is invalid.
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    /// The TLS configuration (root file, CRL, protocol range) cannot be used.
    #[error(transparent)]
    Tls(#[from] crate::tls::TlsSetupError),
    /// A certificate file cannot be inspected.
    #[error(transparent)]
    Inspect(#[from] crate::inspect::InspectError),
    /// An output file cannot be written.
    #[error("could not write \"{}\": {source}", path.display())]
    Write {
        /// The file.
        path: std::path::PathBuf,
        /// Why.
        source: crate::files::FileError,
    },
    /// The client certificate or key cannot be used.
    #[error(transparent)]
    ClientCert(#[from] crate::tls::client_cert::ClientCertError),
    /// A targets file cannot be read.
    #[error("could not read targets file \"{}\": {source}", path.display())]
    Targets {
        /// The file.
        path: std::path::PathBuf,
        /// Why.
        source: crate::files::FileError,
    },
    /// The async runtime could not start.
    #[error("could not start the runtime: {0}")]
    Runtime(std::io::Error),
    /// Writing the output failed.
    #[error("could not write output: {0}")]
    Output(#[from] std::io::Error),
}

impl Error {
    /// The exit code for this error.
    pub fn code(&self) -> Code {
        match self {
            Error::Config(_)
            | Error::Tls(_)
            | Error::Inspect(_)
            | Error::Write { .. }
            | Error::Targets { .. }
            | Error::ClientCert(_) => Code::Usage,
            Error::Runtime(_) | Error::Output(_) => Code::Internal,
        }
    }

    /// Advice to print after the message, where the mistake is a common one.
    pub fn hint(&self) -> Option<String> {
        use crate::config::ConfigError;
        use crate::conninfo::ParseError;
        match self {
            // `pgtls check db.example.com`: psql would take the word as a database name, but a
            // CONNINFO argument is a connection string.
            Error::Config(ConfigError::Parse(ParseError::MissingEquals(word)))
                if word.contains("://") =>
            {
                Some(
                    "libpq reads a URI only when it starts with postgresql:// or postgres://, in lower case"
                        .to_string(),
                )
            }
            Error::Config(ConfigError::Parse(ParseError::MissingEquals(word)))
                if word == "localhost" || word.contains(['.', ':']) =>
            {
                Some(format!(
                    "a connection string is key=value pairs or a postgresql:// URI: for a server, write \"host={word}\""
                ))
            }
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
        crate::render::sanitize::clean_lines(&err.to_string())
    );
    if let Some(hint) = err.hint() {
        eprintln!("pgtls: hint: {}", crate::render::sanitize::clean(&hint));
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
    fn configuration_errors_exit_2_and_output_errors_exit_1() {
        assert_eq!(
            Error::Config(ConfigError::TlsVersionRange).code(),
            Code::Usage
        );
        let io = std::io::Error::other("disk full");
        assert_eq!(Error::Output(io).code(), Code::Internal);
    }

    #[test]
    fn every_outcome_has_its_documented_code() {
        use crate::report::Outcome;
        let table = [
            (Outcome::Accepted, 0),
            (Outcome::ConfigError, 2),
            (Outcome::Unreachable, 3),
            (Outcome::TlsNotOffered, 4),
            (Outcome::HandshakeFailed, 5),
            (Outcome::Untrusted, 6),
            (Outcome::NameMismatch, 7),
            (Outcome::Rejected, 8),
        ];
        for (outcome, code) in table {
            assert_eq!(outcome_code(outcome) as u8, code, "{outcome:?}");
            assert_eq!(code_from_number(code) as u8, code);
        }
    }

    #[test]
    fn codes_are_the_documented_numbers() {
        let codes = [
            (Code::Ok, 0),
            (Code::Internal, 1),
            (Code::Usage, 2),
            (Code::Unreachable, 3),
            (Code::TlsNotOffered, 4),
            (Code::HandshakeFailed, 5),
            (Code::Untrusted, 6),
            (Code::NameMismatch, 7),
            (Code::Rejected, 8),
            (Code::PolicyFailed, 9),
        ];
        for (code, number) in codes {
            assert_eq!(code as u8, number, "{code:?}");
        }
    }
}
