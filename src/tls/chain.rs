//! Chain verification with OpenSSL's semantics where they differ from webpki's: a self-signed
//! server certificate found in the store is trusted as it is; only self-signed certificates of the
//! store are anchors, its other certificates serve as intermediates; with CRLs loaded, every
//! certificate up to the anchor needs a CRL from its issuer.

use rustls::pki_types::{CertificateDer, SignatureVerificationAlgorithm, UnixTime};
use serde::Serialize;
use webpki::{KeyUsage, RevocationCheckDepth, RevocationOptionsBuilder, UnknownStatusPolicy};

use super::roots::{TrustSource, TrustStore};

/// Why a chain did not verify, in OpenSSL's words where it has them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
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

fn validity_error(der: &[u8], now: UnixTime) -> Option<ChainError> {
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
        E::UnknownIssuer if super::roots::is_self_issued(leaf) => ChainError::SelfSigned,
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
        path_to(&anchors, leaf, &intermediates, now, algorithms, revocation)?;
    let anchor = store
        .anchors
        .iter()
        .find(|a| {
            webpki::anchor_from_trusted_cert(a)
                .is_ok_and(|t| t.subject.as_ref() == anchor_subject.as_slice())
        })
        .cloned()
        .ok_or_else(|| ChainError::Other("verified anchor not found in the store".into()))?;
    if store.crl_check && !anchor_has_crl(store, &anchor) {
        return Err(ChainError::NoCrl);
    }
    Ok(VerifiedChain {
        anchor,
        intermediates: path,
        source: store.source.clone(),
    })
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
    let used = path
        .intermediate_certificates()
        .map(|c| c.der().into_owned())
        .collect();
    Ok((subject, used))
}
