//! Trust diagnosis: the presented chain tried against every trust source pgtls knows (the
//! system store, each provider profile, Mozilla's roots), to say which would verify it,
//! at which root and by which path, and whether the chain holds a cross-signed certificate that
//! leads to another root. Chain checks only: the host name is libpq's concern, not the store's.

use rustls::pki_types::{CertificateDer, TrustAnchor, UnixTime};
use serde::Serialize;
use x509_parser::prelude::FromDer;

use super::chain;
use super::roots::TrustStore;
use crate::profiles::Profiles;

/// A trust source the diagnosis tries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DiagnosisSource {
    /// The operating system's store.
    System,
    /// A provider profile (bundled or the user's).
    Profile(String),
    /// Mozilla's roots (`webpki-roots`).
    Mozilla,
}

impl std::fmt::Display for DiagnosisSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::System => f.write_str("system"),
            Self::Profile(name) => write!(f, "profile:{name}"),
            Self::Mozilla => f.write_str("mozilla"),
        }
    }
}

impl Serialize for DiagnosisSource {
    /// `system`, `profile:NAME` or `mozilla`, as the JSON document has always shown it.
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

/// One trust source's verdict on the chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct Diagnosis {
    /// Which source.
    #[schemars(with = "String")]
    pub source: DiagnosisSource,
    /// Whether the chain verifies against it.
    pub verified: bool,
    /// The root it ends at.
    pub anchor: Option<String>,
    /// Intermediates of the path, leaf side first.
    pub path: Vec<String>,
    /// Why it does not verify (or "no certificate presented").
    pub error: Option<String>,
}

/// A certificate of the chain that is a cross-signed copy of a known root.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct CrossSigned {
    /// The cross-signed certificate's subject (also a root's subject).
    pub subject: String,
    /// Who signed this copy.
    pub issuer: String,
}

/// A Name's text from the value webpki keeps (the Name without its outer SEQUENCE header).
pub fn name_text(value: &[u8]) -> String {
    let mut der = vec![0x30];
    let len = value.len();
    if len < 0x80 {
        der.push(len as u8);
    } else if len < 0x100 {
        der.extend([0x81, len as u8]);
    } else {
        der.extend([0x82, (len >> 8) as u8, len as u8]);
    }
    der.extend_from_slice(value);
    x509_parser::x509::X509Name::from_der(&der)
        .map_or_else(|_| "(unreadable name)".into(), |(_, n)| n.to_string())
}

fn subject_text(der: &[u8]) -> String {
    crate::certinfo::describe(der, 0)
        .map_or_else(|| "(unreadable certificate)".into(), |i| i.subject)
}

