//! Key exchange groups: the ones aws-lc-rs's rustls provider has, plus two that OpenSSL 3.5 and
//! Go offer and rustls does not, P-521 and the hybrid SecP384r1MLKEM1024, built here on
//! aws-lc-rs's own primitives. Which client offers which, and in what order, is [`Offer`].

use aws_lc_rs::agreement::{self, EphemeralPrivateKey, UnparsedPublicKey};
use rustls::crypto::aws_lc_rs::kx_group;
use rustls::crypto::{ActiveKeyExchange, CompletedKeyExchange, SharedSecret, SupportedKxGroup};
use rustls::ffdhe_groups::FfdheGroup;
use rustls::{Error, NamedGroup, PeerMisbehaved, ProtocolVersion};

/// Ephemeral ECDH on P-521 (secp521r1), which OpenSSL, Go and the JDK offer by default.
pub(crate) static SECP521R1_KX: &dyn SupportedKxGroup = &Ecdh {
    name: NamedGroup::secp521r1,
    algorithm: &agreement::ECDH_P521,
};

/// The hybrid SecP384r1MLKEM1024 (draft-ietf-tls-ecdhe-mlkem): the P-384 share (97 bytes)
/// first, then the ML-KEM-1024 encapsulation key or ciphertext (1568 bytes); the secret is the
/// ECDH secret followed by ML-KEM's.
pub(crate) static SECP384R1MLKEM1024_KX: &dyn SupportedKxGroup = &ClassicalFirst {
    name: NamedGroup::Unknown(0x11ed),
    classical: kx_group::SECP384R1,
    post_quantum: kx_group::MLKEM1024,
    classical_len: 97,
    post_quantum_server_len: 1568,
};

/// What a client's TLS stack offers in its first ClientHello: its supported groups in order and
/// the ones it sends a key share for, as IANA code points. Read off each stack's ClientHello
/// (the tests check them against the real clients' hellos).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Offer {
    /// The stack and its versions, in words.
    pub stack: &'static str,
    /// The supported groups, most preferred first.
    pub groups: &'static [u16],
    /// The groups with a key share in the first flight.
    pub shares: &'static [u16],
}

use code::*;

/// IANA code points.
mod code {
    pub(super) const X25519MLKEM768: u16 = 0x11ec;
    pub(super) const X25519: u16 = 0x001d;
    pub(super) const P256: u16 = 0x0017;
    pub(super) const P384: u16 = 0x0018;
    pub(super) const P521: u16 = 0x0019;
    pub(super) const X448: u16 = 0x001e;
    pub(super) const SECP256R1MLKEM768: u16 = 0x11eb;
    pub(super) const SECP384R1MLKEM1024: u16 = 0x11ed;
    pub(super) const FFDHE: [u16; 5] = [0x0100, 0x0101, 0x0102, 0x0103, 0x0104];
}

/// OpenSSL 3.5 and later (its `DEFAULT` group list): libpq as psycopg bundles it and as current
/// distributions ship it, Node.js 22.20 and later.
pub const OPENSSL_35: Offer = Offer {
    stack: "OpenSSL 3.5 or later",
    groups: &[
        X25519MLKEM768,
        X25519,
        P256,
        X448,
        P384,
        P521,
        FFDHE[0],
        FFDHE[1],
    ],
    shares: &[X25519MLKEM768, X25519],
};

/// OpenSSL 1.1.1 to 3.4: no post-quantum group.
pub const OPENSSL_30: Offer = Offer {
    stack: "OpenSSL older than 3.5",
    groups: &[
        X25519, P256, X448, P521, P384, FFDHE[0], FFDHE[1], FFDHE[2], FFDHE[3], FFDHE[4],
    ],
    shares: &[X25519],
};

/// The groups libpq offers: OpenSSL 3.5's.
pub const LIBPQ: Offer = OPENSSL_35;

