//! The certificate verifier for modes that verify the chain (verify-ca, verify-full, and any mode
//! with a root file): libpq's chain semantics from [`super::chain`], and a record of what it saw
//! for the report. Host names are checked after the handshake, as libpq does.

use std::sync::{Arc, Mutex};

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, WebPkiSupportedAlgorithms};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, DigitallySignedStruct, SignatureScheme};

use super::chain::{self, ChainError, VerifiedChain};
use super::roots::TrustStore;

/// What a verifier saw during one handshake.
#[derive(Debug, Clone, Default)]
pub struct Seen {
    /// The certificates the server presented, leaf first.
    pub presented: Vec<CertificateDer<'static>>,
    /// The chain verdict, when the chain was verified.
    pub chain: Option<Result<VerifiedChain, ChainError>>,
}

/// Shared record of what a verifier saw; read after the handshake.
pub type Record = Arc<Mutex<Seen>>;

pub(super) fn record_chain(
    record: &Record,
    leaf: &CertificateDer<'_>,
    rest: &[CertificateDer<'_>],
) {
    if let Ok(mut seen) = record.lock() {
        seen.presented = std::iter::once(leaf)
            .chain(rest)
            .map(|c| c.clone().into_owned())
            .collect();
    }
}

/// Handshake signature checks shared by both verifiers: always made.
pub(super) fn verify_tls12(
    algorithms: &WebPkiSupportedAlgorithms,
    message: &[u8],
    cert: &CertificateDer<'_>,
    dss: &DigitallySignedStruct,
) -> Result<HandshakeSignatureValid, rustls::Error> {
    rustls::crypto::verify_tls12_signature(message, cert, dss, algorithms)
}

pub(super) fn verify_tls13(
    algorithms: &WebPkiSupportedAlgorithms,
    message: &[u8],
    cert: &CertificateDer<'_>,
    dss: &DigitallySignedStruct,
) -> Result<HandshakeSignatureValid, rustls::Error> {
    rustls::crypto::verify_tls13_signature(message, cert, dss, algorithms)
}

/// Verifies the chain against a trust store with libpq's semantics and records the outcome.
#[derive(Debug)]
pub struct ChainVerifier {
    store: TrustStore,
    algorithms: WebPkiSupportedAlgorithms,
    record: Record,
}

impl ChainVerifier {
    /// A verifier over `store`, recording into `record`.
    pub fn new(store: TrustStore, provider: &CryptoProvider, record: Record) -> Self {
        ChainVerifier {
            store,
            algorithms: provider.signature_verification_algorithms,
            record,
        }
    }
}

fn rustls_error(err: &ChainError) -> rustls::Error {
    let cert_error = match err {
        ChainError::UnknownIssuer | ChainError::SelfSigned | ChainError::InvalidCa => {
            CertificateError::UnknownIssuer
        }
        ChainError::Expired => CertificateError::Expired,
        ChainError::NotYetValid => CertificateError::NotValidYet,
        ChainError::Revoked => CertificateError::Revoked,
        ChainError::NoCrl => CertificateError::UnknownRevocationStatus,
        ChainError::BadSignature => CertificateError::BadSignature,
        ChainError::WrongUsage | ChainError::NoCertSign => CertificateError::InvalidPurpose,
        ChainError::Other(_) => CertificateError::BadEncoding,
    };
    rustls::Error::InvalidCertificate(cert_error)
}

impl ServerCertVerifier for ChainVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        record_chain(&self.record, end_entity, intermediates);
        let verdict = chain::verify(
            &self.store,
            end_entity,
            intermediates,
            now,
            self.algorithms.all,
        );
        let result = match &verdict {
            Ok(_) => Ok(ServerCertVerified::assertion()),
            Err(err) => Err(rustls_error(err)),
        };
        if let Ok(mut seen) = self.record.lock() {
            seen.chain = Some(verdict);
        }
        result
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12(&self.algorithms, message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13(&self.algorithms, message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}
