//! libpq's rules for answering a server's authentication requests, with no I/O: which requests a
//! client may answer at all (`require_auth`, `channel_binding`, `sslcertmode`, as libpq's
//! `check_expected_areq`), and which SASL mechanism it picks (`pg_SASL_init`). The login in
//! `login.rs` asks these before it sends anything, so that pgtls never answers a request that
//! libpq would refuse, and refuses with libpq's message.

use crate::config::{AuthRequest, ChannelBinding, RequireAuth, SaslMechanism, SslCertMode};

/// The settings that decide which requests are answered.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Rules<'a> {
    /// `require_auth`, when set.
    pub require_auth: Option<&'a RequireAuth>,
    /// `channel_binding`.
    pub channel_binding: ChannelBinding,
    /// `sslcertmode`.
    pub sslcertmode: SslCertMode,
    /// Whether the connection is TLS.
    pub tls: bool,
    /// Whether the server asked for a client certificate in the handshake.
    pub cert_requested: bool,
    /// Whether one was sent.
    pub cert_sent: bool,
}

/// What the client has completed so far.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Progress {
    /// The client finished its side of an exchange: sent a password, or verified the server's
    /// SCRAM signature (libpq's `client_finished_auth`).
    pub finished: bool,
    /// A SCRAM-SHA-256-PLUS exchange completed with a verified server signature.
    pub channel_bound: bool,
}

/// The SASL mechanism a client picks from the server's list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mechanism {
    /// SCRAM-SHA-256-PLUS: SCRAM with `tls-server-end-point` channel binding.
    ScramPlus,
    /// SCRAM-SHA-256.
    Scram,
    /// OAUTHBEARER.
    OAuth,
}

impl Mechanism {
    /// The mechanism's name on the wire.
    pub fn name(self) -> &'static str {
        match self {
            Self::ScramPlus => "SCRAM-SHA-256-PLUS",
            Self::Scram => "SCRAM-SHA-256",
            Self::OAuth => "OAUTHBEARER",
        }
    }

    fn family(self) -> SaslMechanism {
        match self {
            Self::ScramPlus | Self::Scram => SaslMechanism::Scram,
            Self::OAuth => SaslMechanism::OAuth,
        }
    }
}

/// Whether a request may be answered, before anything is sent in reply (`check_expected_areq`).
///
/// # Errors
/// libpq's message for a request it refuses.
pub(crate) fn check_request(
    rules: &Rules<'_>,
    request: AuthRequest,
    progress: Progress,
) -> Result<(), String> {
    if rules.sslcertmode == SslCertMode::Require && request == AuthRequest::Ok {
        if !rules.cert_requested {
            return Err("server did not request an SSL certificate".into());
        }
        if !rules.cert_sent {
            return Err("server accepted connection without a valid SSL certificate".into());
        }
    }
    if let Some(require) = rules.require_auth {
        let refusal = match request {
            AuthRequest::Ok if require.auth_required() && !progress.finished => {
                Some("server did not complete authentication")
            }
            AuthRequest::Ok => None,
            other if !require.allows(other) => Some(other.description()),
            _ => None,
        };
        if let Some(reason) = refusal {
            return Err(format!(
                "authentication method requirement \"{}\" failed: {reason}",
                require.as_str()
            ));
        }
    }
    if rules.channel_binding == ChannelBinding::Require {
        match request {
            AuthRequest::Sasl | AuthRequest::SaslContinue | AuthRequest::SaslFinal => {}
            AuthRequest::Ok if !progress.channel_bound => {
                return Err(
                    "channel binding required, but server authenticated client without channel binding"
                        .into(),
                );
            }
            AuthRequest::Ok => {}
            _ => {
                return Err(
                    "channel binding required but not supported by server's authentication request"
                        .into(),
                );
            }
        }
    }
    Ok(())
}

