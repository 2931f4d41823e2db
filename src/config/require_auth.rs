//! libpq's `require_auth`: the list of authentication methods a client accepts from the server,
//! parsed as `pqConnectOptions2` parses it (plain or all negated, `none` for "no authentication",
//! no method twice) into the sets that `check_expected_areq` tests each request against.

use serde::Serialize;

use super::ConfigError;

/// A kind of authentication request a server can send, by its protocol code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub enum AuthRequest {
    /// AuthenticationOk (0).
    Ok,
    /// AuthenticationCleartextPassword (3).
    Password,
    /// AuthenticationMD5Password (5).
    Md5,
    /// AuthenticationGSS (7).
    Gss,
    /// AuthenticationGSSContinue (8).
    GssContinue,
    /// AuthenticationSSPI (9).
    Sspi,
    /// AuthenticationSASL (10).
    Sasl,
    /// AuthenticationSASLContinue (11).
    SaslContinue,
    /// AuthenticationSASLFinal (12).
    SaslFinal,
    /// A code libpq does not answer (Kerberos V4/V5, crypt, or unknown).
    Other(u32),
}

impl AuthRequest {
    /// The request for a protocol code.
    pub fn from_code(code: u32) -> Self {
        match code {
            0 => Self::Ok,
            3 => Self::Password,
            5 => Self::Md5,
            7 => Self::Gss,
            8 => Self::GssContinue,
            9 => Self::Sspi,
            10 => Self::Sasl,
            11 => Self::SaslContinue,
            12 => Self::SaslFinal,
            other => Self::Other(other),
        }
    }

    fn bit(self) -> u16 {
        match self {
            Self::Ok | Self::Other(_) => 0,
            Self::Password => 1 << 3,
            Self::Md5 => 1 << 5,
            Self::Gss => 1 << 7,
            Self::GssContinue => 1 << 8,
            Self::Sspi => 1 << 9,
            Self::Sasl => 1 << 10,
            Self::SaslContinue => 1 << 11,
            Self::SaslFinal => 1 << 12,
        }
    }

    /// libpq's words for what the server asked (`auth_method_description`).
    pub fn description(self) -> &'static str {
        match self {
            Self::Password => "server requested a cleartext password",
            Self::Md5 => "server requested a hashed password",
            Self::Gss | Self::GssContinue => "server requested GSSAPI authentication",
            Self::Sspi => "server requested SSPI authentication",
            Self::Sasl | Self::SaslContinue | Self::SaslFinal => {
                "server requested SASL authentication"
            }
            Self::Ok | Self::Other(_) => "server requested an unknown authentication type",
        }
    }
}

/// A SASL mechanism that `require_auth` can name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SaslMechanism {
    /// SCRAM-SHA-256 and SCRAM-SHA-256-PLUS (`scram-sha-256`).
    Scram,
    /// OAUTHBEARER (`oauth`).
    OAuth,
}

const SASL_BITS: u16 = (1 << 10) | (1 << 11) | (1 << 12);

/// A parsed `require_auth`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequireAuth {
    /// The value as written, for libpq's messages.
    text: String,
    /// The request codes the client answers, one bit per code.
    methods: u16,
    /// Whether SCRAM may be the SASL mechanism.
    scram: bool,
    /// Whether OAUTHBEARER may be the SASL mechanism.
    oauth: bool,
    /// Whether an AuthenticationOk without a finished exchange is refused.
    auth_required: bool,
}

impl RequireAuth {
    /// Parses a list as libpq does; an empty one allows only "none".
    ///
    /// # Errors
    /// libpq's messages: an unknown method, plain and negated methods mixed, a method twice.
    pub fn parse(list: &str) -> Result<Self, ConfigError> {
        let mut parsed = Self {
            text: list.to_string(),
            methods: 0,
            scram: false,
            oauth: false,
            auth_required: true,
        };
        if list.is_empty() {
            // libpq skips the parse and keeps its zeroed sets: no request is answered, and an
            // AuthenticationOk without one is accepted.
            parsed.auth_required = false;
            return Ok(parsed);
        }
        let mut negated = false;
        let mut none_seen = false;
        for (n, part) in list.split(',').enumerate() {
            let method = match part.strip_prefix('!') {
                Some(method) => {
                    if n == 0 {
                        // A negated list starts from everything and takes away.
                        parsed.methods = u16::MAX;
                        parsed.scram = true;
                        parsed.oauth = true;
                        parsed.auth_required = false;
                    } else if !negated {
                        return Err(ConfigError::RequireAuthNegativeMixed(part.to_string()));
                    }
                    negated = true;
                    method
                }
                None if negated => {
                    return Err(ConfigError::RequireAuthPositiveMixed(part.to_string()));
                }
                None => part,
            };
            let duplicate = || Err(ConfigError::RequireAuthDuplicate(part.to_string()));
            let bits: u16 = match method {
                "password" => 1 << 3,
                "md5" => 1 << 5,
                "gss" => (1 << 7) | (1 << 8),
                "sspi" => (1 << 9) | (1 << 8),
                "scram-sha-256" | "oauth" => {
                    let slot = if method == "oauth" {
                        &mut parsed.oauth
                    } else {
                        &mut parsed.scram
                    };
                    if *slot != negated {
                        return duplicate();
                    }
                    *slot = !negated;
                    continue;
                }
                "none" => {
                    if none_seen {
                        return duplicate();
                    }
                    none_seen = true;
                    parsed.auth_required = negated;
                    continue;
                }
                _ => {
                    return Err(ConfigError::InvalidValue {
                        keyword: "require_auth",
                        value: method.to_string(),
                    });
                }
            };
            if negated {
                if parsed.methods & bits == 0 {
                    return duplicate();
                }
                parsed.methods &= !bits;
            } else {
                if parsed.methods & bits == bits {
                    return duplicate();
                }
                parsed.methods |= bits;
            }
        }
        // SASL requests are answered exactly when some mechanism is allowed.
        let any_mechanism = parsed.scram || parsed.oauth;
        if !negated && any_mechanism {
            parsed.methods |= SASL_BITS;
        } else if negated && !any_mechanism {
            parsed.methods &= !SASL_BITS;
        }
        Ok(parsed)
    }