/// The groups of the JDK's TLS stack, 17 to 25 (SunJSSE; no post-quantum group yet), with its key
/// shares for X25519 and P-256.
pub const JDK: Offer = Offer {
    stack: "the JDK (17 to 25)",
    groups: &[
        X25519, P256, P384, P521, X448, FFDHE[0], FFDHE[1], FFDHE[2], FFDHE[3], FFDHE[4],
    ],
    shares: &[X25519, P256],
};

/// Go 1.26's crypto/tls (pgx, lib/pq), with its key shares for X25519MLKEM768 and X25519.
pub const GO_126: Offer = Offer {
    stack: "Go 1.26",
    groups: &[
        X25519MLKEM768,
        SECP256R1MLKEM768,
        SECP384R1MLKEM1024,
        X25519,
        P256,
        P384,
        P521,
    ],
    shares: &[X25519MLKEM768, X25519],
};

/// Go 1.23 and older: no post-quantum group that servers accept.
pub const GO_123: Offer = Offer {
    stack: "Go 1.23 and older",
    groups: &[X25519, P256, P384, P521],
    shares: &[X25519],
};

/// rustls 0.23 on ring (sqlx's `tls-rustls`): no post-quantum group, P-384 first.
pub const RUSTLS_RING: Offer = Offer {
    stack: "rustls 0.23 on ring",
    groups: &[P384, X25519, P256],
    shares: &[P384],
};

/// What a client's TLS stack offers: at the versions modelled, and at the older versions users
/// still run where those offer other groups.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stack {
    /// The versions the verdict follows.
    pub current: Offer,
    /// Older versions still in use that offer other groups.
    pub older: Option<Offer>,
}

/// Each client's stack: libpq's OpenSSL, Node.js's bundled OpenSSL, the OpenSSL Python's `ssl`
/// links (asyncpg), the JDK (pgjdbc), the system's OpenSSL (.NET on Linux, Npgsql).
pub(crate) fn stack(client: crate::clients::Client) -> Stack {
    use crate::clients::Client;
    let openssl = |current: &'static str, older: &'static str| Stack {
        current: Offer {
            stack: current,
            ..OPENSSL_35
        },
        older: Some(Offer {
            stack: older,
            ..OPENSSL_30
        }),
    };
    match client {
        Client::Libpq => openssl(
            "libpq linked with OpenSSL 3.5 or later",
            "libpq linked with OpenSSL older than 3.5",
        ),
        Client::NodePostgres => openssl(
            "Node.js 22.20 or later and 24.5 or later (OpenSSL 3.5)",
            "Node.js 20, and 22 before 22.20 (OpenSSL 3.0)",
        ),
        Client::Asyncpg => openssl(
            "Python linked with OpenSSL 3.5 or later",
            "Python linked with OpenSSL older than 3.5",
        ),
        Client::Npgsql | Client::Npgsql9 => openssl(
            ".NET on a system with OpenSSL 3.5 or later",
            ".NET on a system with OpenSSL older than 3.5",
        ),
        Client::Pgjdbc | Client::Pgjdbc42_5 => Stack {
            current: JDK,
            older: None,
        },
        Client::Pgx | Client::LibPq | Client::LibPq1_10 => Stack {
            current: GO_126,
            older: Some(GO_123),
        },
        Client::Sqlx => Stack {
            current: RUSTLS_RING,
            older: None,
        },
        Client::TokioPostgres => openssl(
            "tokio-postgres on a system with OpenSSL 3.5 or later",
            "tokio-postgres on a system with OpenSSL older than 3.5",
        ),
    }
}

