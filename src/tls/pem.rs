//! PEM certificate files read as OpenSSL reads them for libpq (`PEM_X509_INFO_read_bio`): text
//! around blocks is skipped and so is a leading UTF-8 byte-order mark; `CERTIFICATE`,
//! `X509 CERTIFICATE` and `TRUSTED CERTIFICATE` blocks are certificates, `X509 CRL` blocks
//! count as found, other blocks are skipped; one block that does not decode fails the whole
//! file, with OpenSSL's reason. rustls's PEM reader differs on each of these points, so root and
//! client certificate files go through this one.

use base64::Engine as _;
use rustls::pki_types::CertificateDer;

/// What a PEM file holds.
#[derive(Debug, Default)]
pub(crate) struct Contents {
    /// Its certificates, in file order, each trimmed to the certificate's own DER (OpenSSL ignores
    /// what follows it, such as a trusted certificate's auxiliary data).
    pub certs: Vec<CertificateDer<'static>>,
    /// How many CRL blocks it holds.
    pub crls: usize,
}

/// One `-----BEGIN label-----` ... `-----END label-----` block.
struct Block {
    label: String,
    body: String,
}

fn begin_label(line: &str) -> Option<&str> {
    line.strip_prefix("-----BEGIN ")?.strip_suffix("-----")
}

/// The blocks of a PEM text, as OpenSSL finds them.
fn blocks(text: &str) -> Result<Vec<Block>, &'static str> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut lines = text.lines().map(|l| l.trim_end_matches('\r'));
    let mut found = Vec::new();
    while let Some(line) = lines.next() {
        let Some(label) = begin_label(line) else {
            continue;
        };
        let end = format!("-----END {label}-----");
        let mut body = String::new();
        let mut in_headers = true;
        loop {
            let Some(line) = lines.next() else {
                return Err("bad end line");
            };
            if line.starts_with("-----END ") {
                if line != end {
                    return Err("bad end line");
                }
                break;
            }
            // RFC 1421 headers (Proc-Type, DEK-Info) come first and end at a blank line.
            if in_headers && line.contains(':') {
                continue;
            }
            in_headers = false;
            body.push_str(line.trim());
        }
        found.push(Block {
            label: label.to_string(),
            body,
        });
    }
    Ok(found)
}

/// The first DER element of `der`: a certificate's own bytes, without what follows.
fn first_element(der: &[u8]) -> Result<&[u8], &'static str> {
    if der.first() != Some(&0x30) {
        return Err("wrong tag");
    }
    let (len, header) = match der.get(1) {
        Some(&n) if n < 0x80 => (usize::from(n), 2),
        Some(&n) if (0x81..=0x84).contains(&n) => {
            let count = usize::from(n - 0x80);
            let bytes = der.get(2..2 + count).ok_or("too long")?;
            (
                bytes
                    .iter()
                    .fold(0usize, |acc, b| (acc << 8) | usize::from(*b)),
                2 + count,
            )
        }
        _ => return Err("wrong tag"),
    };
    der.get(..header + len).ok_or("too long")
}

/// Reads a PEM file's certificates and CRLs as OpenSSL does.
///
/// # Errors
/// OpenSSL's reason for the first block that does not decode: `bad end line`,
/// `bad base64 decode`, `wrong tag`, `too long`, `bad certificate`.
pub(crate) fn read(bytes: &[u8]) -> Result<Contents, &'static str> {
    let text = String::from_utf8_lossy(bytes);
    let mut contents = Contents::default();
    for block in blocks(&text)? {
        let certificate = matches!(
            block.label.as_str(),
            "CERTIFICATE" | "X509 CERTIFICATE" | "TRUSTED CERTIFICATE"
        );
        if !certificate && block.label != "X509 CRL" {
            continue;
        }
        let der = base64::engine::general_purpose::STANDARD
            .decode(&block.body)
            .map_err(|_| "bad base64 decode")?;
        let der = first_element(&der)?;
        if certificate {
            x509_parser::parse_x509_certificate(der).map_err(|_| "bad certificate")?;
            contents.certs.push(CertificateDer::from(der.to_vec()));
        } else {
            x509_parser::parse_x509_crl(der).map_err(|_| "bad CRL")?;
            contents.crls += 1;
        }
    }
    Ok(contents)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A small self-signed certificate (P-256), made once with rcgen for these tests.
    fn cert_pem() -> String {
        let key = rcgen::KeyPair::generate().unwrap();
        let params = rcgen::CertificateParams::new(vec!["pem.test".to_string()]).unwrap();
        params.self_signed(&key).unwrap().pem()
    }

    fn block(label: &str, der: &[u8]) -> String {
        let body = base64::engine::general_purpose::STANDARD.encode(der);
        format!("-----BEGIN {label}-----\n{body}\n-----END {label}-----\n")
    }

    fn der_of(pem: &str) -> Vec<u8> {
        let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
        base64::engine::general_purpose::STANDARD
            .decode(body)
            .unwrap()
    }

    #[test]
    fn files_are_read_as_openssl_reads_them() {
        let good = cert_pem();
        let der = der_of(&good);
        let mut trailing = der.clone();
        trailing.extend([0, 0]);
        let corrupt = block("CERTIFICATE", b"\x04\x03abc");
        // (file, certificates found, or OpenSSL's reason) as libpq 18 reports them
        let cases: Vec<(String, Result<usize, &str>)> = vec![
            (good.clone(), Ok(1)),
            (format!("{good}{corrupt}"), Err("wrong tag")),
            (corrupt.clone(), Err("wrong tag")),
            (format!("\u{feff}{good}"), Ok(1)),
            (format!("\u{feff}{}", good.replace('\n', "\r\n")), Ok(1)),
            (
                good.replace("BEGIN CERTIFICATE", "BEGIN X509 CERTIFICATE")
                    .replace("END CERTIFICATE", "END X509 CERTIFICATE"),
                Ok(1),
            ),
            (block("TRUSTED CERTIFICATE", &trailing), Ok(1)),
            (block("CERTIFICATE", &trailing), Ok(1)),
            (
                block("CERTIFICATE", &der[..der.len() - 10]),
                Err("too long"),
            ),
            (
                format!("{good}-----BEGIN CERTIFICATE-----\nMIIB!!!!\n-----END CERTIFICATE-----\n"),
                Err("bad base64 decode"),
            ),
            (
                format!("{good}-----BEGIN FOO-----\nAAAA\n-----END FOO-----\n"),
                Ok(1),
            ),
            (
                format!("Certificate:\n  text\n{good}trailing words\n"),
                Ok(1),
            ),
            (
                format!("{good}-----BEGIN CERTIFICATE-----\nMIIB\n"),
                Err("bad end line"),
            ),
            (
                good.replace("END CERTIFICATE", "END X509 CRL"),
                Err("bad end line"),
            ),
            (format!("   {good}"), Ok(0)),
            (good.replace("\nMI", "\n  MI"), Ok(1)),
            (String::new(), Ok(0)),
        ];
        for (n, (text, expected)) in cases.into_iter().enumerate() {
            let got = read(text.as_bytes()).map(|c| c.certs.len());
            assert_eq!(got, expected, "case {n}:\n{text}");
        }
    }

    #[test]
    fn certificates_are_trimmed_to_their_own_der() {
        let der = der_of(&cert_pem());
        let mut aux = der.clone();
        aux.extend([0x30, 0x00]);
        let read = read(block("TRUSTED CERTIFICATE", &aux).as_bytes()).unwrap();
        assert_eq!(read.certs[0].as_ref(), der.as_slice());
    }
}
