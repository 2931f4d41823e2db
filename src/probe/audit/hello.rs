//! Hand-built ClientHellos for what rustls will not offer (SSL 3.0, TLS 1.0 and 1.1, legacy cipher
//! suites; TLS 1.2 and older only, so no key share), and just enough ServerHello parsing to know what the
//! server chose. No handshake is ever finished with these.

use tokio::io::{AsyncRead, AsyncReadExt};

/// A ClientHello to send.
pub struct Hello<'a> {
    /// The protocol version offered (0x0300 SSL 3.0 ... 0x0304 TLS 1.3).
    pub version: u16,
    /// The cipher suites offered.
    pub suites: &'a [u16],
    /// Named groups offered (and, for TLS 1.3, the one key share sent).
    pub groups: &'a [u16],
    /// The SNI host name, if any.
    pub sni: Option<&'a str>,
}

fn u16be(out: &mut Vec<u8>, v: u16) {
    out.extend_from_slice(&v.to_be_bytes());
}

fn extension(out: &mut Vec<u8>, kind: u16, body: &[u8]) {
    u16be(out, kind);
    u16be(out, body.len() as u16);
    out.extend_from_slice(body);
}

fn list16(items: &[u16]) -> Vec<u8> {
    let mut out = Vec::new();
    u16be(&mut out, (items.len() * 2) as u16);
    for item in items {
        u16be(&mut out, *item);
    }
    out
}

/// Pseudo-random bytes, enough for a random field.
fn noise(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

/// The record bytes of a ClientHello.
pub fn client_hello(hello: &Hello<'_>) -> Vec<u8> {
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(7, |d| d.as_nanos() as u64);
    let tls13 = hello.version >= 0x0304;
    let mut body = Vec::new();
    u16be(&mut body, if tls13 { 0x0303 } else { hello.version });
    body.extend(noise(32, seed));
    if tls13 {
        body.push(32);
        body.extend(noise(32, seed ^ 0x55));
    } else {
        body.push(0);
    }
    body.extend(list16(hello.suites));
    body.extend([1, 0]);
    let mut ext = Vec::new();
    if let Some(name) = hello.sni {
        let mut sni = Vec::new();
        u16be(&mut sni, (name.len() + 3) as u16);
        sni.push(0);
        u16be(&mut sni, name.len() as u16);
        sni.extend_from_slice(name.as_bytes());
        extension(&mut ext, 0x0000, &sni);
    }
    if hello.version > 0x0300 {
        extension(&mut ext, 0x000a, &list16(hello.groups));
        extension(&mut ext, 0x000b, &[1, 0]);
        extension(&mut ext, 0xff01, &[0]);
    }
    if hello.version >= 0x0303 {
        let schemes = [
            0x0403, 0x0503, 0x0603, 0x0804, 0x0805, 0x0806, 0x0401, 0x0501, 0x0601, 0x0201, 0x0203,
        ];
        extension(&mut ext, 0x000d, &list16(&schemes));
    }
    if !ext.is_empty() {
        u16be(&mut body, ext.len() as u16);
        body.extend(ext);
    }
    let mut handshake = vec![1];
    handshake.extend(&(body.len() as u32).to_be_bytes()[1..]);
    handshake.extend(body);
    let mut record = vec![0x16];
    u16be(
        &mut record,
        if hello.version == 0x0300 {
            0x0300
        } else {
            0x0301
        },
    );
    u16be(&mut record, handshake.len() as u16);
    record.extend(handshake);
    record
}

/// What the server answered to a hand-built ClientHello.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    /// A ServerHello choosing this version, suite and (TLS 1.3) key-share group.
    Accepted {
        /// The version chosen.
        version: u16,
        /// The suite chosen.
        suite: u16,
        /// The key-share group, for TLS 1.3.
        group: Option<u16>,
    },
    /// A HelloRetryRequest: the server wants another key share.
    RetryRequested,
    /// An alert, or the connection closed.
    Refused,
}