impl Offer {
    /// The groups of the offer pgtls can speak, in its order (X448 and the finite-field groups
    /// are left out).
    pub(crate) fn speakable(&self) -> Vec<&'static dyn SupportedKxGroup> {
        self.groups
            .iter()
            .filter_map(|&code| by_code(code))
            .collect()
    }

    /// Whether the offer holds the group named `name` (as [`name`] gives it).
    pub(crate) fn offers(&self, group: &str) -> bool {
        self.groups.iter().any(|&code| name(code) == group)
    }

    /// Whether a TLS 1.3 server that chose `group` had to ask this client for another key share
    /// first (a HelloRetryRequest, one more round trip).
    pub(crate) fn retries_for(&self, group: &str) -> bool {
        !self.shares.iter().any(|&code| name(code) == group)
    }

    /// The groups, named.
    pub(crate) fn names(&self) -> Vec<String> {
        self.groups.iter().map(|&code| name(code)).collect()
    }

    /// Whether two offers put the same hello on the wire, whoever makes them.
    pub(crate) fn same_hello(&self, other: &Offer) -> bool {
        self.groups == other.groups && self.shares == other.shares
    }
}

/// A group's name as OpenSSL 3.5 and the IETF name it.
pub(crate) fn name(code: u16) -> String {
    match code {
        P256 => "P-256".into(),
        P384 => "P-384".into(),
        P521 => "P-521".into(),
        X25519 => "X25519".into(),
        X448 => "X448".into(),
        0x0100 => "ffdhe2048".into(),
        0x0101 => "ffdhe3072".into(),
        0x0102 => "ffdhe4096".into(),
        0x0103 => "ffdhe6144".into(),
        0x0104 => "ffdhe8192".into(),
        0x0200 => "MLKEM512".into(),
        0x0201 => "MLKEM768".into(),
        0x0202 => "MLKEM1024".into(),
        SECP256R1MLKEM768 => "SecP256r1MLKEM768".into(),
        X25519MLKEM768 => "X25519MLKEM768".into(),
        SECP384R1MLKEM1024 => "SecP384r1MLKEM1024".into(),
        other => format!("0x{other:04x}"),
    }
}

/// A group by its IANA code point, for the groups pgtls can speak.
pub(crate) fn by_code(code: u16) -> Option<&'static dyn SupportedKxGroup> {
    let all: [&'static dyn SupportedKxGroup; 9] = [
        kx_group::X25519MLKEM768,
        kx_group::X25519,
        kx_group::SECP256R1,
        kx_group::SECP384R1,
        SECP521R1_KX,
        kx_group::SECP256R1MLKEM768,
        SECP384R1MLKEM1024_KX,
        kx_group::MLKEM768,
        kx_group::MLKEM1024,
    ];
    all.into_iter().find(|g| u16::from(g.name()) == code)
}

/// The groups the audit tries one by one over TLS 1.3, each with a real key share: the classic
/// ones, then every post-quantum one OpenSSL 3.5 speaks but ML-KEM-512 (the `fips` build: the
/// approved ones).
pub(crate) fn audited() -> Vec<&'static dyn SupportedKxGroup> {
    [
        X25519MLKEM768,
        X25519,
        P256,
        P384,
        P521,
        SECP256R1MLKEM768,
        SECP384R1MLKEM1024,
        0x0201,
        0x0202,
    ]
    .into_iter()
    .filter_map(by_code)
    .filter(|g| !cfg!(feature = "fips") || g.fips())
    .collect()
}

/// ECDH over a NIST curve, the share an uncompressed point.
#[derive(Debug)]
struct Ecdh {
    name: NamedGroup,
    algorithm: &'static agreement::Algorithm,
}

impl SupportedKxGroup for Ecdh {
    fn start(&self) -> Result<Box<dyn ActiveKeyExchange>, Error> {
        let rng = aws_lc_rs::rand::SystemRandom::new();
        let key = EphemeralPrivateKey::generate(self.algorithm, &rng)
            .map_err(|_| Error::General("key generation failed".into()))?;
        let public = key
            .compute_public_key()
            .map_err(|_| Error::General("key generation failed".into()))?;
        Ok(Box::new(EcdhActive {
            name: self.name,
            algorithm: self.algorithm,
            public: public.as_ref().to_vec(),
            key,
        }))
    }

