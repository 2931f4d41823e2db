//! The closed sets of values that libpq validates, as typed enums.

use serde::Serialize;

use super::ConfigError;

macro_rules! closed_set {
    ($(#[$meta:meta])* $name:ident, $keyword:literal, { $($(#[$vmeta:meta])* $variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, schemars::JsonSchema)]
        pub enum $name {
            $($(#[$vmeta])* #[serde(rename = $text)] $variant),+
        }

        impl $name {
            /// Parses the value as libpq does: exact, case-sensitive.
            ///
            /// # Errors
            /// `invalid <keyword> value: "<value>"`.
            pub fn parse(value: &str) -> Result<Self, ConfigError> {
                match value {
                    $($text => Ok(Self::$variant),)+
                    _ => Err(ConfigError::InvalidValue { keyword: $keyword, value: value.to_string() }),
                }
            }

            /// The value as written in a connection string.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(Self::$variant => $text,)+
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl std::str::FromStr for $name {
            type Err = ConfigError;

            fn from_str(value: &str) -> Result<Self, ConfigError> {
                Self::parse(value)
            }
        }
    };
}

closed_set!(
    /// `sslmode`, weakest first.
    SslMode, "sslmode", {
        /// Plaintext only.
        Disable => "disable",
        /// Plaintext, then TLS if the server insists.
        Allow => "allow",
        /// TLS, then plaintext after any TLS failure.
        Prefer => "prefer",
        /// TLS only; chain verified only when a root file exists.
        Require => "require",
        /// TLS with a verified chain.
        VerifyCa => "verify-ca",
        /// TLS with a verified chain and host name.
        VerifyFull => "verify-full",
    }
);

/// One connection attempt's transport.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    /// No TLS.
    Plaintext,
    /// TLS (after SSLRequest, or direct).
    Tls,
}

impl Transport {
    /// `plaintext` or `tls`, as `explain` shows it.
    pub fn as_str(self) -> &'static str {
        match self {
            Transport::Plaintext => "plaintext",
            Transport::Tls => "tls",
        }
    }
}

impl SslMode {
    /// Whether a plaintext connection can be the outcome.
    pub fn allows_plaintext(self) -> bool {
        self <= SslMode::Prefer
    }

    /// The transports libpq tries, in its order: the second only after the first fails (a
    /// plaintext one the server refuses, a TLS one that fails for any reason). Over a Unix-domain
    /// socket libpq never uses TLS.
    pub fn attempts(self, unix: bool) -> &'static [Transport] {
        use Transport::{Plaintext, Tls};
        match (unix, self) {
            (true, _) | (false, SslMode::Disable) => &[Plaintext],
            (false, SslMode::Allow) => &[Plaintext, Tls],
            (false, SslMode::Prefer) => &[Tls, Plaintext],
            (false, _) => &[Tls],
        }
    }

    /// Whether libpq verifies the chain over TLS: verify-ca and verify-full always; the weaker
    /// modes that try TLS whenever a root file is there (require then acts as verify-ca).
    pub fn verifies_chain(self, root_file_exists: bool) -> bool {
        self.requires_root_file() || (self > SslMode::Disable && root_file_exists)
    }

    /// Whether a missing root file stops libpq: verify-ca and verify-full.
    pub fn requires_root_file(self) -> bool {
        self >= SslMode::VerifyCa
    }
}

closed_set!(
    /// `sslnegotiation`.
    SslNegotiation, "sslnegotiation", {
        /// SSLRequest first, then the handshake.
        Postgres => "postgres",
        /// The handshake at once, with ALPN `postgresql` (PostgreSQL 17+).
        Direct => "direct",
    }
);

closed_set!(
    /// `sslcertmode`.
    SslCertMode, "sslcertmode", {
        /// Never send a client certificate.
        Disable => "disable",
        /// Send one if configured and asked for.
        Allow => "allow",
        /// Fail unless the server asked for one and one was sent.
        Require => "require",
    }
);

closed_set!(
    /// `channel_binding`.
    ChannelBinding, "channel_binding", {
        /// Never use channel binding.
        Disable => "disable",
        /// Use it when the server offers it.
        Prefer => "prefer",
        /// Fail unless it is used.
        Require => "require",
    }
);

closed_set!(
    /// `gssencmode`.
    GssEncMode, "gssencmode", {
        /// Never use GSSAPI encryption.
        Disable => "disable",
        /// Use it when credentials exist.
        Prefer => "prefer",
        /// Fail unless it is used.
        Require => "require",
    }
);

closed_set!(
    /// `target_session_attrs`.
    TargetSessionAttrs, "target_session_attrs", {
        /// Any server.
        Any => "any",
        /// A server that accepts writes.
        ReadWrite => "read-write",
        /// A server that refuses writes.
        ReadOnly => "read-only",
        /// A primary.
        Primary => "primary",
        /// A standby.
        Standby => "standby",
        /// A standby if there is one.
        PreferStandby => "prefer-standby",
    }
);

closed_set!(
    /// `load_balance_hosts`.
    LoadBalanceHosts, "load_balance_hosts", {
        /// Hosts in order.
        Disable => "disable",
        /// Hosts in random order.
        Random => "random",
    }
);

/// A TLS protocol version as libpq names it in `ssl_min_protocol_version`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, schemars::JsonSchema)]
pub enum TlsVersion {
    /// TLS 1.0.
    #[serde(rename = "TLSv1")]
    Tls10,
    /// TLS 1.1.
    #[serde(rename = "TLSv1.1")]
    Tls11,
    /// TLS 1.2.
    #[serde(rename = "TLSv1.2")]
    Tls12,
    /// TLS 1.3.
    #[serde(rename = "TLSv1.3")]
    Tls13,
}

impl TlsVersion {
    /// Parses libpq's spelling, case-insensitively; an empty value means "no bound".
    ///
    /// # Errors
    /// `invalid "<keyword>" value: "<value>"`.
    pub fn parse(keyword: &'static str, value: &str) -> Result<Option<Self>, ConfigError> {
        Ok(Some(match value.to_ascii_lowercase().as_str() {
            "" => return Ok(None),
            "tlsv1" => TlsVersion::Tls10,
            "tlsv1.1" => TlsVersion::Tls11,
            "tlsv1.2" => TlsVersion::Tls12,
            "tlsv1.3" => TlsVersion::Tls13,
            _ => {
                return Err(ConfigError::InvalidTlsVersion {
                    keyword,
                    value: value.to_string(),
                });
            }
        }))
    }
}

impl std::fmt::Display for TlsVersion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            TlsVersion::Tls10 => "TLSv1",
            TlsVersion::Tls11 => "TLSv1.1",
            TlsVersion::Tls12 => "TLSv1.2",
            TlsVersion::Tls13 => "TLSv1.3",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sslmodes_are_ordered_weakest_first() {
        assert!(SslMode::Prefer.allows_plaintext());
        assert!(!SslMode::Require.allows_plaintext());
        assert_eq!(SslMode::parse("verify-full").unwrap(), SslMode::VerifyFull);
    }

    #[test]
    fn closed_sets_are_case_sensitive_as_in_libpq() {
        let err = SslMode::parse("Require").unwrap_err();
        assert_eq!(err.to_string(), "invalid sslmode value: \"Require\"");
    }

    #[test]
    fn tls_versions_are_case_insensitive_and_empty_means_unbounded() {
        assert_eq!(
            TlsVersion::parse("k", "tlsV1.3").unwrap(),
            Some(TlsVersion::Tls13)
        );
        assert_eq!(TlsVersion::parse("k", "").unwrap(), None);
        let err = TlsVersion::parse("ssl_min_protocol_version", "TLSv1.0").unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid \"ssl_min_protocol_version\" value: \"TLSv1.0\""
        );
    }

    #[test]
    fn each_sslmode_tries_libpqs_transports_and_verifies_as_libpq_does() {
        use Transport::{Plaintext, Tls};
        // (mode, attempts over TCP, verifies without a root file, with one)
        let table: [(SslMode, &[Transport], bool, bool); 6] = [
            (SslMode::Disable, &[Plaintext], false, false),
            (SslMode::Allow, &[Plaintext, Tls], false, true),
            (SslMode::Prefer, &[Tls, Plaintext], false, true),
            (SslMode::Require, &[Tls], false, true),
            (SslMode::VerifyCa, &[Tls], true, true),
            (SslMode::VerifyFull, &[Tls], true, true),
        ];
        for (mode, attempts, without, with) in table {
            assert_eq!(mode.attempts(false), attempts, "{mode:?}");
            assert_eq!(mode.attempts(true), &[Plaintext], "{mode:?} over a socket");
            assert_eq!(mode.verifies_chain(false), without, "{mode:?}");
            assert_eq!(mode.verifies_chain(true), with, "{mode:?}");
        }
    }
}
