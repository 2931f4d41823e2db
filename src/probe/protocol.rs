//! The protocol version of a session, negotiated as libpq 18 negotiates it: the startup message
//! asks for `max_protocol_version`; a server that speaks an older minor version answers
//! NegotiateProtocolVersion with its newest one (and the `_pq_.` options it does not know), which
//! libpq accepts only when it is a real downgrade within `min_protocol_version`
//! (fe-protocol3.c, `pqGetNegotiateProtocolVersion3`). Protocol 3.2 (PostgreSQL 18) also allows
//! cancel keys longer than 4 bytes.

/// A version code as the startup message carries it: major in the high 16 bits.
pub(crate) const fn code(minor: u16) -> i32 {
    (3 << 16) | minor as i32
}

/// `3.0`, `3.2`: a version code as libpq and psql print it.
pub(crate) fn name(code: i32) -> String {
    format!("{}.{}", code >> 16, code & 0xffff)
}

/// Why a negotiation ends the connection, in libpq's words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// The message makes no sense: libpq reports it as an invalid protocol message.
    Invalid(String),
    /// A real downgrade, but below `min_protocol_version`.
    BelowMinimum(String),
}

/// The version the session continues with after the server's NegotiateProtocolVersion
/// (`newest`, and the options it did not recognise; `count` as the message gave it).
pub(crate) fn negotiate(
    requested: u16,
    min: u16,
    newest: i32,
    count: i32,
    unsupported: &[String],
) -> Result<i32, Refusal> {
    let invalid = |why: &str| {
        Refusal::Invalid(format!(
            "received invalid protocol negotiation message: {why}"
        ))
    };
    if newest > code(requested) {
        return Err(invalid(
            "server requested downgrade to a higher-numbered version",
        ));
    }
    if newest < code(0) {
        return Err(invalid(
            "server requested downgrade to pre-3.0 protocol version",
        ));
    }
    if newest == code(1) {
        return Err(invalid(
            "server requested downgrade to non-existent 3.1 protocol version",
        ));
    }
    if count < 0 {
        return Err(invalid(
            "server reported negative number of unsupported parameters",
        ));
    }
    if newest == code(requested) && count == 0 {
        return Err(invalid("server negotiated but asks for no changes"));
    }
    if newest < code(min) {
        return Err(Refusal::BelowMinimum(format!(
            "server only supports protocol version {}, but \"min_protocol_version\" was set to {}",
            name(newest),
            name(code(min))
        )));
    }
    // pgtls, like libpq 18, asks for no protocol options: any named is one it did not ask for.
    if let Some(option) = unsupported.first() {
        if !option.starts_with("_pq_.") {
            return Err(invalid(&format!(
                "server reported unsupported parameter name without a \"_pq_.\" prefix (\"{option}\")"
            )));
        }
        return Err(invalid(&format!(
            "server reported an unsupported parameter that was not requested (\"{option}\")"
        )));
    }
    Ok(newest)
}

/// libpq's rule for BackendKeyData's cancel key: 4 bytes in protocol 3.0, up to 256 in 3.2.
pub(crate) fn check_cancel_key(version: i32, length: usize) -> Result<(), String> {
    if version == code(0) && length != 4 {
        return Err(format!(
            "received invalid BackendKeyData message: cancel key with length {length} not allowed in protocol version 3.0 (must be 4 bytes)"
        ));
    }
    if !(4..=256).contains(&length) {
        return Err(format!(
            "received invalid BackendKeyData message: cancel key with length {length} is invalid"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn negotiation_accepts_only_a_real_downgrade_within_the_minimum() {
        let none: [String; 0] = [];
        let grease = ["_pq_.pgtls_grease".to_string()];
        let bare = ["pgtls_grease".to_string()];
        type Case<'a> = (u16, u16, i32, i32, &'a [String], Result<&'a str, &'a str>);
        let cases: [Case; 9] = [
            (2, 0, code(0), 0, &none, Ok("3.0")),
            (
                2,
                2,
                code(0),
                0,
                &none,
                Err("server only supports protocol version 3.0"),
            ),
            (0, 0, code(0), 0, &none, Err("asks for no changes")),
            (0, 0, code(2), 0, &none, Err("higher-numbered version")),
            (2, 0, 2 << 16, 0, &none, Err("pre-3.0 protocol version")),
            (2, 0, code(1), 0, &none, Err("non-existent 3.1")),
            (2, 0, code(0), -1, &none, Err("negative number")),
            (
                2,
                0,
                code(0),
                1,
                &grease,
                Err("not requested (\"_pq_.pgtls_grease\")"),
            ),
            (2, 0, code(0), 1, &bare, Err("without a \"_pq_.\" prefix")),
        ];
        for (requested, min, newest, count, options, want) in cases {
            let got = negotiate(requested, min, newest, count, options);
            match (got, want) {
                (Ok(v), Ok(want)) => assert_eq!(name(v), want),
                (Err(Refusal::Invalid(m) | Refusal::BelowMinimum(m)), Err(want)) => {
                    assert!(m.contains(want), "{m} / {want}");
                }
                (got, want) => panic!("{requested} {min} {newest}: {got:?}, want {want:?}"),
            }
        }
    }

    #[test]
    fn cancel_keys_are_four_bytes_in_3_0_and_up_to_256_in_3_2() {
        assert!(check_cancel_key(code(0), 4).is_ok());
        assert!(check_cancel_key(code(0), 32).is_err());
        assert!(check_cancel_key(code(2), 32).is_ok());
        assert!(check_cancel_key(code(2), 257).is_err());
        assert!(check_cancel_key(code(2), 3).is_err());
    }
}
