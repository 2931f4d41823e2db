//! Exit codes: the one table that scripts depend on (see README). `judge` decides each target's
//! code from it; nothing else does.

use std::process::ExitCode;

/// The documented exit codes, ordered by number (with several targets, the largest wins).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub enum Code {
    /// Every target connects as its sslmode requires, and no policy failed.
    #[default]
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
    /// Interrupted (Ctrl-C): the run's, never a target's.
    Interrupted = 130,
}

/// Every code with what it means: the table of the README and of `--help`.
pub const MEANINGS: [(Code, &str); 11] = [
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
    (
        Code::Interrupted,
        "interrupted (Ctrl-C): the targets that finished are reported",
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

impl serde::Serialize for Code {
    /// The number, as scripts read it.
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_u8(*self as u8)
    }
}

impl std::fmt::Display for Code {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", *self as u8)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
            (Code::Interrupted, 130),
        ];
        assert_eq!(codes.len(), MEANINGS.len());
        for ((code, number), (listed, _)) in codes.into_iter().zip(MEANINGS) {
            assert_eq!(code as u8, number, "{code:?}");
            assert_eq!(listed, code);
        }
    }
}
