//! Every finding code, with what it means: one typed list, from which the JSON name, the
//! meaning and the manual's table (`docs/json.md`) all come. Codes are stable: a JSON consumer
//! may match on them.

/// Declares [`FindingCode`] from `Variant = "name": "meaning"` rows.
macro_rules! finding_codes {
    ($($variant:ident = $name:literal : $meaning:literal,)*) => {
        /// What a finding is about: a stable identifier (its JSON name is the snake_case one).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
        pub enum FindingCode {
            $(
                #[doc = $meaning]
                #[serde(rename = $name)]
                $variant,
            )*
        }

        impl FindingCode {
            /// Every code, grouped as the manual shows them.
            pub const ALL: &[FindingCode] = &[$(FindingCode::$variant),*];

            /// The code as JSON and text show it.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(FindingCode::$variant => $name,)*
                }
            }

            /// What the code means, as the manual's table says it.
            pub fn meaning(self) -> &'static str {
                match self {
                    $(FindingCode::$variant => $meaning,)*
                }
            }
        }
    };
}

finding_codes! {
    // The verdict.
    Configuration = "configuration": "a local setting or file (root file, CRL, client certificate, connection string) stopped or weakened the check",
    Unreachable = "unreachable": "the server could not be reached, or is not PostgreSQL",
    TlsNotOffered = "tls_not_offered": "TLS was required and the server did not offer it",
    HandshakeFailed = "handshake_failed": "the TLS handshake failed (protocol versions, ciphers, ALPN)",
    UntrustedCertificate = "untrusted_certificate": "the chain does not verify against the root file or store",
    HostNameMismatch = "host_name_mismatch": "the certificate is not valid for the host name (verify-full)",
    Rejected = "rejected": "the server refused the connection or the login",
    InternalError = "internal_error": "a check that failed inside pgtls",
    // What the sslmode leaves open.
    Plaintext = "plaintext": "the connection is (or falls back to) unencrypted",
    ChainNotVerified = "chain_not_verified": "this sslmode does not verify the certificate chain",
    HostNameNotVerified = "host_name_not_verified": "this sslmode does not check the host name",
    UnixSocket = "unix_socket": "a Unix-domain socket: TLS does not apply",
    OAuthIssuerUnverified = "oauth_issuer_unverified": "the OAuth issuer's HTTPS endpoint the server advertises does not verify as libpq's OAuth flow would reach it, or its document names another issuer",
    NotLoggedIn = "not_logged_in": "no password is configured: the check stopped at the server's authentication request",
    ServerViewDiffers = "server_view_differs": "the server's pg_stat_ssl shows another session than the one negotiated",
    PoolerInFront = "pooler_in_front": "a pooler or proxy answers for the server: pgtls checked the client's leg to it",
    ProtocolVersionRefused = "protocol_version_refused": "a pooler refuses the protocol version asked for instead of negotiating",
    CrossSigned = "cross_signed": "the chain holds a cross-signed copy of a known root",
    // Certificates.
    ExpiresSoon = "expires_soon": "a certificate expires within --warn-days",
    CaExpiresBeforeLeaf = "ca_expires_before_leaf": "a CA of the presented chain expires before the server certificate it signed",
    RootExpiresBeforeChain = "root_expires_before_chain": "the root that anchors the chain expires before every certificate the server presents",
    ExpiryThreshold = "expiry_threshold": "a certificate expires within --crit-days (the check fails with 9)",
    Expired = "expired": "a certificate has expired",
    WeakKey = "weak_key": "a key shorter than current guidance (RSA under 2048 bits)",
    WeakSignature = "weak_signature": "a signature with SHA-1 or MD5",
    ChainOrder = "chain_order": "the server sends its chain out of order",
    SuperfluousRoot = "superfluous_root": "the server sends its root, which clients ignore",
    MissingIntermediate = "missing_intermediate": "the server does not send the intermediate its certificate needs",
    NoSan = "no_san": "the server certificate has no subject alternative name",
    LongValidity = "long_validity": "the server certificate is valid for longer than public CAs issue",
    ChannelBindingImpossible = "channel_binding_impossible": "channel_binding=require cannot succeed with this certificate or server",
    ServedCertificateDiffers = "served_certificate_differs": "the server serves another certificate than the one --expect-cert names (not reloaded, or another file)",
    NameNotCovered = "name_not_covered": "the certificate does not cover a name of --also-names by the rules of the client judged",
    HelloRetry = "hello_retry": "the server's key exchange group costs libpq a HelloRetryRequest, one more round trip on every connection",
    OlderStackFails = "older_stack_fails": "older versions of a client's TLS library offer none of the key exchange groups the server accepts (only post-quantum ones): they cannot connect",
    // --audit.
    OldProtocol = "old_protocol": "the server accepts TLS 1.1 or older",
    NoTls13 = "no_tls13": "the server does not accept TLS 1.3",
    LegacySuite = "legacy_suite": "the server accepts a legacy cipher suite family (static RSA, CBC, 3DES, RC4, export, null)",
    PlaintextAccepted = "plaintext_accepted": "the server proceeds with a startup message sent without TLS",
    NoPostQuantum = "no_post_quantum": "the server accepts no post-quantum key exchange group (X25519MLKEM768 and the others the audit tries)",
    NoDirectTls = "no_direct_tls": "the server does not accept direct TLS (sslnegotiation=direct)",
    ProtocolNegotiationBroken = "protocol_negotiation_broken": "the server does not negotiate an unknown protocol version or option (GREASE) as it must",
    CancelOverTlsRefused = "cancel_over_tls_refused": "the server does not take a cancel request over TLS, as libpq 17 and later send it",
    SniRequired = "sni_required": "the server answers otherwise without SNI (an SNI-routing proxy)",
    SniNameNotCovered = "sni_name_not_covered": "the certificate the server presents for a name of --sni-names does not cover that name",
    SniCertificateDiffers = "sni_certificate_differs": "the server presents another certificate without SNI",
    AuditIncomplete = "audit_incomplete": "some audit probes did not finish within the deadline",
    // --client.
    ClientDiffers = "client_differs": "this client's verdict differs from libpq's on the same server",
    ClientUnverified = "client_unverified": "this client connects without verifying the certificate, or without encryption",
    ClientNotModelled = "client_not_modelled": "a setting the client model does not cover",
    VerificationNotModelled = "verification_not_modelled": "the driver's certificate checks are replaced by code pgtls cannot see (a custom SSL factory, host-name verifier or TLS configuration)",
    IgnoredParameter = "ignored_parameter": "the driver ignores a parameter of its string that it does not know (a typo, as a rule)",
    // inspect --lint.
    Duplicate = "duplicate": "a certificate appears more than once in the file",
    LeafCertificate = "leaf_certificate": "a server certificate in a root file",
    IntermediateCertificate = "intermediate_certificate": "an intermediate CA in a root file (not an anchor for libpq)",
    MissingRoot = "missing_root": "a root the profile requires is missing from the file",
    MissingRecommendedRoot = "missing_recommended_root": "a root the profile recommends is missing from the file (info: the file works for most servers)",
    LookalikeRoot = "lookalike_root": "a certificate carries the name of a profile's root but not its key (a stale download, or an intercepting proxy's root)",
    RotationRootMissing = "rotation_root_missing": "a root the provider has announced for a rotation is missing from the root file (warning until the date, error from it)",
}

