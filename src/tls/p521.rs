//! ECDSA with P-521 keys, which OpenSSL (and so libpq) verifies and ring does not: without it a
//! server with a P-521 certificate, or a chain signed by a P-521 CA, would fail in pgtls where
//! libpq connects. The signature check is RustCrypto's `p521`; certificates may sign with
//! SHA-256, SHA-384 or SHA-512 (OpenSSL signs with SHA-256 unless told otherwise), and TLS offers
//! `ecdsa_secp521r1_sha512`.

use rustls::SignatureScheme;
use rustls::crypto::WebPkiSupportedAlgorithms;
use rustls::pki_types::{
    AlgorithmIdentifier, InvalidSignature, SignatureVerificationAlgorithm, alg_id,
};
use sha2::Digest;

/// ECDSA over P-521 with one hash.
#[derive(Debug)]
struct EcdsaP521 {
    hash: Hash,
}

#[derive(Debug, Clone, Copy)]
enum Hash {
    Sha256,
    Sha384,
    Sha512,
}

static P521_SHA256: EcdsaP521 = EcdsaP521 { hash: Hash::Sha256 };
static P521_SHA384: EcdsaP521 = EcdsaP521 { hash: Hash::Sha384 };
static P521_SHA512: EcdsaP521 = EcdsaP521 { hash: Hash::Sha512 };
/// What `ecdsa_secp521r1_sha512` verifies with.
static TLS_P521: [&dyn SignatureVerificationAlgorithm; 1] = [&P521_SHA512];

impl SignatureVerificationAlgorithm for EcdsaP521 {
    fn public_key_alg_id(&self) -> AlgorithmIdentifier {
        alg_id::ECDSA_P521
    }

    fn signature_alg_id(&self) -> AlgorithmIdentifier {
        match self.hash {
            Hash::Sha256 => alg_id::ECDSA_SHA256,
            Hash::Sha384 => alg_id::ECDSA_SHA384,
            Hash::Sha512 => alg_id::ECDSA_SHA512,
        }
    }

    fn verify_signature(
        &self,
        public_key: &[u8],
        message: &[u8],
        signature: &[u8],
    ) -> Result<(), InvalidSignature> {
        use p521::ecdsa::signature::hazmat::PrehashVerifier;
        let key =
            p521::ecdsa::VerifyingKey::from_sec1_bytes(public_key).map_err(|_| InvalidSignature)?;
        let signature =
            p521::ecdsa::Signature::from_der(signature).map_err(|_| InvalidSignature)?;
        let digest = match self.hash {
            Hash::Sha256 => sha2::Sha256::digest(message).to_vec(),
            Hash::Sha384 => sha2::Sha384::digest(message).to_vec(),
            Hash::Sha512 => sha2::Sha512::digest(message).to_vec(),
        };
        key.verify_prehash(&digest, &signature)
            .map_err(|_| InvalidSignature)
    }
}

/// ring's algorithms with P-521 added, for chains and for TLS's `ecdsa_secp521r1_sha512`.
pub(crate) fn algorithms() -> WebPkiSupportedAlgorithms {
    static ALGORITHMS: std::sync::OnceLock<WebPkiSupportedAlgorithms> = std::sync::OnceLock::new();
    *ALGORITHMS.get_or_init(|| {
        let ring = rustls::crypto::ring::default_provider().signature_verification_algorithms;
        let mut all = ring.all.to_vec();
        all.extend([
            &P521_SHA256 as &dyn SignatureVerificationAlgorithm,
            &P521_SHA384,
            &P521_SHA512,
        ]);
        let mut mapping = ring.mapping.to_vec();
        // After the other ECDSA schemes, as OpenSSL lists it.
        let at = mapping
            .iter()
            .rposition(|(scheme, _)| {
                matches!(
                    scheme,
                    SignatureScheme::ECDSA_NISTP256_SHA256 | SignatureScheme::ECDSA_NISTP384_SHA384
                )
            })
            .map_or(0, |i| i + 1);
        mapping.insert(at, (SignatureScheme::ECDSA_NISTP521_SHA512, &TLS_P521));
        WebPkiSupportedAlgorithms {
            all: Vec::leak(all),
            mapping: Vec::leak(mapping),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn p521_signatures_verify_with_each_hash_and_fail_when_altered() {
        use p521::ecdsa::signature::hazmat::PrehashSigner;
        let mut secret = [7u8; 66];
        secret[0] = 1; // below the order: 521 bits
        let key = p521::ecdsa::SigningKey::from_bytes(&secret.into()).unwrap();
        let public = key.verifying_key().to_sec1_point(false);
        let message = b"CertificateVerify";
        // (RustCrypto signs no prehash shorter than half the field: SHA-256 with P-521, as OpenSSL
        // signs certificates, is covered against a real server in tests/cli/check.rs.)
        for (algorithm, digest) in [
            (&P521_SHA384, sha2::Sha384::digest(message).to_vec()),
            (&P521_SHA512, sha2::Sha512::digest(message).to_vec()),
        ] {
            let signature: p521::ecdsa::Signature = key.sign_prehash(&digest).unwrap();
            let der = signature.to_der();
            assert!(
                algorithm
                    .verify_signature(public.as_bytes(), message, der.as_bytes())
                    .is_ok()
            );
            assert!(
                algorithm
                    .verify_signature(public.as_bytes(), b"another", der.as_bytes())
                    .is_err()
            );
        }
    }

    #[test]
    fn tls_offers_p521_beside_ring_s_schemes() {
        let schemes: Vec<SignatureScheme> = algorithms().mapping.iter().map(|(s, _)| *s).collect();
        assert!(schemes.contains(&SignatureScheme::ECDSA_NISTP521_SHA512));
        assert!(schemes.contains(&SignatureScheme::ECDSA_NISTP256_SHA256));
        assert!(schemes.contains(&SignatureScheme::RSA_PSS_SHA256));
    }
}
