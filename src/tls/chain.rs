//! Chain verification with OpenSSL's semantics where they differ from webpki's: a self-signed
//! server certificate found in the store is trusted as it is; only self-signed certificates of the
//! store are anchors, its other certificates serve as intermediates; the anchor's validity period
//! counts; a server certificate marked as a CA is accepted; with CRLs loaded, every certificate up
//! to the anchor needs a CRL from its issuer.

use rustls::pki_types::{CertificateDer, SignatureVerificationAlgorithm, UnixTime};
use serde::Serialize;
use webpki::{KeyUsage, RevocationCheckDepth, RevocationOptionsBuilder, UnknownStatusPolicy};

use super::roots::{TrustSource, TrustStore};

/// Why a chain did not verify, in OpenSSL's words where it has them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error, schemars::JsonSchema)]
#[serde(tag = "code", content = "detail", rename_all = "snake_case")]
#[non_exhaustive]
pub enum ChainError {
    /// No path to an anchor of the store.
    #[error("unable to get local issuer certificate")]
    UnknownIssuer,
    /// The server's own certificate is self-signed and not in the store.
    #[error("self-signed certificate")]
    SelfSigned,
    /// A certificate of the path has expired.
    #[error("certificate has expired")]
    Expired,
    /// A certificate of the path is not valid yet.
    #[error("certificate is not yet valid")]
    NotYetValid,
    /// A CRL revokes a certificate of the path.
    #[error("certificate revoked")]
    Revoked,
    /// CRLs are loaded but none covers a certificate of the path.
    #[error("unable to get certificate CRL")]
    NoCrl,
    /// A signature in the chain does not verify.
    #[error("certificate signature failure")]
    BadSignature,
    /// The certificate may not be used for a TLS server.
    #[error("unsupported certificate purpose")]
    WrongUsage,
    /// The root that signed the path is not a CA.
    #[error("invalid CA certificate")]
    InvalidCa,
    /// An issuer's key usage does not allow signing certificates.
    #[error("key usage does not include certificate signing")]
    NoCertSign,
    /// Anything else webpki refuses.
    #[error("{0}")]
    Other(String),
}

/// A verified path, leaf excluded.
#[derive(Debug, Clone)]
pub struct VerifiedChain {
    /// The anchor the path ends at.
    pub anchor: CertificateDer<'static>,
    /// Intermediates between the leaf and the anchor, leaf side first.
    pub intermediates: Vec<CertificateDer<'static>>,
    /// Where the anchor came from.
    pub source: TrustSource,
}

/// Why a certificate is not valid at `now`, if it is not.
pub fn validity_error(der: &[u8], now: UnixTime) -> Option<ChainError> {
    let (_, cert) = x509_parser::parse_x509_certificate(der).ok()?;
    let now = now.as_secs() as i64;
    let validity = cert.validity();
    if now > validity.not_after.timestamp() {
        Some(ChainError::Expired)
    } else if now < validity.not_before.timestamp() {
        Some(ChainError::NotYetValid)
    } else {
        None
    }
}

fn from_webpki(err: webpki::Error, leaf: &[u8]) -> ChainError {
    use webpki::Error as E;
    match err {
        // OpenSSL names a self-signed server certificate before anything else about it, even
        // when it is marked as a CA (as `openssl req -x509` makes them).
        E::UnknownIssuer | E::CaUsedAsEndEntity if super::roots::is_self_issued(leaf) => {
            ChainError::SelfSigned
        }
        E::UnknownIssuer => ChainError::UnknownIssuer,
        E::CertExpired { .. } => ChainError::Expired,
        E::CertNotValidYet { .. } => ChainError::NotYetValid,
        E::CertRevoked => ChainError::Revoked,
        E::UnknownRevocationStatus => ChainError::NoCrl,
        E::InvalidSignatureForPublicKey | E::InvalidCrlSignatureForPublicKey => {
            ChainError::BadSignature
        }
        E::RequiredEkuNotFoundContext(_) | E::CaUsedAsEndEntity | E::EndEntityUsedAsCa => {
            ChainError::WrongUsage
        }
        other => ChainError::Other(format!("{other:?}")),
    }
}