    /// The value as written.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Whether the client answers this request at all.
    pub fn allows(&self, request: AuthRequest) -> bool {
        request.bit() != 0 && self.methods & request.bit() != 0
    }

    /// Whether this SASL mechanism may be used.
    pub fn allows_mechanism(&self, mechanism: SaslMechanism) -> bool {
        match mechanism {
            SaslMechanism::Scram => self.scram,
            SaslMechanism::OAuth => self.oauth,
        }
    }

    /// Whether a server that sends AuthenticationOk without an exchange the client finished is
    /// refused (`none` not allowed).
    pub fn auth_required(&self) -> bool {
        self.auth_required
    }
}

#[cfg(test)]
mod tests {
    use super::AuthRequest::*;
    use super::*;

    #[test]
    fn lists_are_all_plain_or_all_negated_and_name_no_method_twice() {
        let cases = [
            (
                "md5,!password",
                "negative require_auth method \"!password\" cannot be mixed with non-negative methods",
            ),
            (
                "!md5,password",
                "require_auth method \"password\" cannot be mixed with negative methods",
            ),
            (
                "md5,md5",
                "require_auth method \"md5\" is specified more than once",
            ),
            (
                "none,none",
                "require_auth method \"none\" is specified more than once",
            ),
            (
                "!none,!none",
                "require_auth method \"!none\" is specified more than once",
            ),
            (
                "!scram-sha-256,!scram-sha-256",
                "require_auth method \"!scram-sha-256\" is specified more than once",
            ),
            ("MD5", "invalid require_auth value: \"MD5\""),
            ("md5,", "invalid require_auth value: \"\""),
        ];
        for (list, message) in cases {
            assert_eq!(
                RequireAuth::parse(list).unwrap_err().to_string(),
                message,
                "{list}"
            );
        }
    }

    #[test]
    fn each_list_answers_exactly_the_requests_libpq_answers() {
        // (list, requests answered, SCRAM allowed, authentication required)
        let cases: [(&str, &[AuthRequest], bool, bool); 10] = [
            ("", &[], false, false),
            ("password", &[Password], false, true),
            ("md5,password", &[Password, Md5], false, true),
            (
                "scram-sha-256",
                &[Sasl, SaslContinue, SaslFinal],
                true,
                true,
            ),
            ("none", &[], false, false),
            ("scram-sha-256,none", &[Sasl, SaslFinal], true, false),
            ("gss", &[Gss, GssContinue], false, true),
            (
                "!password",
                &[Md5, Gss, Sspi, Sasl, SaslContinue, SaslFinal],
                true,
                false,
            ),
            ("!none", &[Password, Md5, Sasl], true, true),
            // OAUTHBEARER stays allowed, so SASL requests are still answered.
            ("!scram-sha-256", &[Password, Md5, Sasl], false, false),
        ];
        let all = [
            Password,
            Md5,
            Gss,
            GssContinue,
            Sspi,
            Sasl,
            SaslContinue,
            SaslFinal,
        ];
        for (list, answered, scram, required) in cases {
            let parsed = RequireAuth::parse(list).unwrap();
            for request in all {
                if answered.contains(&request) {
                    assert!(parsed.allows(request), "{list} answers {request:?}");
                }
            }
            assert!(!parsed.allows(Ok) && !parsed.allows(Other(2)), "{list}");
            assert_eq!(
                parsed.allows_mechanism(SaslMechanism::Scram),
                scram,
                "{list}"
            );
            assert_eq!(parsed.auth_required(), required, "{list}");
        }
        let empty = RequireAuth::parse("").unwrap();
        assert!(
            all.iter().all(|r| !empty.allows(*r)),
            "an empty list answers nothing"
        );
        let scram_only = RequireAuth::parse("scram-sha-256").unwrap();
        assert!(!scram_only.allows(Password) && !scram_only.allows(Md5));
        let not_sasl = RequireAuth::parse("!scram-sha-256,!oauth").unwrap();
        assert!(!not_sasl.allows(Sasl) && not_sasl.allows(Md5));
    }
}