/// Picks the SASL mechanism from the server's list, as `pg_SASL_init` does.
///
/// # Errors
/// libpq's message when none fits or the rules forbid the one chosen.
pub(crate) fn choose_mechanism(rules: &Rules<'_>, offered: &[&[u8]]) -> Result<Mechanism, String> {
    if rules.channel_binding == ChannelBinding::Require && !rules.tls {
        return Err("channel binding required, but SSL not in use".into());
    }
    let mut chosen = None;
    for &name in offered {
        match name {
            b"SCRAM-SHA-256-PLUS" if !rules.tls => {
                return Err(
                    "server offered SCRAM-SHA-256-PLUS authentication over a non-SSL connection"
                        .into(),
                );
            }
            b"SCRAM-SHA-256-PLUS" if rules.channel_binding != ChannelBinding::Disable => {
                chosen = Some(Mechanism::ScramPlus);
            }
            b"SCRAM-SHA-256" if chosen.is_none() => chosen = Some(Mechanism::Scram),
            b"OAUTHBEARER" if chosen.is_none() => chosen = Some(Mechanism::OAuth),
            _ => {}
        }
    }
    let Some(chosen) = chosen else {
        return Err("none of the server's SASL authentication mechanisms are supported".into());
    };
    if let Some(require) = rules.require_auth
        && !require.allows_mechanism(chosen.family())
    {
        return Err(format!(
            "authentication method requirement \"{}\" failed: server requested {} authentication",
            require.as_str(),
            chosen.name()
        ));
    }
    if rules.channel_binding == ChannelBinding::Require && chosen != Mechanism::ScramPlus {
        return Err(
            "channel binding is required, but server did not offer an authentication method that supports channel binding"
                .into(),
        );
    }
    Ok(chosen)
}

#[cfg(test)]
mod tests {
    use super::*;
    use AuthRequest::{Md5, Ok as AuthOk, Password, Sasl, SaslFinal};

