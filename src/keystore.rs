//! Java keystores as Java applications use them for trust (the JDK's `cacerts`, a
//! `javax.net.ssl.trustStore`): JKS read, PKCS#12 read and written. PKCS#12 goes through the
//! p12-keystore crate; JKS is read here, because the one crate that reads it allocates whatever
//! length a file claims. Every length below is checked against the bytes that are there.

use rustls::pki_types::CertificateDer;
use sha1::Digest;

/// The password Java uses for `cacerts` and keytool suggests: `changeit`.
pub const DEFAULT_PASSWORD: &str = "changeit";

const JKS_MAGIC: u32 = 0xFEED_FEED;

/// One entry of a keystore: a trusted certificate, or a private key's certificate chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub alias: String,
    /// Whether it is a trusted certificate entry (what a truststore holds).
    pub trusted: bool,
    /// Its certificates: one for a trusted entry, the chain for a key entry.
    pub certs: Vec<CertificateDer<'static>>,
}

/// A keystore's kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Java's own format.
    Jks,
    /// PKCS#12.
    Pkcs12,
}

/// Why a keystore cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KeystoreError {
    /// The integrity check failed: the password is not the store's (keytool's words).
    #[error("keystore password was incorrect")]
    Password,
    /// The bytes are not a keystore of that kind.
    #[error("invalid {0} keystore: {1}")]
    Invalid(&'static str, String),
    /// A PKCS#12 keystore with a private key, which pgtls does not rewrite.
    #[error(
        "the keystore holds a private key entry (\"{0}\"): pgtls adds roots only to a truststore of certificates; add them with keytool -importcert"
    )]
    HasKeys(String),
}

/// Whether the bytes start like a JKS keystore.
pub fn is_jks(bytes: &[u8]) -> bool {
    bytes.get(..4) == Some(&JKS_MAGIC.to_be_bytes())
}

/// Reads a JKS or PKCS#12 keystore's entries, in file order for JKS and alias order for PKCS#12.
///
/// # Errors
/// A wrong password, or bytes that are not a keystore.
pub fn read(bytes: &[u8], password: &str) -> Result<(Kind, Vec<Entry>), KeystoreError> {
    if is_jks(bytes) {
        return Ok((Kind::Jks, read_jks(bytes, password)?));
    }
    check_work(bytes)?;
    let store =
        p12_keystore::KeyStore::from_pkcs12(bytes, password, p12_keystore::Pkcs12ImportPolicy::Raw)
            .map_err(|e| match e {
                p12_keystore::error::Error::MacError(_) => KeystoreError::Password,
                other => KeystoreError::Invalid("PKCS#12", other.to_string()),
            })?;
    let mut entries: Vec<Entry> = store
        .entries()
        .filter_map(|(alias, entry)| {
            let (trusted, certs) = match entry {
                p12_keystore::KeyStoreEntry::Certificate(c) => (true, vec![c.as_der().to_vec()]),
                p12_keystore::KeyStoreEntry::PrivateKeyChain(chain) => (
                    false,
                    chain.certs().iter().map(|c| c.as_der().to_vec()).collect(),
                ),
                p12_keystore::KeyStoreEntry::Secret(_) => return None,
            };
            Some(Entry {
                alias: alias.clone(),
                trusted,
                certs: certs.into_iter().map(CertificateDer::from).collect(),
            })
        })
        .collect();
    entries.sort_by(|a, b| a.alias.cmp(&b.alias));
    Ok((Kind::Pkcs12, entries))
}

/// The most key-derivation iterations one scheme of a PKCS#12 file may ask for: a file is
/// opened with its own counts (MAC and each encryption), so a hostile one could otherwise ask for
/// hours of work. Java writes 10,000; OpenSSL 2,048.
const MAX_ITERATIONS: u64 = 1_000_000;
/// The most a whole file may ask for, every scheme in it together (the MAC and each encrypted
/// block or key): what a keystore of a hundred keys written by Java needs, a fraction of a second.
const MAX_TOTAL_ITERATIONS: u64 = 2_000_000;