    fn ffdhe_group(&self) -> Option<FfdheGroup<'static>> {
        None
    }

    fn name(&self) -> NamedGroup {
        self.name
    }

    /// ECDH over P-521 is approved, in a FIPS build whose module runs in FIPS mode.
    fn fips(&self) -> bool {
        cfg!(feature = "fips") && aws_lc_rs::try_fips_mode().is_ok()
    }
}

struct EcdhActive {
    name: NamedGroup,
    algorithm: &'static agreement::Algorithm,
    public: Vec<u8>,
    key: EphemeralPrivateKey,
}

impl ActiveKeyExchange for EcdhActive {
    fn complete(self: Box<Self>, peer: &[u8]) -> Result<SharedSecret, Error> {
        // TLS allows only the uncompressed form; aws-lc-rs would take others.
        if peer.first() != Some(&0x04) {
            return Err(PeerMisbehaved::InvalidKeyShare.into());
        }
        let peer = UnparsedPublicKey::new(self.algorithm, peer);
        agreement::agree_ephemeral(
            self.key,
            peer,
            Error::from(PeerMisbehaved::InvalidKeyShare),
            |secret| Ok(SharedSecret::from(secret)),
        )
    }

    fn pub_key(&self) -> &[u8] {
        &self.public
    }

    fn ffdhe_group(&self) -> Option<FfdheGroup<'static>> {
        None
    }

    fn group(&self) -> NamedGroup {
        self.name
    }
}

/// A hybrid whose classical share comes first, as in SecP256r1MLKEM768 and SecP384r1MLKEM1024.
#[derive(Debug)]
struct ClassicalFirst {
    name: NamedGroup,
    classical: &'static dyn SupportedKxGroup,
    post_quantum: &'static dyn SupportedKxGroup,
    classical_len: usize,
    post_quantum_server_len: usize,
}

impl SupportedKxGroup for ClassicalFirst {
    fn start(&self) -> Result<Box<dyn ActiveKeyExchange>, Error> {
        let classical = self.classical.start()?;
        let post_quantum = self.post_quantum.start()?;
        let mut public = classical.pub_key().to_vec();
        public.extend_from_slice(post_quantum.pub_key());
        Ok(Box::new(ClassicalFirstActive {
            name: self.name,
            classical,
            post_quantum,
            public,
            classical_len: self.classical_len,
            post_quantum_server_len: self.post_quantum_server_len,
        }))
    }

    /// The server's side (the stand-in servers of the tests use it).
    fn start_and_complete(&self, client_share: &[u8]) -> Result<CompletedKeyExchange, Error> {
        if client_share.len() <= self.classical_len {
            return Err(PeerMisbehaved::InvalidKeyShare.into());
        }
        let (classical, post_quantum) = client_share.split_at(self.classical_len);
        let classical = self.classical.start_and_complete(classical)?;
        let post_quantum = self.post_quantum.start_and_complete(post_quantum)?;
        let mut pub_key = classical.pub_key;
        pub_key.extend_from_slice(&post_quantum.pub_key);
        let mut secret = classical.secret.secret_bytes().to_vec();
        secret.extend_from_slice(post_quantum.secret.secret_bytes());
        Ok(CompletedKeyExchange {
            group: self.name,
            pub_key,
            secret: SharedSecret::from(secret),
        })
    }

    fn ffdhe_group(&self) -> Option<FfdheGroup<'static>> {
        None
    }

    fn name(&self) -> NamedGroup {
        self.name
    }

    fn usable_for_version(&self, version: ProtocolVersion) -> bool {
        version == ProtocolVersion::TLSv1_3
    }

    /// As rustls decides for its hybrids (SP 800-56C): the first part controls approval.
    fn fips(&self) -> bool {
        self.classical.fips()
    }
}

