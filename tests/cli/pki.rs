//! Certificates generated for each test run with rcgen: a root, an intermediate, and server
//! certificates in the shapes the tests need. Nothing here is checked in, so nothing expires.

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair, KeyUsagePurpose, SanType,
};

/// A certificate with its key, as PEM.
pub struct Issued {
    /// The certificate.
    pub cert_pem: String,
    /// Its private key.
    pub key_pem: String,
}

/// A certificate authority that can issue certificates.
pub struct Ca {
    issuer: CertifiedIssuer<'static, KeyPair>,
    params: CertificateParams,
    key_pem: String,
    /// The CA's certificate as PEM.
    pub cert_pem: String,
}

fn days_from_now(days: i64) -> time::OffsetDateTime {
    time::OffsetDateTime::now_utc() + time::Duration::days(days)
}

fn ca_params(name: &str) -> CertificateParams {
    let mut params = CertificateParams::new(Vec::<String>::new()).expect("empty SAN list is valid");
    params.distinguished_name.push(DnType::CommonName, name);
    params
        .distinguished_name
        .push(DnType::OrganizationName, "pgtls tests");
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    params.not_before = days_from_now(-1);
    params.not_after = days_from_now(3650);
    params
}

/// CA parameters whose key usage leaves out keyCertSign.
fn without_cert_sign(mut params: CertificateParams) -> CertificateParams {
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature, KeyUsagePurpose::CrlSign];
    params
}

impl Ca {
    /// A self-signed root.
    pub fn root(name: &str) -> Ca {
        Ca::root_from(ca_params(name))
    }

    /// A self-signed "root" that is not a CA (`CA:FALSE`), used to sign anyway.
    pub fn root_not_ca(name: &str) -> Ca {
        let mut params = ca_params(name);
        params.is_ca = IsCa::ExplicitNoCa;
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        Ca::root_from(params)
    }

    /// A self-signed CA root whose key usage does not allow signing certificates.
    pub fn root_without_cert_sign(name: &str) -> Ca {
        Ca::root_from(without_cert_sign(ca_params(name)))
    }

    fn root_from(params: CertificateParams) -> Ca {
        let key = KeyPair::generate().unwrap();
        let key_pem = key.serialize_pem();
        let issuer = CertifiedIssuer::self_signed(params.clone(), key).unwrap();
        Ca {
            cert_pem: issuer.pem(),
            issuer,
            params,
            key_pem,
        }
    }

    /// A self-signed root valid only between `from` and `to` days from now.
    pub fn root_valid(name: &str, (from, to): (i64, i64)) -> Ca {
        let mut params = ca_params(name);
        params.not_before = days_from_now(from);
        params.not_after = days_from_now(to);
        Ca::root_from(params)
    }

    /// This CA's certificate again, same subject and key, but signed by `other`: a cross-sign.
    pub fn cross_signed_by(&self, other: &Ca) -> String {
        let key = KeyPair::from_pem(&self.key_pem).unwrap();
        self.params.signed_by(&key, &other.issuer).unwrap().pem()
    }

    /// An intermediate signed by this CA.
    pub fn intermediate(&self, name: &str) -> Ca {
        self.intermediate_with(ca_params(name))
    }

    /// An intermediate signed by this CA, valid only until `to` days from now.
    pub fn intermediate_until(&self, name: &str, to: i64) -> Ca {
        let mut params = ca_params(name);
        params.not_after = days_from_now(to);
        self.intermediate_with(params)
    }

    /// An intermediate with a path length constraint: at most `max` CA certificates below it.
    pub fn intermediate_limited(&self, name: &str, max: u8) -> Ca {
        let mut params = ca_params(name);
        params.is_ca = IsCa::Ca(BasicConstraints::Constrained(max));
        self.intermediate_with(params)
    }

    /// An intermediate whose key usage does not allow signing certificates.
    pub fn intermediate_without_cert_sign(&self, name: &str) -> Ca {
        self.intermediate_with(without_cert_sign(ca_params(name)))
    }

    fn intermediate_with(&self, params: CertificateParams) -> Ca {
        let key = KeyPair::generate().unwrap();
        let key_pem = key.serialize_pem();
        let issuer = CertifiedIssuer::signed_by(params.clone(), key, &self.issuer).unwrap();
        Ca {
            cert_pem: issuer.pem(),
            issuer,
            params,
            key_pem,
        }
    }

