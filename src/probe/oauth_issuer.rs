//! The OAuth issuer's HTTPS endpoint, reached as libpq 18's OAuth flow (libcurl) would reach it
//! before any token is asked for: the discovery document's URL, over TLS verified against the
//! system trust store (or `PGOAUTHCAFILE` under `PGOAUTHDEBUG=UNSAFE`, as libpq-oauth allows),
//! the host name checked, then one `GET` of the document. Nothing is sent but that request.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::report::IssuerEndpoint;
use crate::tls::TrustStore;

/// The most of the document read.
const MAX_DOCUMENT: usize = 64 * 1024;

/// A URL's parts: scheme, host, port and path.
fn parts(url: &str) -> Option<(bool, String, u16, String)> {
    let lower = url.to_ascii_lowercase();
    let (tls, rest) = if lower.starts_with("https://") {
        (true, &url["https://".len()..])
    } else if lower.starts_with("http://") {
        (false, &url["http://".len()..])
    } else {
        return None;
    };
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    let (host, port) = match authority.rsplit_once(':') {
        Some((host, port)) if !host.ends_with(']') || authority.starts_with('[') => {
            match port.parse() {
                Ok(port) => (host, port),
                Err(_) if host.contains(':') => (authority, if tls { 443 } else { 80 }),
                Err(_) => return None,
            }
        }
        _ => (authority, if tls { 443 } else { 80 }),
    };
    let host = host.trim_start_matches('[').trim_end_matches(']');
    (!host.is_empty()).then(|| (tls, host.to_string(), port, path.to_string()))
}

/// The roots the flow trusts: `PGOAUTHCAFILE` under `PGOAUTHDEBUG=UNSAFE`, else the system's.
fn roots(options: &crate::config::Options) -> Result<(TrustStore, String), String> {
    match (&options.oauth_ca_file, options.oauth_debug) {
        (Some(file), true) => TrustStore::from_file(file)
            .map(|s| (s, format!("PGOAUTHCAFILE {}", file.display())))
            .map_err(|e| e.to_string()),
        _ => TrustStore::system()
            .map(|s| (s, "the system trust store".to_string()))
            .map_err(|e| e.to_string()),
    }
}

/// Checks the issuer endpoint `url` within `limit`.
pub(crate) async fn check(
    url: &str,
    options: &crate::config::Options,
    limit: Duration,
) -> IssuerEndpoint {
    let mut endpoint = IssuerEndpoint {
        url: url.to_string(),
        trust: None,
        protocol: None,
        certificate: None,
        verified: false,
        error: None,
        http_status: None,
        document_issuer: None,
    };
    let run = async {
        let Some((tls, host, port, path)) = parts(url) else {
            return Err("the URL cannot be read".to_string());
        };
        if !tls {
            return Err(
                "plain HTTP: allowed by libpq only under PGOAUTHDEBUG=UNSAFE, and never verified"
                    .to_string(),
            );
        }
        let (store, trust) = roots(options)?;
        endpoint.trust = Some(trust);
        let tcp = tokio::net::TcpStream::connect((host.as_str(), port))
            .await
            .map_err(|e| {
                format!(
                    "could not connect to {host}:{port}: {}",
                    crate::net::os_message(&e)
                )
            })?;
        let record = crate::tls::Record::default();
        let (config, name) =
            crate::tls::https_config(store, &host, record.clone()).map_err(|e| e.to_string())?;
        let handshake = tokio_rustls::TlsConnector::from(config)
            .connect(name, tcp)
            .await;
        let seen = record.lock().map(|s| s.clone()).unwrap_or_default();
        endpoint.certificate = seen
            .presented
            .first()
            .and_then(|c| crate::certinfo::describe(c, crate::clock::Clock::system().unix()));
        let mut stream = handshake.map_err(|e| match &seen.chain {
            Some(Err(chain)) => format!("certificate verify failed: {chain}"),
            _ => format!(
                "the TLS handshake failed: {}",
                crate::sanitize::server_text(&e.to_string())
            ),
        })?;
        endpoint.protocol = stream
            .get_ref()
            .1
            .protocol_version()
            .and_then(|v| v.as_str())
            .map(|v| v.replace("TLSv1_", "TLSv1."));
        // The host name, as libcurl checks it (SANs, one wildcard label).
        if let Some(leaf) = seen.presented.first()
            && let Some(message) = crate::tls::hostname::check_leaf(&host, leaf).refusal()
        {
            return Err(message.to_string());
        }
        endpoint.verified = true;
        let request = format!(
            "GET {path} HTTP/1.1\r\nHost: {host}\r\nAccept:\r\nUser-Agent: pgtls\r\nConnection: close\r\n\r\n"
        );
        stream
            .write_all(request.as_bytes())
            .await
            .map_err(|e| format!("could not send the request: {}", crate::net::os_message(&e)))?;
        let mut body = Vec::new();
        let _ = (&mut stream)
            .take(MAX_DOCUMENT as u64)
            .read_to_end(&mut body)
            .await;
        let text = String::from_utf8_lossy(&body);
        endpoint.http_status = text
            .lines()
            .next()
            .and_then(|status| status.split(' ').nth(1))
            .and_then(|code| code.parse().ok());
        endpoint.document_issuer = text
            .split_once("\r\n\r\n")
            .and_then(|(_, document)| serde_json::from_str::<serde_json::Value>(document).ok())
            .and_then(|doc| doc["issuer"].as_str().map(str::to_string));
        Ok(())
    };
    match tokio::time::timeout(limit, run).await {
        Ok(Ok(())) => {}
        Ok(Err(error)) => endpoint.error = Some(crate::sanitize::one_line(&error)),
        Err(_) => endpoint.error = Some("timeout expired (the issuer did not answer)".into()),
    }
    endpoint
}

#[cfg(test)]
mod tests {
    use super::parts;

    #[test]
    fn issuer_urls_give_scheme_host_port_and_path() {
        let cases = [
            (
                "https://idp.example.com/.well-known/openid-configuration",
                Some((
                    true,
                    "idp.example.com",
                    443,
                    "/.well-known/openid-configuration",
                )),
            ),
            (
                "https://127.0.0.1:8443/t/.well-known/oauth-authorization-server",
                Some((
                    true,
                    "127.0.0.1",
                    8443,
                    "/t/.well-known/oauth-authorization-server",
                )),
            ),
            ("https://[::1]:9443/x", Some((true, "::1", 9443, "/x"))),
            (
                "http://idp.example.com",
                Some((false, "idp.example.com", 80, "/")),
            ),
            ("ftp://idp.example.com/", None),
        ];
        for (url, want) in cases {
            let got = parts(url);
            let want = want.map(|(t, h, p, path)| (t, h.to_string(), p, path.to_string()));
            assert_eq!(got, want, "{url}");
        }
    }
}