/// Refuses a PKCS#12 file whose key derivations would take more work than [`MAX_ITERATIONS`]
/// for one scheme or [`MAX_TOTAL_ITERATIONS`] in all, before any of it is done.
fn check_work(bytes: &[u8]) -> Result<(), KeystoreError> {
    let mut counts = Vec::new();
    iteration_counts(bytes, 0, &mut counts);
    let refuse = |why: String| Err(KeystoreError::Invalid("PKCS#12", why));
    if let Some(count) = counts.iter().find(|c| **c > MAX_ITERATIONS) {
        return refuse(format!(
            "{count} key-derivation iterations (more than {MAX_ITERATIONS})"
        ));
    }
    let total = counts.iter().fold(0u64, |sum, c| sum.saturating_add(*c));
    if total > MAX_TOTAL_ITERATIONS {
        return refuse(format!(
            "{total} key-derivation iterations in {} schemes (more than {MAX_TOTAL_ITERATIONS} in all)",
            counts.len()
        ));
    }
    Ok(())
}

/// One DER element: its tag, its content, and what follows it.
fn element(der: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = der.split_first()?;
    let (&first, rest) = rest.split_first()?;
    let (len, rest) = match first {
        n if n < 0x80 => (usize::from(n), rest),
        n @ 0x81..=0x84 => {
            let count = usize::from(n - 0x80);
            let bytes = rest.get(..count)?;
            let len = bytes
                .iter()
                .fold(0usize, |acc, b| (acc << 8) | usize::from(*b));
            (len, &rest[count..])
        }
        _ => return None,
    };
    let content = rest.get(..len)?;
    Some((tag, content, &rest[len..]))
}

/// Every iteration count in a PKCS#12 file (`u64::MAX` for one too long to read). Every
/// password-based scheme PKCS#12 uses (the MAC, PBES1, PBKDF2) writes its salt as an OCTET STRING
/// followed by the iteration count as an INTEGER in the same SEQUENCE; OCTET STRINGs that hold DER
/// (the authenticated safe, safe contents) are searched too.
fn iteration_counts(der: &[u8], depth: usize, counts: &mut Vec<u64>) {
    if depth > 24 {
        return;
    }
    let mut rest = der;
    let mut after_octets = false;
    while let Some((tag, content, next)) = element(rest) {
        match tag {
            0x02 if after_octets && content.len() <= 8 => counts.push(
                content
                    .iter()
                    .fold(0u64, |acc, b| (acc << 8) | u64::from(*b)),
            ),
            0x02 if after_octets => counts.push(u64::MAX),
            0x30 | 0x31 | 0xa0 | 0x04 => iteration_counts(content, depth + 1, counts),
            _ => {}
        }
        after_octets = tag == 0x04;
        rest = next;
    }
}