    /// A CRL from this CA revoking the given serial numbers.
    pub fn crl(&self, revoked: &[u64]) -> String {
        let params = rcgen::CertificateRevocationListParams {
            this_update: days_from_now(-1),
            next_update: days_from_now(30),
            crl_number: 1u64.into(),
            issuing_distribution_point: None,
            revoked_certs: revoked
                .iter()
                .map(|serial| rcgen::RevokedCertParams {
                    serial_number: (*serial).into(),
                    revocation_time: days_from_now(-1),
                    reason_code: Some(rcgen::RevocationReason::KeyCompromise),
                    invalidity_date: None,
                })
                .collect(),
            key_identifier_method: rcgen::KeyIdMethod::Sha256,
        };
        params.signed_by(&self.issuer).unwrap().pem().unwrap()
    }

    /// A client certificate for `user` issued by this CA.
    pub fn client(&self, user: &str) -> Issued {
        let key = KeyPair::generate().unwrap();
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.distinguished_name.push(DnType::CommonName, user);
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        params.not_before = days_from_now(-1);
        params.not_after = days_from_now(30);
        let cert = params.signed_by(&key, &self.issuer).unwrap();
        Issued {
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
        }
    }

    /// A server certificate issued by this CA.
    pub fn server(&self, spec: &ServerCert) -> Issued {
        let key = KeyPair::generate().unwrap();
        let cert = spec.params().signed_by(&key, &self.issuer).unwrap();
        Issued {
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
        }
    }
}

/// The shape of a server certificate.
#[derive(Clone)]
pub struct ServerCert {
    /// The subject CN, if any.
    pub cn: Option<&'static str>,
    /// DNS SANs.
    pub dns: Vec<&'static str>,
    /// IP SANs.
    pub ips: Vec<std::net::IpAddr>,
    /// Validity, in days relative to now.
    pub valid: (i64, i64),
    /// The serial number.
    pub serial: u64,
    /// Marked as a CA, like a certificate from `openssl req -x509`.
    pub ca_flag: bool,
    /// The key usage, when not the usual digitalSignature.
    pub key_usage: Option<Vec<KeyUsagePurpose>>,
}

impl ServerCert {
    /// A certificate for `localhost` and `127.0.0.1`, valid for a year.
    pub fn localhost() -> ServerCert {
        ServerCert {
            cn: Some("localhost"),
            dns: vec!["localhost"],
            ips: vec!["127.0.0.1".parse().unwrap()],
            valid: (-1, 365),
            serial: 1000,
            ca_flag: false,
            key_usage: None,
        }
    }

    fn params(&self) -> CertificateParams {
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.distinguished_name = rcgen::DistinguishedName::new();
        if let Some(cn) = self.cn {
            params.distinguished_name.push(DnType::CommonName, cn);
        }
        params.subject_alt_names = self
            .dns
            .iter()
            .map(|d| SanType::DnsName((*d).try_into().unwrap()))
            .chain(self.ips.iter().map(|ip| SanType::IpAddress(*ip)))
            .collect();
        if self.ca_flag {
            params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        } else {
            params.key_usages = self
                .key_usage
                .clone()
                .unwrap_or_else(|| vec![KeyUsagePurpose::DigitalSignature]);
            params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        }
        params.not_before = days_from_now(self.valid.0);
        params.not_after = days_from_now(self.valid.1);
        params.serial_number = Some(self.serial.into());
        params
    }

    /// This shape marked as a CA (`basicConstraints CA:TRUE`, no key usage), as
    /// `openssl req -x509` makes server certificates by default.
    pub fn ca_flagged(&self) -> ServerCert {
        ServerCert {
            ca_flag: true,
            ..self.clone()
        }
    }

    /// A self-signed certificate of this shape.
    pub fn self_signed(&self) -> Issued {
        self.self_signed_with(&rcgen::PKCS_ECDSA_P256_SHA256)
    }

    /// A self-signed certificate of this shape with a key of this algorithm.
    pub fn self_signed_with(&self, alg: &'static rcgen::SignatureAlgorithm) -> Issued {
        let key = KeyPair::generate_for(alg).unwrap();
        let cert = self.params().self_signed(&key).unwrap();
        Issued {
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
        }
    }
}