fn try_anchors(
    source: DiagnosisSource,
    anchors: &[TrustAnchor<'_>],
    presented: &[CertificateDer<'static>],
    now: UnixTime,
) -> Diagnosis {
    let algorithms = super::provider().signature_verification_algorithms.all;
    let verdict = presented.split_first().map(|(leaf, rest)| {
        chain::path_to(anchors, leaf, rest, now, algorithms, None)
            .map(|(subject, path)| (name_text(&subject), path))
    });
    diagnosis(source, verdict)
}

/// The chain against a store of certificates, with every check the user's own root file gets
/// (the roots' dates and CA flags among them).
fn try_store(
    source: DiagnosisSource,
    store: &TrustStore,
    presented: &[CertificateDer<'static>],
    now: UnixTime,
) -> Diagnosis {
    let algorithms = super::provider().signature_verification_algorithms.all;
    let verdict = presented.split_first().map(|(leaf, rest)| {
        chain::verify(store, leaf, rest, now, algorithms)
            .map(|verified| (subject_text(&verified.anchor), verified.intermediates))
    });
    diagnosis(source, verdict)
}

/// One source's verdict: the anchor's name and the intermediates of the path, or why not;
/// `None` when the server presented no certificate.
fn diagnosis(
    source: DiagnosisSource,
    verdict: Option<Result<(String, Vec<CertificateDer<'static>>), chain::ChainError>>,
) -> Diagnosis {
    let failed = |error: String| Diagnosis {
        source: source.clone(),
        verified: false,
        anchor: None,
        path: Vec::new(),
        error: Some(error),
    };
    match verdict {
        None => failed("no certificate presented".into()),
        Some(Err(e)) => failed(e.to_string()),
        Some(Ok((anchor, path))) => Diagnosis {
            verified: true,
            anchor: Some(anchor),
            path: path.iter().map(|c| subject_text(c)).collect(),
            error: None,
            source,
        },
    }
}

fn store_anchors(store: &TrustStore) -> Vec<TrustAnchor<'_>> {
    store
        .anchors
        .iter()
        .filter_map(|a| webpki::anchor_from_trusted_cert(a).ok())
        .collect()
}

/// Tries the chain against the system store, every profile and Mozilla's roots.
pub fn diagnose(
    presented: &[CertificateDer<'static>],
    now: UnixTime,
    profiles: &Profiles,
) -> Vec<Diagnosis> {
    let mut out = Vec::new();
    if let Ok(system) = TrustStore::system() {
        out.push(try_store(DiagnosisSource::System, &system, presented, now));
    }
    for profile in profiles.all() {
        if profile.roots().is_empty() {
            continue;
        }
        let source = DiagnosisSource::Profile(profile.name.clone());
        let store = TrustStore::new(
            super::roots::TrustSource::Profile {
                name: profile.name.clone(),
                phrase: profile.roots_phrase(),
            },
            profile.roots().iter().map(|r| r.der.clone()).collect(),
        );
        out.push(try_store(source, &store, presented, now));
    }
    out.push(try_anchors(
        DiagnosisSource::Mozilla,
        webpki_roots::TLS_SERVER_ROOTS,
        presented,
        now,
    ));
    out
}

/// Certificates of the chain (after the leaf) that carry a known root's subject without being
/// self-signed: cross-signed copies of a root, which give verification two possible paths.
pub fn cross_signed(
    presented: &[CertificateDer<'static>],
    user: Option<&TrustStore>,
    profiles: &Profiles,
) -> Vec<CrossSigned> {
    let mut roots: Vec<Vec<u8>> = webpki_roots::TLS_SERVER_ROOTS
        .iter()
        .map(|a| a.subject.as_ref().to_vec())
        .collect();
    let mut stores: Vec<TrustStore> = user.cloned().into_iter().collect();
    stores.extend(TrustStore::system());
    for store in &stores {
        roots.extend(
            store_anchors(store)
                .iter()
                .map(|a| a.subject.as_ref().to_vec()),
        );
    }
    for profile in profiles.all() {
        roots.extend(
            profile
                .roots()
                .iter()
                .filter_map(|r| webpki::anchor_from_trusted_cert(&r.der).ok())
                .map(|a| a.subject.as_ref().to_vec()),
        );
    }
    presented
        .iter()
        .skip(1)
        .filter_map(|der| {
            let (_, cert) = x509_parser::parse_x509_certificate(der).ok()?;
            let subject = cert.subject().as_raw();
            let self_issued = subject == cert.issuer().as_raw();
            let value = webpki::anchor_from_trusted_cert(der)
                .ok()?
                .subject
                .as_ref()
                .to_vec();
            (!self_issued && roots.contains(&value)).then(|| CrossSigned {
                subject: cert.subject().to_string(),
                issuer: cert.issuer().to_string(),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    //! The diagnosis over rcgen-made chains in memory at a fixed time: which source verifies a
    //! chain, at which root and through which intermediates, and which certificates are
    //! cross-signed copies of a root the user trusts.

    use rcgen::{
        BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose,
        IsCa, KeyPair, KeyUsagePurpose,
    };

    use super::*;
    use crate::tls::roots::TrustSource;

    const NOW: i64 = 1_906_502_400; // 2030-06-01

    fn params(cn: &str, ca: bool) -> CertificateParams {
        let mut p = CertificateParams::new(Vec::<String>::new()).unwrap();
        p.distinguished_name.push(DnType::CommonName, cn);
        p.not_before = time::OffsetDateTime::from_unix_timestamp(NOW - 86_400 * 100).unwrap();
        p.not_after = time::OffsetDateTime::from_unix_timestamp(NOW + 86_400 * 100).unwrap();
        if ca {
            p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
            p.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        } else {
            p.key_usages = vec![KeyUsagePurpose::DigitalSignature];
            p.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        }
        p
    }

    fn root(cn: &str) -> CertifiedIssuer<'static, KeyPair> {
        CertifiedIssuer::self_signed(params(cn, true), KeyPair::generate().unwrap()).unwrap()
    }

    fn store(roots: &[&CertifiedIssuer<'static, KeyPair>]) -> TrustStore {
        let source = TrustSource::Profile {
            name: "test".into(),
            phrase: "profile test's roots".into(),
        };
        TrustStore::new(source, roots.iter().map(|r| r.der().clone()).collect())
    }

    fn at() -> UnixTime {
        crate::clock::Clock::at(NOW).webpki()
    }

    #[test]
    fn each_source_says_whether_and_where_the_chain_verifies() {
        let ca = root("diagnosis root");
        let other = root("another root");
        let inter = CertifiedIssuer::signed_by(
            params("diagnosis intermediate", true),
            KeyPair::generate().unwrap(),
            &ca,
        )
        .unwrap();
        let leaf = params("db.test", false)
            .signed_by(&KeyPair::generate().unwrap(), &inter)
            .unwrap();
        let chain = vec![leaf.der().clone(), inter.der().clone()];
        let source = || DiagnosisSource::Profile("test".into());

        let found = try_store(source(), &store(&[&ca]), &chain, at());
        assert!(found.verified, "{found:?}");
        assert_eq!(found.anchor.as_deref(), Some("CN=diagnosis root"));
        assert_eq!(found.path, ["CN=diagnosis intermediate"]);
        assert_eq!(found.source.to_string(), "profile:test");

        let refused = try_store(source(), &store(&[&other]), &chain, at());
        assert!(!refused.verified);
        assert_eq!(
            refused.error.as_deref(),
            Some("unable to get local issuer certificate")
        );
        let empty = try_store(source(), &store(&[&ca]), &[], at());
        assert_eq!(empty.error.as_deref(), Some("no certificate presented"));
    }

    #[test]
    fn a_cross_signed_copy_of_a_trusted_root_is_named() {
        let old = root("old root");
        let new_key = KeyPair::generate().unwrap();
        let new_params = params("new root", true);
        let new = CertifiedIssuer::self_signed(
            new_params.clone(),
            KeyPair::from_pem(&new_key.serialize_pem()).unwrap(),
        )
        .unwrap();
        // The new root's subject and key, signed by the old root: a cross-sign.
        let cross = new_params.signed_by(&new_key, &old).unwrap();
        let leaf = params("db.test", false)
            .signed_by(&KeyPair::generate().unwrap(), &new)
            .unwrap();
        let chain = vec![leaf.der().clone(), cross.der().clone()];
        let profiles = Profiles::bundled();
        let found = cross_signed(&chain, Some(&store(&[&new])), &profiles);
        assert_eq!(
            found,
            [CrossSigned {
                subject: "CN=new root".into(),
                issuer: "CN=old root".into(),
            }]
        );
        assert!(cross_signed(&chain[..1], Some(&store(&[&new])), &profiles).is_empty());
    }
}