impl std::fmt::Display for FindingCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::FindingCode;

    #[test]
    fn the_manuals_table_lists_exactly_these_codes() {
        let manual = include_str!("../docs/json.md");
        let rows: Vec<String> = FindingCode::ALL
            .iter()
            .map(|code| format!("| `{code}` | {} |", code.meaning()))
            .collect();
        let table = rows.join("\n");
        assert!(
            manual.contains(&table),
            "docs/json.md's finding-code table is not the code's; it should read:\n| code | meaning |\n|---|---|\n{table}"
        );
    }

    #[test]
    fn every_code_is_made_somewhere() {
        let sources = [
            include_str!("judge/findings.rs"),
            include_str!("judge/audit.rs"),
            include_str!("judge/certs.rs"),
            include_str!("judge/expiry.rs"),
            include_str!("judge/clients.rs"),
            include_str!("judge/refused.rs"),
            include_str!("judge/pooler.rs"),
            include_str!("judge/provider.rs"),
            include_str!("judge/lint.rs"),
            include_str!("judge/groups.rs"),
            include_str!("judge/expect.rs"),
            include_str!("judge/mod.rs"),
        ]
        .map(|s| s.split("#[cfg(test)]").next().unwrap_or(s))
        .join("\n");
        let unused: Vec<&FindingCode> = FindingCode::ALL
            .iter()
            .filter(|code| !sources.contains(&format!("FindingCode::{code:?}")))
            .collect();
        assert!(
            unused.is_empty(),
            "codes no finding is made with: {unused:?}"
        );
    }
}
