//! OAUTHBEARER as libpq 18 starts it (`fe-auth-oauth.c`): the issuer and client settings it
//! requires, the discovery request (an initial response with an empty `auth`), the server's JSON
//! error result and libpq's exact-match rule between the discovery document's issuer and
//! `oauth_issuer`, with libpq's messages. No token is ever requested and no device flow started:
//! pgtls stops where libpq would hand over to its OAuth flow. Then the issuer's HTTPS endpoint is
//! checked as the flow would reach it (`issuer.rs`).

use crate::config::OAuthSettings;

/// The discovery request: RFC 7628's client initial response with an empty `auth` value.
pub(crate) const DISCOVERY: &[u8] = b"n,,\x01auth=\x01\x01";

/// The dummy response to the server's error result (RFC 7628, 3.2.3).
pub(crate) const AFTER_ERROR: &[u8] = b"\x01";

/// The issuer identifier and, when `oauth_issuer` is a discovery URI itself, that URI.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Setup {
    pub issuer_id: String,
    pub discovery_uri: Option<String>,
}

/// What the server's error result said.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct ServerParams {
    pub status: Option<String>,
    pub scope: Option<String>,
    pub discovery_uri: Option<String>,
}

/// Where libpq stops an OAUTHBEARER login before its flow, with libpq's message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Stop {
    /// `oauth_issuer` and `oauth_client_id` are not both set: there is nothing to follow, and
    /// the TLS verdict stands as it does without a password.
    Unconfigured(String),
    /// libpq refuses the settings or what the server said: the connection fails.
    Refused(String),
}

/// `setup_oauth_parameters`: the issuer and client identifiers libpq requires.
///
/// # Errors
/// Where libpq stops, with its message.
pub(crate) fn setup(settings: &OAuthSettings, debug: bool) -> Result<Setup, Stop> {
    let (Some(issuer), Some(_)) = (&settings.issuer, &settings.client_id) else {
        return Err(Stop::Unconfigured(
            "server requires OAuth authentication, but oauth_issuer and oauth_client_id are not both set"
                .into(),
        ));
    };
    if issuer.contains(WK_PREFIX) {
        return Ok(Setup {
            issuer_id: issuer_from_well_known_uri(issuer, debug).map_err(Stop::Refused)?,
            discovery_uri: Some(issuer.clone()),
        });
    }
    Ok(Setup {
        issuer_id: issuer.clone(),
        discovery_uri: None,
    })
}

const WK_PREFIX: &str = "/.well-known/";

/// `issuer_from_well_known_uri` (RFC 8414): the issuer identifier a discovery URI stands for.
///
/// # Errors
/// libpq's message for a URI it refuses.
pub(crate) fn issuer_from_well_known_uri(uri: &str, debug: bool) -> Result<String, String> {
    let lower = uri.to_ascii_lowercase();
    let authority_start = if lower.starts_with("https://") {
        "https://".len()
    } else if debug && lower.starts_with("http://") {
        "http://".len()
    } else {
        return Err(format!("OAuth discovery URI \"{uri}\" must use HTTPS"));
    };
    let authority = &uri[authority_start..];
    if authority.contains(['?', '#']) {
        return Err(format!(
            "OAuth discovery URI \"{uri}\" must not contain query or fragment components"
        ));
    }
    let Some(wk_start) = authority.find(WK_PREFIX) else {
        return Err(format!(
            "OAuth discovery URI \"{uri}\" is not a .well-known URI"
        ));
    };
    let after = &authority[wk_start + WK_PREFIX.len()..];
    let suffix = ["openid-configuration", "oauth-authorization-server"]
        .into_iter()
        .find(|s| after.starts_with(s));
    let wk_end = match suffix {
        Some(s) if matches!(after.as_bytes().get(s.len()), None | Some(b'/')) => {
            wk_start + WK_PREFIX.len() + s.len()
        }
        _ => {
            return Err(format!(
                "OAuth discovery URI \"{uri}\" uses an unsupported .well-known suffix"
            ));
        }
    };
    // Not at the end: it must start the path (IETF style), not sit inside it.
    if wk_end != authority.len() && authority.find('/') != Some(wk_start) {
        return Err(format!(
            "OAuth discovery URI \"{uri}\" uses an invalid format"
        ));
    }
    Ok(format!(
        "{}{}{}",
        &uri[..authority_start],
        &authority[..wk_start],
        &authority[wk_end..]
    ))
}

