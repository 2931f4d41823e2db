//! The verifier for modes that do not verify the chain (`require`, `prefer` and `allow` without a
//! root file), as libpq: any certificate is accepted, but the handshake's signatures are still
//! verified against it, and the chain is recorded for the report.

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, WebPkiSupportedAlgorithms};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};

use super::verifier::{Record, record_chain, verify_tls12, verify_tls13};

/// Accepts any certificate chain; verifies handshake signatures.
#[derive(Debug)]
pub struct NoChainVerifier {
    algorithms: WebPkiSupportedAlgorithms,
    record: Record,
}

impl NoChainVerifier {
    /// A verifier recording into `record`.
    pub fn new(provider: &CryptoProvider, record: Record) -> Self {
        NoChainVerifier {
            algorithms: provider.signature_verification_algorithms,
            record,
        }
    }
}

impl ServerCertVerifier for NoChainVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        record_chain(&self.record, end_entity, intermediates);
        Ok(ServerCertVerified::assertion())
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