    fn rules(require_auth: Option<&RequireAuth>, channel_binding: ChannelBinding) -> Rules<'_> {
        Rules {
            require_auth,
            channel_binding,
            sslcertmode: SslCertMode::Allow,
            tls: true,
            cert_requested: false,
            cert_sent: false,
        }
    }

    const NOTHING: Progress = Progress {
        finished: false,
        channel_bound: false,
    };
    const FINISHED: Progress = Progress {
        finished: true,
        channel_bound: false,
    };
    const BOUND: Progress = Progress {
        finished: true,
        channel_bound: true,
    };

    #[test]
    fn requests_are_answered_or_refused_with_libpqs_message() {
        use ChannelBinding::{Prefer, Require};
        // (require_auth, channel_binding, request, progress, libpq's refusal)
        let cases: &[(&str, ChannelBinding, AuthRequest, Progress, Option<&str>)] = &[
            ("-", Prefer, Password, NOTHING, None),
            ("-", Prefer, AuthOk, NOTHING, None),
            (
                "",
                Prefer,
                Password,
                NOTHING,
                Some(
                    "authentication method requirement \"\" failed: server requested a cleartext password",
                ),
            ),
            ("", Prefer, AuthOk, NOTHING, None),
            (
                "scram-sha-256",
                Prefer,
                Password,
                NOTHING,
                Some(
                    "authentication method requirement \"scram-sha-256\" failed: server requested a cleartext password",
                ),
            ),
            (
                "scram-sha-256",
                Prefer,
                Md5,
                NOTHING,
                Some(
                    "authentication method requirement \"scram-sha-256\" failed: server requested a hashed password",
                ),
            ),
            (
                "password",
                Prefer,
                Sasl,
                NOTHING,
                Some(
                    "authentication method requirement \"password\" failed: server requested SASL authentication",
                ),
            ),
            (
                "scram-sha-256",
                Prefer,
                AuthOk,
                NOTHING,
                Some(
                    "authentication method requirement \"scram-sha-256\" failed: server did not complete authentication",
                ),
            ),
            ("scram-sha-256", Prefer, AuthOk, FINISHED, None),
            ("scram-sha-256,none", Prefer, AuthOk, NOTHING, None),
            ("none", Prefer, AuthOk, NOTHING, None),
            (
                "none",
                Prefer,
                Md5,
                NOTHING,
                Some(
                    "authentication method requirement \"none\" failed: server requested a hashed password",
                ),
            ),
            ("!password", Prefer, AuthOk, NOTHING, None),
            (
                "!none",
                Prefer,
                AuthOk,
                NOTHING,
                Some(
                    "authentication method requirement \"!none\" failed: server did not complete authentication",
                ),
            ),
            (
                "-",
                Require,
                Md5,
                NOTHING,
                Some(
                    "channel binding required but not supported by server's authentication request",
                ),
            ),
            ("-", Require, SaslFinal, NOTHING, None),
            (
                "-",
                Require,
                AuthOk,
                NOTHING,
                Some(
                    "channel binding required, but server authenticated client without channel binding",
                ),
            ),
            (
                "-",
                Require,
                AuthOk,
                FINISHED,
                Some(
                    "channel binding required, but server authenticated client without channel binding",
                ),
            ),
            ("-", Require, AuthOk, BOUND, None),
        ];
        for (list, binding, request, progress, refusal) in cases {
            // "-" stands for no require_auth at all.
            let parsed = (*list != "-").then(|| RequireAuth::parse(list).unwrap());
            let got = check_request(&rules(parsed.as_ref(), *binding), *request, *progress);
            assert_eq!(
                got.err().as_deref(),
                *refusal,
                "{list} {binding} {request:?} {progress:?}"
            );
        }
    }

    #[test]
    fn sslcertmode_require_needs_a_requested_and_sent_certificate() {
        let mut r = rules(None, ChannelBinding::Prefer);
        r.sslcertmode = SslCertMode::Require;
        let refusal = |r: &Rules| check_request(r, AuthOk, FINISHED).err();
        assert_eq!(
            refusal(&r).as_deref(),
            Some("server did not request an SSL certificate")
        );
        r.cert_requested = true;
        assert_eq!(
            refusal(&r).as_deref(),
            Some("server accepted connection without a valid SSL certificate")
        );
        r.cert_sent = true;
        assert_eq!(refusal(&r), None);
    }

    #[test]
    fn mechanisms_are_chosen_as_libpq_chooses_them() {
        use ChannelBinding::{Disable, Prefer, Require};
        let both: &[&[u8]] = &[b"SCRAM-SHA-256-PLUS", b"SCRAM-SHA-256"];
        let plain: &[&[u8]] = &[b"SCRAM-SHA-256"];
        let unknown: &[&[u8]] = &[b"X-UNKNOWN"];
        // (tls, channel_binding, require_auth, offered, chosen or libpq's refusal)
        type Case<'a> = (
            bool,
            ChannelBinding,
            &'a str,
            &'a [&'a [u8]],
            Result<Mechanism, &'a str>,
        );
        let cases: &[Case] = &[
            (true, Prefer, "", both, Ok(Mechanism::ScramPlus)),
            (true, Disable, "", both, Ok(Mechanism::Scram)),
            (true, Prefer, "", plain, Ok(Mechanism::Scram)),
            (
                true,
                Require,
                "",
                plain,
                Err(
                    "channel binding is required, but server did not offer an authentication method that supports channel binding",
                ),
            ),
            (
                false,
                Prefer,
                "",
                both,
                Err("server offered SCRAM-SHA-256-PLUS authentication over a non-SSL connection"),
            ),
            (
                false,
                Require,
                "",
                plain,
                Err("channel binding required, but SSL not in use"),
            ),
            (
                true,
                Prefer,
                "",
                unknown,
                Err("none of the server's SASL authentication mechanisms are supported"),
            ),
            (
                true,
                Prefer,
                "!scram-sha-256",
                both,
                Err(
                    "authentication method requirement \"!scram-sha-256\" failed: server requested SCRAM-SHA-256-PLUS authentication",
                ),
            ),
        ];
        for (tls, binding, list, offered, expected) in cases {
            let parsed = (!list.is_empty()).then(|| RequireAuth::parse(list).unwrap());
            let mut r = rules(parsed.as_ref(), *binding);
            r.tls = *tls;
            assert_eq!(
                choose_mechanism(&r, offered),
                expected.map_err(str::to_string),
                "{tls} {binding} {list}"
            );
        }
    }
}