const HRR_RANDOM: [u8; 32] = [
    0xcf, 0x21, 0xad, 0x74, 0xe5, 0x9a, 0x61, 0x11, 0xbe, 0x1d, 0x8c, 0x02, 0x1e, 0x65, 0xb8, 0x91,
    0xc2, 0xa2, 0x11, 0x16, 0x7a, 0xbb, 0x8c, 0x5e, 0x07, 0x9e, 0x09, 0xe2, 0xc8, 0xa8, 0x33, 0x9c,
];

/// Reads the server's first record and interprets it.
pub async fn read_reply<S: AsyncRead + Unpin>(stream: &mut S) -> Reply {
    let mut header = [0u8; 5];
    if stream.read_exact(&mut header).await.is_err() || header[0] != 0x16 {
        return Reply::Refused;
    }
    let len = usize::from(u16::from_be_bytes([header[3], header[4]]));
    let mut body = vec![0u8; len.min(16_384 + 2048)];
    if stream.read_exact(&mut body).await.is_err() {
        return Reply::Refused;
    }
    parse_server_hello(&body).unwrap_or(Reply::Refused)
}

fn parse_server_hello(b: &[u8]) -> Option<Reply> {
    if *b.first()? != 2 {
        return None;
    }
    let mut at = 4;
    let legacy = u16::from_be_bytes([*b.get(at)?, *b.get(at + 1)?]);
    at += 2;
    let random = b.get(at..at + 32)?;
    at += 32;
    let session = usize::from(*b.get(at)?);
    at += 1 + session;
    let suite = u16::from_be_bytes([*b.get(at)?, *b.get(at + 1)?]);
    at += 3;
    if random == HRR_RANDOM {
        return Some(Reply::RetryRequested);
    }
    let (mut version, mut group) = (legacy, None);
    if let Some(ext_len) = b
        .get(at..at + 2)
        .map(|l| usize::from(u16::from_be_bytes([l[0], l[1]])))
    {
        let mut e = at + 2;
        let end = (e + ext_len).min(b.len());
        while e + 4 <= end {
            let kind = u16::from_be_bytes([b[e], b[e + 1]]);
            let len = usize::from(u16::from_be_bytes([b[e + 2], b[e + 3]]));
            let data = b.get(e + 4..e + 4 + len)?;
            match kind {
                0x002b if data.len() >= 2 => version = u16::from_be_bytes([data[0], data[1]]),
                0x0033 if data.len() >= 2 => group = Some(u16::from_be_bytes([data[0], data[1]])),
                _ => {}
            }
            e += 4 + len;
        }
    }
    Some(Reply::Accepted {
        version,
        suite,
        group,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hello_is_one_well_formed_record() {
        for version in [0x0300, 0x0301, 0x0302, 0x0303, 0x0304] {
            let hello = client_hello(&Hello {
                version,
                suites: &[0x002f, 0x1301],
                groups: &[0x001d],
                sni: Some("db"),
            });
            assert_eq!(hello[0], 0x16);
            assert_eq!(
                usize::from(u16::from_be_bytes([hello[3], hello[4]])),
                hello.len() - 5
            );
            assert_eq!(hello[5], 1, "a ClientHello");
            let len = u32::from_be_bytes([0, hello[6], hello[7], hello[8]]) as usize;
            assert_eq!(len, hello.len() - 9);
        }
    }

    #[test]
    fn server_hellos_are_read_for_version_suite_and_group() {
        let mut hello = vec![2, 0, 0, 0, 0x03, 0x03];
        hello.extend([9u8; 32]);
        hello.extend([0, 0x13, 0x01, 0]);
        hello.extend([
            0, 14, 0x00, 0x2b, 0, 2, 0x03, 0x04, 0x00, 0x33, 0, 4, 0x11, 0xec, 0, 0,
        ]);
        assert_eq!(
            parse_server_hello(&hello),
            Some(Reply::Accepted {
                version: 0x0304,
                suite: 0x1301,
                group: Some(0x11ec)
            })
        );
    }
}