struct ClassicalFirstActive {
    name: NamedGroup,
    classical: Box<dyn ActiveKeyExchange>,
    post_quantum: Box<dyn ActiveKeyExchange>,
    public: Vec<u8>,
    classical_len: usize,
    post_quantum_server_len: usize,
}

impl ActiveKeyExchange for ClassicalFirstActive {
    fn complete(self: Box<Self>, peer: &[u8]) -> Result<SharedSecret, Error> {
        if peer.len() != self.classical_len + self.post_quantum_server_len {
            return Err(PeerMisbehaved::InvalidKeyShare.into());
        }
        let (classical, post_quantum) = peer.split_at(self.classical_len);
        let mut secret = self.classical.complete(classical)?.secret_bytes().to_vec();
        secret.extend_from_slice(self.post_quantum.complete(post_quantum)?.secret_bytes());
        Ok(SharedSecret::from(secret))
    }

    fn pub_key(&self) -> &[u8] {
        &self.public
    }

    fn ffdhe_group(&self) -> Option<FfdheGroup<'static>> {
        None
    }

    fn group(&self) -> NamedGroup {
        self.name
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Both ends of an exchange, the server's side done by hand from the client's share.
    fn agree(group: &'static dyn SupportedKxGroup) -> (Vec<u8>, Vec<u8>) {
        let client = group.start().unwrap();
        let share = client.pub_key().to_vec();
        let server = group.start_and_complete(&share).unwrap();
        let client_secret = client.complete(&server.pub_key).unwrap();
        (
            client_secret.secret_bytes().to_vec(),
            server.secret.secret_bytes().to_vec(),
        )
    }

    #[test]
    fn both_sides_of_each_added_group_reach_the_same_secret() {
        for (group, share, secret) in [
            (SECP521R1_KX, 133, 66),
            (SECP384R1MLKEM1024_KX, 97 + 1568, 80),
        ] {
            assert_eq!(group.start().unwrap().pub_key().len(), share);
            let (client, server) = agree(group);
            assert_eq!(client.len(), secret, "{:?}", group.name());
            assert_eq!(client, server, "{:?}", group.name());
        }
    }

    #[test]
    fn a_compressed_or_short_share_is_refused() {
        let mut compressed = SECP521R1_KX.start().unwrap().pub_key().to_vec();
        compressed[0] = 0x02;
        assert!(SECP521R1_KX.start().unwrap().complete(&compressed).is_err());
        let short = vec![4u8; 97 + 100];
        assert!(
            SECP384R1MLKEM1024_KX
                .start()
                .unwrap()
                .complete(&short)
                .is_err()
        );
    }

    #[cfg(not(feature = "fips"))]
    #[test]
    fn every_audited_group_is_known_by_its_code() {
        let codes: Vec<u16> = audited().iter().map(|g| u16::from(g.name())).collect();
        assert_eq!(
            codes,
            [
                0x11ec, 0x001d, 0x0017, 0x0018, 0x0019, 0x11eb, 0x11ed, 0x0201, 0x0202
            ]
        );
    }

    #[cfg(feature = "fips")]
    #[test]
    fn the_fips_build_speaks_only_what_the_module_approves() {
        let provider = crate::tls::base_provider();
        assert!(provider.fips(), "the provider is not in FIPS mode");
        let groups: Vec<String> = provider
            .kx_groups
            .iter()
            .map(|g| name(u16::from(g.name())))
            .collect();
        assert!(!groups.contains(&"X25519".to_string()), "{groups:?}");
        assert!(groups.contains(&"P-256".to_string()), "{groups:?}");
        assert!(groups.contains(&"P-521".to_string()), "{groups:?}");
        let audited: Vec<String> = audited()
            .iter()
            .map(|g| name(u16::from(g.name())))
            .collect();
        assert!(!audited.contains(&"X25519".to_string()), "{audited:?}");
        assert!(
            crate::tls::provider()
                .cipher_suites
                .iter()
                .all(|s| s.fips())
        );
    }
}