/// Runs `openssl` with `args` in `dir`, and fails the test with its stderr if it fails.
pub fn openssl(dir: &std::path::Path, args: &[&str]) {
    let out = std::process::Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("openssl runs");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A 2048-bit RSA key from `openssl genpkey` (ring signs with RSA keys but cannot make them).
pub fn rsa_key() -> KeyPair {
    let out = std::process::Command::new("openssl")
        .args([
            "genpkey",
            "-algorithm",
            "RSA",
            "-pkeyopt",
            "rsa_keygen_bits:2048",
        ])
        .output()
        .expect("openssl runs");
    assert!(
        out.status.success(),
        "openssl genpkey failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let pem = String::from_utf8(out.stdout).unwrap();
    KeyPair::from_pem_and_sign_algo(&pem, &rcgen::PKCS_RSA_SHA256).unwrap()
}

fn named_ca(dn: &[(DnType, &str)]) -> CertificateParams {
    let mut params = ca_params("");
    params.distinguished_name = rcgen::DistinguishedName::new();
    for (kind, value) in dn {
        params.distinguished_name.push(kind.clone(), *value);
    }
    params
}

/// A provider's certificates re-created under the same names with keys made now: what a
/// provider's server looks like, for tests that cannot reach the provider.
pub struct StandIn {
    /// Stand-ins for every root of the provider's profile, as one PEM file.
    pub roots_pem: String,
    /// The server's chain, leaf first, without the root.
    pub chain_pem: String,
    /// The server's key.
    pub key_pem: String,
}

/// Azure Database for PostgreSQL flexible server: a wildcard certificate for
/// `*.postgres.database.azure.com` from a Microsoft issuing CA under DigiCert Global Root G2,
/// beside stand-ins for the other roots of the `azure` profile.
pub fn azure_stand_in() -> StandIn {
    let digicert = |cn| {
        vec![
            (DnType::CountryName, "US"),
            (DnType::OrganizationName, "DigiCert Inc"),
            (DnType::OrganizationalUnitName, "www.digicert.com"),
            (DnType::CommonName, cn),
        ]
    };
    let microsoft = |cn| {
        vec![
            (DnType::CountryName, "US"),
            (DnType::OrganizationName, "Microsoft Corporation"),
            (DnType::CommonName, cn),
        ]
    };
    let root_key = rsa_key();
    let g2 = CertifiedIssuer::self_signed(named_ca(&digicert("DigiCert Global Root G2")), root_key)
        .unwrap();
    let mut roots_pem = g2.pem();
    for dn in [
        digicert("DigiCert Global Root CA"),
        microsoft("Microsoft RSA Root Certificate Authority 2017"),
    ] {
        let root = named_ca(&dn).self_signed(&rsa_key()).unwrap();
        roots_pem.push_str(&root.pem());
    }
    let ecc_key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P384_SHA384).unwrap();
    let ecc = named_ca(&microsoft("Microsoft ECC Root Certificate Authority 2017"))
        .self_signed(&ecc_key)
        .unwrap();
    roots_pem.push_str(&ecc.pem());

    let mut issuing = named_ca(&microsoft("Microsoft Azure RSA TLS Issuing CA 03"));
    issuing.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    let issuing = CertifiedIssuer::signed_by(issuing, rsa_key(), &g2).unwrap();

    let key = rsa_key();
    let mut leaf =
        CertificateParams::new(vec!["*.postgres.database.azure.com".to_string()]).unwrap();
    leaf.distinguished_name = rcgen::DistinguishedName::new();
    for (kind, value) in [
        (DnType::CountryName, "US"),
        (DnType::StateOrProvinceName, "WA"),
        (DnType::LocalityName, "Redmond"),
        (DnType::OrganizationName, "Microsoft Corporation"),
        (DnType::CommonName, "*.postgres.database.azure.com"),
    ] {
        leaf.distinguished_name.push(kind, value);
    }
    leaf.key_usages = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::KeyEncipherment,
    ];
    leaf.extended_key_usages = vec![
        ExtendedKeyUsagePurpose::ServerAuth,
        ExtendedKeyUsagePurpose::ClientAuth,
    ];
    leaf.not_before = days_from_now(-30);
    leaf.not_after = days_from_now(150);
    let leaf = leaf.signed_by(&key, &issuing).unwrap();
    StandIn {
        roots_pem,
        chain_pem: format!("{}{}", leaf.pem(), issuing.pem()),
        key_pem: key.serialize_pem(),
    }
}