/// Whether one of the CRLs was issued by the anchor (OpenSSL checks the anchor too).
fn anchor_has_crl(store: &TrustStore, anchor: &[u8]) -> bool {
    let Ok((_, anchor)) = x509_parser::parse_x509_certificate(anchor) else {
        return false;
    };
    store.crls.iter().any(|crl| {
        x509_parser::parse_x509_crl(crl)
            .is_ok_and(|(_, crl)| crl.issuer().as_raw() == anchor.subject().as_raw())
    })
}

/// Verifies a presented chain against a store.
///
/// # Errors
/// Why the chain does not verify.
pub fn verify(
    store: &TrustStore,
    leaf: &CertificateDer<'_>,
    presented: &[CertificateDer<'_>],
    now: UnixTime,
    algorithms: &[&dyn SignatureVerificationAlgorithm],
) -> Result<VerifiedChain, ChainError> {
    if store.anchors.iter().any(|a| a.as_ref() == leaf.as_ref()) {
        if !usable_by_tls_server(leaf) {
            return Err(ChainError::WrongUsage);
        }
        if let Some(err) = validity_error(leaf, now) {
            return Err(err);
        }
        if store.crl_check && !anchor_has_crl(store, leaf) {
            return Err(ChainError::NoCrl);
        }
        return Ok(VerifiedChain {
            anchor: leaf.clone().into_owned(),
            intermediates: Vec::new(),
            source: store.source.clone(),
        });
    }
    let anchors: Vec<_> = store
        .anchors
        .iter()
        .filter_map(|a| webpki::anchor_from_trusted_cert(a).ok())
        .collect();
    let mut intermediates: Vec<CertificateDer<'_>> = presented.to_vec();
    intermediates.extend(store.intermediates.iter().cloned());
    if store.crl_check && store.crls.is_empty() {
        return Err(ChainError::NoCrl);
    }
    let crls: Vec<webpki::CertRevocationList<'static>> = store
        .crls
        .iter()
        .filter_map(|c| {
            webpki::OwnedCertRevocationList::from_der(c)
                .ok()
                .map(Into::into)
        })
        .collect();
    let crl_refs: Vec<&webpki::CertRevocationList<'_>> = crls.iter().collect();
    let revocation = RevocationOptionsBuilder::new(&crl_refs).ok().map(|b| {
        b.with_depth(RevocationCheckDepth::Chain)
            .with_status_policy(UnknownStatusPolicy::Deny)
            .build()
    });
    let (anchor_subject, path) =
        match path_to(&anchors, leaf, &intermediates, now, algorithms, revocation) {
            // OpenSSL takes a server certificate marked as a CA; webpki does not. Without CRLs
            // (whose checks webpki alone makes), walk that path by hand.
            Err(ChainError::WrongUsage) if is_ca(leaf) && !store.crl_check => {
                return ca_flagged_leaf_path(store, leaf, &intermediates, now, algorithms);
            }
            other => other?,
        };
    let anchor = store
        .anchors
        .iter()
        .find(|a| {
            webpki::anchor_from_trusted_cert(a)
                .is_ok_and(|t| t.subject.as_ref() == anchor_subject.as_slice())
        })
        .cloned()
        .ok_or_else(|| ChainError::Other("verified anchor not found in the store".into()))?;
    // Where OpenSSL asks more than webpki about the root: whether it is a CA, and its validity
    // period.
    if !anchor_is_ca(&anchor) {
        return Err(ChainError::InvalidCa);
    }
    if let Some(err) = validity_error(&anchor, now) {
        return Err(err);
    }
    if store.crl_check && !anchor_has_crl(store, &anchor) {
        return Err(ChainError::NoCrl);
    }
    Ok(VerifiedChain {
        anchor,
        intermediates: path,
        source: store.source.clone(),
    })
}

/// Verifies a presented chain as Java's PKIX trust manager does (pgjdbc): every certificate of
/// the store is an anchor, self-signed or not; a server certificate found in the store is trusted
/// as it is, expired or not (`PKIXValidator` returns it before validating anything); an anchor's
/// own validity period and CA flag are not checked.
///
/// # Errors
/// Why the chain does not verify.
pub fn verify_pkix(
    store: &TrustStore,
    leaf: &CertificateDer<'_>,
    presented: &[CertificateDer<'_>],
    now: UnixTime,
    algorithms: &[&dyn SignatureVerificationAlgorithm],
) -> Result<VerifiedChain, ChainError> {
    let all: Vec<&CertificateDer<'static>> =
        store.anchors.iter().chain(&store.intermediates).collect();
    if let Some(anchor) = all.iter().find(|a| a.as_ref() == leaf.as_ref()) {
        return Ok(VerifiedChain {
            anchor: (*anchor).clone(),
            intermediates: Vec::new(),
            source: store.source.clone(),
        });
    }
    let anchors: Vec<_> = all
        .iter()
        .filter_map(|a| webpki::anchor_from_trusted_cert(a).ok())
        .collect();
    let (subject, path) = path_to(&anchors, leaf, presented, now, algorithms, None)?;
    let anchor = all
        .iter()
        .find(|a| webpki::anchor_from_trusted_cert(a).is_ok_and(|t| t.subject.as_ref() == subject))
        .map(|a| (*a).clone())
        .ok_or_else(|| ChainError::Other("verified anchor not found in the store".into()))?;
    Ok(VerifiedChain {
        anchor,
        intermediates: path,
        source: store.source.clone(),
    })
}

/// Whether OpenSSL takes a root for a CA (`X509_check_ca`): `CA:TRUE`, or without basic
/// constraints a version 1 certificate or one whose key usage allows signing certificates; a key
/// usage without keyCertSign rules it out.
fn anchor_is_ca(der: &[u8]) -> bool {
    let Ok((_, cert)) = x509_parser::parse_x509_certificate(der) else {
        return false;
    };
    let key_usage = cert
        .key_usage()
        .ok()
        .flatten()
        .map(|k| k.value.key_cert_sign());
    if key_usage == Some(false) {
        return false;
    }
    match cert.basic_constraints().ok().flatten() {
        Some(constraints) => constraints.value.ca,
        None => cert.version() == x509_parser::x509::X509Version::V1 || key_usage == Some(true),
    }
}

/// OpenSSL's test of a TLS server's certificate (`X509_PURPOSE_SSL_SERVER`): an extended key
/// usage, if any, includes serverAuth; a key usage, if any, allows a TLS key exchange.
fn usable_by_tls_server(der: &[u8]) -> bool {
    let Ok((_, cert)) = x509_parser::parse_x509_certificate(der) else {
        return false;
    };
    let eku = cert
        .extended_key_usage()
        .ok()
        .flatten()
        .is_none_or(|e| e.value.server_auth || e.value.any);
    let key_usage = cert.key_usage().ok().flatten().is_none_or(|k| {
        k.value.digital_signature() || k.value.key_encipherment() || k.value.key_agreement()
    });
    eku && key_usage
}

/// Whether a certificate's key usage, if it has one, allows signing certificates.
fn may_sign_certificates(der: &[u8]) -> bool {
    x509_parser::parse_x509_certificate(der).is_ok_and(|(_, c)| {
        c.key_usage()
            .ok()
            .flatten()
            .is_none_or(|k| k.value.key_cert_sign())
    })
}

fn is_ca(der: &[u8]) -> bool {
    x509_parser::parse_x509_certificate(der).is_ok_and(|(_, c)| {
        c.basic_constraints()
            .ok()
            .flatten()
            .is_some_and(|b| b.value.ca)
    })
}

/// Whether `child` carries a signature by `issuer`'s key, checked by webpki with `algorithms`,
/// the algorithm being the one `child` declares.
fn signed_by(
    child: &[u8],
    issuer: &CertificateDer<'_>,
    algorithms: &[&dyn SignatureVerificationAlgorithm],
) -> bool {
    let Ok((_, parsed)) = x509_parser::parse_x509_certificate(child) else {
        return false;
    };
    let Ok(key) = webpki::EndEntityCert::try_from(issuer) else {
        return false;
    };
    let declared = parsed.signature_algorithm.algorithm.as_bytes();
    let tbs = parsed.tbs_certificate.as_ref();
    let signature = &parsed.signature_value.data;
    algorithms.iter().any(|alg| {
        // The AlgorithmIdentifier's contents begin with the OID: tag, length, value.
        let id = alg.signature_alg_id();
        let id = id.as_ref();
        id.len() >= 2 + declared.len()
            && id[0] == 0x06
            && usize::from(id[1]) == declared.len()
            && &id[2..2 + declared.len()] == declared
            && key.verify_signature(*alg, tbs, signature).is_ok()
    })
}

/// What a certificate of the path must be to issue the one below it: a CA allowed to sign
/// certificates, `below` CA certificates under it at most its path length, no name constraints
/// (which this walk does not evaluate), in its validity period.
fn may_issue(der: &[u8], below: usize, now: UnixTime) -> Result<bool, ChainError> {
    let Ok((_, cert)) = x509_parser::parse_x509_certificate(der) else {
        return Ok(false);
    };
    let Some(constraints) = cert.basic_constraints().ok().flatten() else {
        return Ok(false);
    };
    if !constraints.value.ca
        || !may_sign_certificates(der)
        || constraints
            .value
            .path_len_constraint
            .is_some_and(|max| below > max as usize)
    {
        return Ok(false);
    }
    if cert.name_constraints().ok().flatten().is_some() {
        return Err(ChainError::WrongUsage);
    }
    validity_error(der, now).map_or(Ok(true), Err)
}

/// OpenSSL accepts a server certificate marked as a CA (`basicConstraints CA:TRUE`, as
/// `openssl req -x509` makes them) when its path verifies; webpki refuses it as an end entity.
/// For that case alone the path is walked here: each signature checked by webpki with the
/// algorithm the certificate declares, each issuer a CA allowed to sign certificates within its
/// path length, every certificate in its validity period, the leaf usable for a TLS server.
/// Whatever the walk does not evaluate (name constraints, an unknown critical extension) ends it
/// with the refusal webpki gave.
fn ca_flagged_leaf_path(
    store: &TrustStore,
    leaf: &CertificateDer<'_>,
    intermediates: &[CertificateDer<'_>],
    now: UnixTime,
    algorithms: &[&dyn SignatureVerificationAlgorithm],
) -> Result<VerifiedChain, ChainError> {
    // webpki parses each certificate, refusing unknown critical extensions.
    if !usable_by_tls_server(leaf) || webpki::EndEntityCert::try_from(leaf).is_err() {
        return Err(ChainError::WrongUsage);
    }
    if let Some(err) = validity_error(leaf, now) {
        return Err(err);
    }
    let mut path: Vec<CertificateDer<'static>> = Vec::new();
    let mut current: CertificateDer<'_> = leaf.clone();
    let issuer_name = |der: &[u8]| {
        x509_parser::parse_x509_certificate(der)
            .map(|(_, c)| c.issuer().as_raw().to_vec())
            .unwrap_or_default()
    };
    // OpenSSL's default depth limit.
    for _ in 0..=100 {
        let wanted = issuer_name(&current);
        let subject_is = |der: &[u8]| {
            x509_parser::parse_x509_certificate(der)
                .is_ok_and(|(_, c)| c.subject().as_raw() == wanted.as_slice())
        };
        for anchor in store.anchors.iter().filter(|a| subject_is(a)) {
            if signed_by(&current, anchor, algorithms) && may_issue(anchor, path.len(), now)? {
                return Ok(VerifiedChain {
                    anchor: anchor.clone().into_owned(),
                    intermediates: path,
                    source: store.source.clone(),
                });
            }
        }
        let next = intermediates.iter().find(|i| {
            subject_is(i)
                && !path.iter().any(|p| p.as_ref() == i.as_ref())
                && i.as_ref() != leaf.as_ref()
                && signed_by(&current, i, algorithms)
        });
        let Some(next) = next else {
            return Err(ChainError::UnknownIssuer);
        };
        if !may_issue(next, path.len(), now)? || webpki::EndEntityCert::try_from(next).is_err() {
            return Err(ChainError::WrongUsage);
        }
        path.push(next.clone().into_owned());
        current = next.clone();
    }
    Err(ChainError::Other("certificate chain too long".into()))
}

/// The path webpki builds from `leaf` to one of `anchors`: the anchor's subject (the value of
/// its Name, as webpki holds it) and the intermediates used, leaf side first.
///
/// # Errors
/// Why no path verifies.
pub fn path_to(
    anchors: &[rustls::pki_types::TrustAnchor<'_>],
    leaf: &CertificateDer<'_>,
    intermediates: &[CertificateDer<'_>],
    now: UnixTime,
    algorithms: &[&dyn SignatureVerificationAlgorithm],
    revocation: Option<webpki::RevocationOptions<'_>>,
) -> Result<(Vec<u8>, Vec<CertificateDer<'static>>), ChainError> {
    let ee = webpki::EndEntityCert::try_from(leaf).map_err(|e| from_webpki(e, leaf))?;
    let path = ee
        .verify_for_usage(
            algorithms,
            anchors,
            intermediates,
            now,
            KeyUsage::server_auth(),
            revocation,
            None,
        )
        .map_err(|e| from_webpki(e, leaf))?;
    let subject = path.anchor().subject.as_ref().to_vec();
    let used: Vec<CertificateDer<'static>> = path
        .intermediate_certificates()
        .map(|c| c.der().into_owned())
        .collect();
    // Where OpenSSL asks more than webpki: the leaf's key usage, the intermediates'.
    if !usable_by_tls_server(leaf) {
        return Err(ChainError::WrongUsage);
    }
    if !used.iter().all(|i| may_sign_certificates(i)) {
        return Err(ChainError::NoCertSign);
    }
    Ok((subject, used))
}

#[cfg(test)]
mod tests {
    //! OpenSSL's chain rules over rcgen-made chains in memory, at a fixed time: no server, no
    //! clock. The real-server differential tests compare the same cases with libpq.

    use rcgen::{
        BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose,
        IsCa, KeyPair, KeyUsagePurpose,
    };

    use super::*;

    /// The checks run at 2030-06-01; certificates are valid 2030-01-01 to 2031-01-01 unless a
    /// case says otherwise.
    const NOW: u64 = 1_906_502_400;

    const Y2030: i64 = 1_893_456_000;
    const DAY: i64 = 86_400;

    fn at(unix: i64) -> time::OffsetDateTime {
        time::OffsetDateTime::from_unix_timestamp(unix).unwrap()
    }

    fn params(cn: &str, ca: bool) -> CertificateParams {
        let mut p = CertificateParams::new(Vec::<String>::new()).unwrap();
        p.distinguished_name.push(DnType::CommonName, cn);
        p.not_before = at(Y2030);
        p.not_after = at(Y2030 + 365 * DAY);
        if ca {
            p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
            p.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        } else {
            p.subject_alt_names = vec![rcgen::SanType::DnsName("db.test".try_into().unwrap())];
            p.key_usages = vec![KeyUsagePurpose::DigitalSignature];
            p.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        }
        p
    }

    fn root(p: CertificateParams) -> CertifiedIssuer<'static, KeyPair> {
        CertifiedIssuer::self_signed(p, KeyPair::generate().unwrap()).unwrap()
    }

    fn issue(p: CertificateParams, by: &CertifiedIssuer<'_, KeyPair>) -> CertificateDer<'static> {
        p.signed_by(&KeyPair::generate().unwrap(), by)
            .unwrap()
            .der()
            .clone()
    }

    fn der(issuer: &CertifiedIssuer<'_, KeyPair>) -> CertificateDer<'static> {
        issuer.der().clone()
    }

    fn store(certs: Vec<CertificateDer<'static>>) -> TrustStore {
        TrustStore::new(
            TrustSource::File {
                path: "root.crt".into(),
            },
            certs,
        )
    }

    fn check(store: &TrustStore, chain: &[CertificateDer<'static>]) -> Result<usize, ChainError> {
        let algorithms = crate::tls::provider().signature_verification_algorithms.all;
        verify(
            store,
            &chain[0],
            &chain[1..],
            UnixTime::since_unix_epoch(std::time::Duration::from_secs(NOW)),
            algorithms,
        )
        .map(|v| v.intermediates.len())
    }

    #[test]
    fn chains_verify_as_openssl_verifies_them_for_libpq() {
        let ca = root(params("root", true));
        let other = root(params("other root", true));
        let inter = CertifiedIssuer::signed_by(
            params("intermediate", true),
            KeyPair::generate().unwrap(),
            &ca,
        )
        .unwrap();
        let leaf = issue(params("db.test", false), &ca);
        let deep = issue(params("db.test", false), &inter);
        let mut expired = params("db.test", false);
        expired.not_after = at(Y2030 + 31 * DAY);
        let expired = issue(expired, &ca);
        let mut future = params("db.test", false);
        future.not_before = at(Y2030 + 334 * DAY);
        let future = issue(future, &ca);
        let mut old_root = params("old root", true);
        old_root.not_after = at(Y2030 + 59 * DAY);
        let old_root = root(old_root);
        let under_old = issue(params("db.test", false), &old_root);
        let mut not_ca = params("not a ca", true);
        not_ca.is_ca = IsCa::ExplicitNoCa;
        not_ca.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        let not_ca = root(not_ca);
        let under_not_ca = issue(params("db.test", false), &not_ca);
        let mut no_sign = params("no certSign", true);
        no_sign.key_usages = vec![KeyUsagePurpose::DigitalSignature, KeyUsagePurpose::CrlSign];
        let no_sign = root(no_sign);
        let under_no_sign = issue(params("db.test", false), &no_sign);
        let mut weak = params("intermediate without keyCertSign", true);
        weak.key_usages = vec![KeyUsagePurpose::DigitalSignature, KeyUsagePurpose::CrlSign];
        let weak_inter =
            CertifiedIssuer::signed_by(weak, KeyPair::generate().unwrap(), &ca).unwrap();
        let under_weak_inter = issue(params("db.test", false), &weak_inter);
        let mut client_only = params("db.test", false);
        client_only.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        let client_only = issue(client_only, &ca);
        let mut ca_flagged = params("db.test", false);
        ca_flagged.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_flagged.key_usages = Vec::new();
        ca_flagged.extended_key_usages = Vec::new();
        let ca_flagged = issue(ca_flagged, &ca);
        let self_signed = root(params("db.test", false));

        // (case, store, presented chain leaf first, intermediates on the path or OpenSSL's reason)
        type Case = (
            &'static str,
            TrustStore,
            Vec<CertificateDer<'static>>,
            Result<usize, ChainError>,
        );
        let cases: Vec<Case> = vec![
            (
                "leaf under the root",
                store(vec![der(&ca)]),
                vec![leaf.clone()],
                Ok(0),
            ),
            (
                "leaf, intermediate presented",
                store(vec![der(&ca)]),
                vec![deep.clone(), der(&inter)],
                Ok(1),
            ),
            (
                "intermediate from the store",
                store(vec![der(&ca), der(&inter)]),
                vec![deep.clone()],
                Ok(1),
            ),
            (
                "intermediate missing",
                store(vec![der(&ca)]),
                vec![deep.clone()],
                Err(ChainError::UnknownIssuer),
            ),
            (
                "only the intermediate in the store",
                store(vec![der(&inter)]),
                vec![deep.clone(), der(&inter)],
                Err(ChainError::UnknownIssuer),
            ),
            (
                "another CA's root",
                store(vec![der(&other)]),
                vec![leaf.clone()],
                Err(ChainError::UnknownIssuer),
            ),
            (
                "expired leaf",
                store(vec![der(&ca)]),
                vec![expired],
                Err(ChainError::Expired),
            ),
            (
                "leaf not yet valid",
                store(vec![der(&ca)]),
                vec![future],
                Err(ChainError::NotYetValid),
            ),
            (
                "expired root",
                store(vec![der(&old_root)]),
                vec![under_old],
                Err(ChainError::Expired),
            ),
            (
                "root that is not a CA",
                store(vec![der(&not_ca)]),
                vec![under_not_ca],
                Err(ChainError::InvalidCa),
            ),
            // OpenSSL's X509_check_ca: key usage without keyCertSign makes a root no CA.
            (
                "root without keyCertSign",
                store(vec![der(&no_sign)]),
                vec![under_no_sign],
                Err(ChainError::InvalidCa),
            ),
            (
                "intermediate without keyCertSign",
                store(vec![der(&ca)]),
                vec![under_weak_inter, der(&weak_inter)],
                Err(ChainError::NoCertSign),
            ),
            (
                "leaf for clients only",
                store(vec![der(&ca)]),
                vec![client_only],
                Err(ChainError::WrongUsage),
            ),
            (
                "CA-flagged leaf under the root",
                store(vec![der(&ca)]),
                vec![ca_flagged],
                Ok(0),
            ),
            (
                "self-signed leaf in the store",
                store(vec![der(&self_signed)]),
                vec![der(&self_signed)],
                Ok(0),
            ),
            (
                "self-signed leaf elsewhere",
                store(vec![der(&ca)]),
                vec![der(&self_signed)],
                Err(ChainError::SelfSigned),
            ),
        ];
        let mut failures = Vec::new();
        for (name, store, chain, expected) in cases {
            let got = check(&store, &chain);
            if got != expected {
                failures.push(format!("{name}: got {got:?}, expected {expected:?}"));
            }
        }
        assert!(failures.is_empty(), "{}", failures.join("\n"));
    }
}