/// A PKCS#12 truststore of trusted certificate entries (with Java's trusted-usage attribute, so
/// that keytool and the JVM take them as trust anchors), protected by `password`.
///
/// # Errors
/// A certificate the encoder refuses.
pub fn write_pkcs12(
    entries: &[(&str, &CertificateDer<'_>)],
    password: &str,
) -> Result<Vec<u8>, KeystoreError> {
    let invalid = |e: p12_keystore::error::Error| KeystoreError::Invalid("PKCS#12", e.to_string());
    let mut store = p12_keystore::KeyStore::new();
    for (alias, der) in entries {
        let cert = p12_keystore::Certificate::from_der(der.as_ref()).map_err(invalid)?;
        store.add_entry(alias, p12_keystore::KeyStoreEntry::Certificate(cert));
    }
    store.writer(password).write().map_err(invalid)
}

/// A keystore with `roots` added as trusted certificate entries, every entry it held kept: the
/// new bytes, its kind, and how many roots were added (a root already in it, by its DER, is
/// not added again). A JKS file keeps its bytes and gains entries at its end, with keytool's
/// integrity check recomputed; a PKCS#12 truststore is written anew with its entries and the
/// roots. Aliases already taken get a numbered one. `now_ms` stamps JKS entries as keytool does.
///
/// # Errors
/// A wrong password (nothing is written), bytes that are not a keystore, or a PKCS#12 file
/// with a private key.
pub fn append_trusted(
    bytes: &[u8],
    password: &str,
    roots: &[(&str, &CertificateDer<'_>)],
    now_ms: u64,
) -> Result<(Kind, Vec<u8>, usize), KeystoreError> {
    let (kind, entries) = read(bytes, password)?;
    if kind == Kind::Pkcs12
        && let Some(key) = entries.iter().find(|e| !e.trusted)
    {
        return Err(KeystoreError::HasKeys(key.alias.clone()));
    }
    let mut taken: Vec<String> = entries.iter().map(|e| e.alias.to_lowercase()).collect();
    let mut added: Vec<(String, &CertificateDer<'_>)> = Vec::new();
    for (alias, der) in roots {
        let held = entries.iter().flat_map(|e| &e.certs).any(|c| c == *der)
            || added.iter().any(|(_, d)| d == der);
        if held {
            continue;
        }
        let mut unique = alias.to_lowercase();
        let mut n = 2;
        while taken.contains(&unique) {
            unique = format!("{}-{n}", alias.to_lowercase());
            n += 1;
        }
        taken.push(unique.clone());
        added.push((unique, der));
    }
    let count = added.len();
    let out = match kind {
        Kind::Jks => append_jks(bytes, password, &added, now_ms)?,
        Kind::Pkcs12 => {
            // Only trusted entries are left here: one certificate each.
            let mut all: Vec<(String, CertificateDer<'_>)> = entries
                .into_iter()
                .filter_map(|e| Some((e.alias, e.certs.into_iter().next()?)))
                .collect();
            all.extend(added.iter().map(|(a, d)| (a.clone(), (*d).clone())));
            let refs: Vec<(&str, &CertificateDer<'_>)> =
                all.iter().map(|(a, d)| (a.as_str(), d)).collect();
            write_pkcs12(&refs, password)?
        }
    };
    Ok((kind, out, count))
}

/// A JKS file (whose password has been checked) with trusted certificate entries added at its
/// end: the count updated, the old entries byte for byte, keytool's digest recomputed.
fn append_jks(
    bytes: &[u8],
    password: &str,
    added: &[(String, &CertificateDer<'_>)],
    now_ms: u64,
) -> Result<Vec<u8>, KeystoreError> {
    let invalid = |why: &str| KeystoreError::Invalid("JKS", why.into());
    let body = bytes
        .get(..bytes.len().saturating_sub(20))
        .filter(|b| b.len() >= 12)
        .ok_or_else(|| invalid("truncated"))?;
    let mut out = body.to_vec();
    let count = u32::from_be_bytes([body[8], body[9], body[10], body[11]]);
    let count = u32::try_from(added.len())
        .ok()
        .and_then(|n| count.checked_add(n))
        .ok_or_else(|| invalid("too many entries"))?;
    out[8..12].copy_from_slice(&count.to_be_bytes());
    for (alias, der) in added {
        let alias_len = u16::try_from(alias.len()).map_err(|_| invalid("alias too long"))?;
        let der_len = u32::try_from(der.len()).map_err(|_| invalid("certificate too long"))?;
        out.extend(2u32.to_be_bytes());
        out.extend(alias_len.to_be_bytes());
        out.extend(alias.as_bytes());
        out.extend(now_ms.to_be_bytes());
        out.extend(5u16.to_be_bytes());
        out.extend(b"X.509");
        out.extend(der_len.to_be_bytes());
        out.extend(der.as_ref());
    }
    let digest = jks_digest(password, &out);
    out.extend(digest);
    Ok(out)
}

/// keytool's integrity check of a JKS file: SHA-1 over the password (UTF-16BE), "Mighty
/// Aphrodite" and the bytes before the digest.
fn jks_digest(password: &str, signed: &[u8]) -> Vec<u8> {
    let mut sha = sha1::Sha1::new();
    for unit in password.encode_utf16() {
        sha.update(unit.to_be_bytes());
    }
    sha.update(b"Mighty Aphrodite");
    sha.update(signed);
    sha.finalize().to_vec()
}

/// A cursor over the bytes of a JKS file, every read bounded by what is left.
struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], KeystoreError> {
        let end = self
            .at
            .checked_add(n)
            .filter(|&end| end <= self.bytes.len());
        let end = end.ok_or_else(|| KeystoreError::Invalid("JKS", "truncated".into()))?;
        let out = &self.bytes[self.at..end];
        self.at = end;
        Ok(out)
    }

    fn u16(&mut self) -> Result<u16, KeystoreError> {
        let b = self.take(2)?;
        Ok(u16::from_be_bytes([b[0], b[1]]))
    }

    fn u32(&mut self) -> Result<u32, KeystoreError> {
        let b = self.take(4)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    /// Java's modified UTF-8 with a two-byte length (aliases are plain text in practice).
    fn utf(&mut self) -> Result<String, KeystoreError> {
        let len = self.u16()? as usize;
        Ok(String::from_utf8_lossy(self.take(len)?).into_owned())
    }

    /// A certificate: its type (version 2), a four-byte length and the DER.
    fn certificate(&mut self, version: u32) -> Result<CertificateDer<'static>, KeystoreError> {
        if version == 2 {
            let kind = self.utf()?;
            if kind != "X.509" {
                return Err(KeystoreError::Invalid("JKS", format!("{kind} certificate")));
            }
        }
        let len = self.u32()? as usize;
        Ok(CertificateDer::from(self.take(len)?.to_vec()))
    }
}

fn read_jks(bytes: &[u8], password: &str) -> Result<Vec<Entry>, KeystoreError> {
    let invalid = |why: &str| KeystoreError::Invalid("JKS", why.into());
    let mut r = Reader { bytes, at: 0 };
    if r.u32()? != JKS_MAGIC {
        return Err(invalid("not a JKS file"));
    }
    let version = r.u32()?;
    if !matches!(version, 1 | 2) {
        return Err(invalid("unknown version"));
    }
    let count = r.u32()?;
    let mut entries = Vec::new();
    for _ in 0..count {
        let tag = r.u32()?;
        let alias = r.utf()?;
        r.take(8)?; // creation time
        let entry = match tag {
            1 => {
                let key_len = r.u32()? as usize;
                r.take(key_len)?; // the protected private key: never decrypted here
                let chain = r.u32()?;
                let certs = (0..chain)
                    .map(|_| r.certificate(version))
                    .collect::<Result<Vec<_>, _>>()?;
                Entry {
                    alias,
                    trusted: false,
                    certs,
                }
            }
            2 => Entry {
                alias,
                trusted: true,
                certs: vec![r.certificate(version)?],
            },
            _ => return Err(invalid("unknown entry type")),
        };
        entries.push(entry);
    }
    let signed = r.at;
    let digest = r.take(20)?;
    if jks_digest(password, &bytes[..signed]) != digest {
        return Err(KeystoreError::Password);
    }
    Ok(entries)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cert() -> CertificateDer<'static> {
        let key = rcgen::KeyPair::generate().unwrap();
        let params = rcgen::CertificateParams::new(vec!["keystore.test".to_string()]).unwrap();
        params.self_signed(&key).unwrap().der().clone()
    }

    /// A JKS file as keytool writes it, built by hand: one trusted certificate entry.
    fn jks(alias: &str, der: &[u8], password: &str) -> Vec<u8> {
        let mut out = Vec::new();
        out.extend(JKS_MAGIC.to_be_bytes());
        out.extend(2u32.to_be_bytes());
        out.extend(1u32.to_be_bytes());
        out.extend(2u32.to_be_bytes());
        out.extend((alias.len() as u16).to_be_bytes());
        out.extend(alias.as_bytes());
        out.extend(0u64.to_be_bytes());
        out.extend(5u16.to_be_bytes());
        out.extend(b"X.509");
        out.extend((der.len() as u32).to_be_bytes());
        out.extend(der);
        let digest = jks_digest(password, &out);
        out.extend(digest);
        out
    }

    #[test]
    fn jks_trusted_entries_are_read_and_the_password_checked() {
        let der = cert();
        let file = jks("root", der.as_ref(), "changeit");
        let (kind, entries) = read(&file, "changeit").unwrap();
        assert_eq!(kind, Kind::Jks);
        assert_eq!(entries.len(), 1);
        assert_eq!(
            (entries[0].alias.as_str(), entries[0].trusted),
            ("root", true)
        );
        assert_eq!(entries[0].certs, [der]);
        assert_eq!(read(&file, "wrong"), Err(KeystoreError::Password));
    }

    #[test]
    fn roots_added_to_a_keystore_keep_every_entry_it_held_and_need_its_password() {
        let (old, new) = (cert(), cert());
        let jks_file = jks("old", old.as_ref(), "changeit");
        let p12_file = write_pkcs12(&[("old", &old)], "changeit").unwrap();
        for (file, kind) in [(jks_file, Kind::Jks), (p12_file, Kind::Pkcs12)] {
            let roots = [("old", &new), ("again", &old)];
            let (got, bytes, added) = append_trusted(&file, "changeit", &roots, 0).unwrap();
            assert_eq!((got, added), (kind, 1), "{kind:?}");
            let (_, entries) = read(&bytes, "changeit").unwrap();
            let mut seen: Vec<(&str, bool, &CertificateDer<'_>)> = entries
                .iter()
                .map(|e| (e.alias.as_str(), e.trusted, &e.certs[0]))
                .collect();
            seen.sort_by_key(|(alias, ..)| *alias);
            // The taken alias gets a number; the certificate already held is not added again.
            assert_eq!(
                seen,
                [("old", true, &old), ("old-2", true, &new)],
                "{kind:?}"
            );
            assert_eq!(
                append_trusted(&file, "wrong", &roots, 0).map(|(k, ..)| k),
                Err(KeystoreError::Password),
                "{kind:?}"
            );
        }
    }

    #[test]
    fn lengths_beyond_the_file_are_refused_not_allocated() {
        let mut file = jks("root", cert().as_ref(), "changeit");
        // The certificate's length claims 4 GB.
        let at = 4 + 4 + 4 + 4 + 2 + 4 + 8 + 2 + 5;
        file[at..at + 4].copy_from_slice(&u32::MAX.to_be_bytes());
        assert!(matches!(
            read(&file, "changeit"),
            Err(KeystoreError::Invalid("JKS", _))
        ));
        assert!(read(&file[..10], "changeit").is_err());
    }

    /// A PBE parameter SEQUENCE: a salt, then `count`.
    fn pbe(count: u32) -> Vec<u8> {
        let mut der = vec![0x30, 0x0c, 0x04, 0x02, 0xaa, 0xbb, 0x02, 0x04];
        der.extend(count.to_be_bytes());
        der.extend([0x05, 0x00]);
        der
    }

    /// A PFX-like SEQUENCE of `blocks` PBE parameters.
    fn pfx(blocks: &[u32]) -> Vec<u8> {
        let body: Vec<u8> = blocks.iter().flat_map(|c| pbe(*c)).collect();
        let mut der = vec![0x30, 0x82];
        der.extend((body.len() as u16).to_be_bytes());
        der.extend(body);
        der
    }

    #[test]
    fn key_derivation_work_is_capped_per_scheme_and_per_file_before_any_is_done() {
        let file = write_pkcs12(&[("root", &cert())], "changeit").unwrap();
        assert!(check_work(&file).is_ok(), "Java's 10,000 are fine");
        // (iteration counts, refused with)
        let table: [(&[u32], Option<&str>); 5] = [
            (&[10_000; 100], None),
            (&[0x7fff_ffff], Some("2147483647 key-derivation iterations")),
            (&[1_000_000, 1_000_000], None),
            (&[1_000_000, 1_000_000, 1], Some("in 3 schemes")),
            (
                &[1_000_000; 200],
                Some("200000000 key-derivation iterations in 200 schemes"),
            ),
        ];
        for (counts, refused) in table {
            let file = pfx(counts);
            let started = std::time::Instant::now();
            match (read(&file, "changeit"), refused) {
                (Err(KeystoreError::Invalid("PKCS#12", why)), Some(want)) => {
                    assert!(why.contains(want), "{}: {why}", counts.len());
                }
                (Err(KeystoreError::Invalid("PKCS#12", why)), None) => {
                    assert!(!why.contains("iterations"), "{}: {why}", counts.len());
                }
                (other, _) => panic!("{}: {other:?}", counts.len()),
            }
            assert!(started.elapsed() < std::time::Duration::from_secs(1));
        }
    }

    #[test]
    fn a_written_truststore_reads_back_as_trusted_entries() {
        let (a, b) = (cert(), cert());
        let file = write_pkcs12(&[("b-root", &b), ("a-root", &a)], "changeit").unwrap();
        let (kind, entries) = read(&file, "changeit").unwrap();
        assert_eq!(kind, Kind::Pkcs12);
        let got: Vec<(&str, bool, &[CertificateDer])> = entries
            .iter()
            .map(|e| (e.alias.as_str(), e.trusted, e.certs.as_slice()))
            .collect();
        assert_eq!(
            got,
            [
                ("a-root", true, std::slice::from_ref(&a)),
                ("b-root", true, std::slice::from_ref(&b))
            ]
        );
        assert_eq!(read(&file, "nope"), Err(KeystoreError::Password));
    }
}