/// `handle_oauth_sasl_error`: the server's error result, its discovery URI checked against the
/// issuer identifier byte for byte (RFC 9207), as libpq checks it before any flow runs.
///
/// # Errors
/// libpq's message: a result it cannot read, an incompatible issuer, a status other than
/// `invalid_token`.
pub(crate) fn server_params(
    data: &[u8],
    setup: &Setup,
    debug: bool,
) -> Result<ServerParams, String> {
    let text = std::str::from_utf8(data)
        .map_err(|_| "server's error response is not valid UTF-8".to_string())?;
    if text.contains('\0') {
        return Err("server's error message contained an embedded NULL, and was discarded".into());
    }
    let value: serde_json::Value = serde_json::from_str(text)
        .map_err(|e| format!("failed to parse server's error response: {e}"))?;
    let Some(object) = value.as_object() else {
        return Err(
            "failed to parse server's error response: top-level element must be an object".into(),
        );
    };
    let field = |name: &str| -> Result<Option<String>, String> {
        match object.get(name) {
            None => Ok(None),
            Some(serde_json::Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(format!(
                "failed to parse server's error response: field \"{name}\" must be a string"
            )),
        }
    };
    let params = ServerParams {
        status: field("status")?,
        scope: field("scope")?,
        discovery_uri: field("openid-configuration")?,
    };
    if let Some(uri) = &params.discovery_uri {
        let issuer = issuer_from_well_known_uri(uri, debug)?;
        if issuer != setup.issuer_id {
            return Err(format!(
                "server's discovery document at {uri} (issuer \"{issuer}\") is incompatible with oauth_issuer ({})",
                setup.issuer_id
            ));
        }
    }
    match params.status.as_deref() {
        None => Err("server sent error response without a status".into()),
        Some("invalid_token") => Ok(params),
        Some(other) => Err(format!("server rejected OAuth bearer token: {other}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn discovery_uris_give_libpqs_issuer_or_its_message() {
        // (URI, PGOAUTHDEBUG=UNSAFE, issuer or libpq's message)
        let cases: [(&str, bool, Result<&str, &str>); 9] = [
            (
                "https://idp.example.com/.well-known/openid-configuration",
                false,
                Ok("https://idp.example.com"),
            ),
            (
                "https://idp.example.com/tenant/.well-known/openid-configuration",
                false,
                Ok("https://idp.example.com/tenant"),
            ),
            (
                "https://idp.example.com/.well-known/oauth-authorization-server/tenant",
                false,
                Ok("https://idp.example.com/tenant"),
            ),
            (
                "http://idp.example.com/.well-known/openid-configuration",
                false,
                Err("must use HTTPS"),
            ),
            (
                "http://idp.example.com/.well-known/openid-configuration",
                true,
                Ok("http://idp.example.com"),
            ),
            (
                "https://idp.example.com/.well-known/openid-configuration?x=1",
                false,
                Err("must not contain query or fragment components"),
            ),
            (
                "https://idp.example.com/openid-configuration",
                false,
                Err("is not a .well-known URI"),
            ),
            (
                "https://idp.example.com/.well-known/openid-configuration-bad",
                false,
                Err("uses an unsupported .well-known suffix"),
            ),
            (
                "https://idp.example.com/a/.well-known/openid-configuration/b",
                false,
                Err("uses an invalid format"),
            ),
        ];
        for (uri, debug, want) in cases {
            match (issuer_from_well_known_uri(uri, debug), want) {
                (Ok(got), Ok(want)) => assert_eq!(got, want, "{uri}"),
                (Err(got), Err(want)) => assert!(got.ends_with(want), "{uri}: {got}"),
                (got, _) => panic!("{uri}: {got:?}"),
            }
        }
    }

    #[test]
    fn the_servers_result_must_name_the_issuer_libpq_was_given() {
        let setup = Setup {
            issuer_id: "https://idp.example.com".into(),
            discovery_uri: None,
        };
        let ok = br#"{"status":"invalid_token","openid-configuration":"https://idp.example.com/.well-known/openid-configuration","scope":"openid"}"#;
        let params = server_params(ok, &setup, false).unwrap();
        assert_eq!(params.scope.as_deref(), Some("openid"));
        let rogue = br#"{"status":"invalid_token","openid-configuration":"https://evil.example.com/.well-known/openid-configuration"}"#;
        assert_eq!(
            server_params(rogue, &setup, false).unwrap_err(),
            "server's discovery document at https://evil.example.com/.well-known/openid-configuration (issuer \"https://evil.example.com\") is incompatible with oauth_issuer (https://idp.example.com)"
        );
        assert_eq!(
            server_params(br#"{"scope":"x"}"#, &setup, false).unwrap_err(),
            "server sent error response without a status"
        );
        assert!(
            server_params(br#"["x"]"#, &setup, false)
                .unwrap_err()
                .contains("top-level element must be an object")
        );
    }
}
