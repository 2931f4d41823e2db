//! Numeric host addresses as libpq's C library reads them: `inet_aton`'s forms for IPv4 (`127.1`,
//! `0x7f.0.0.1`, `2130706433`) and `inet_pton` with an optional `%zone` for IPv6. Rust's own
//! parsers accept only dotted quads, so libpq's verdicts need these.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// An I/O error as C's `strerror` prints it: without Rust's `(os error N)` suffix.
pub fn os_message(err: &std::io::Error) -> String {
    let text = err.to_string();
    match text.find(" (os error") {
        Some(i) => text[..i].to_string(),
        None => text,
    }
}

/// One `inet_aton` number: hex after `0x`, octal after `0`, else decimal.
fn number(part: &str) -> Option<u32> {
    let (digits, radix) =
        if let Some(hex) = part.strip_prefix("0x").or_else(|| part.strip_prefix("0X")) {
            (hex, 16)
        } else if part.len() > 1 && part.starts_with('0') {
            (&part[1..], 8)
        } else {
            (part, 10)
        };
    // An empty "0x" is zero in glibc; an empty part elsewhere is invalid.
    if digits.is_empty() {
        return (radix == 16).then_some(0);
    }
    if !digits.chars().all(|c| c.is_digit(radix)) {
        return None;
    }
    u32::from_str_radix(digits, radix).ok()
}

/// glibc's exact `inet_aton`: one to four numbers separated by dots, the last filling the
/// remaining bytes, nothing else.
pub fn inet_aton(text: &str) -> Option<Ipv4Addr> {
    let parts: Vec<u32> = text.split('.').map(number).collect::<Option<_>>()?;
    let (last, init) = parts.split_last()?;
    if init.len() > 3 || init.iter().any(|&p| p > 0xff) {
        return None;
    }
    let rest_bits = 8 * (4 - init.len() as u32);
    if rest_bits < 32 && *last >> rest_bits != 0 {
        return None;
    }
    let head = init.iter().fold(0u32, |acc, &p| (acc << 8) | p);
    let value = if init.is_empty() {
        *last
    } else {
        (head << rest_bits) | last
    };
    Some(Ipv4Addr::from(value))
}

/// An IPv6 address, with an optional `%zone` (interface name or index) that is not part of it.
fn inet6(text: &str) -> Option<Ipv6Addr> {
    let addr = match text.split_once('%') {
        Some((addr, zone)) if !zone.is_empty() => addr,
        Some(_) => return None,
        None => text,
    };
    addr.parse().ok()
}

/// What `getaddrinfo(..., AI_NUMERICHOST)` accepts: libpq's test for a usable `hostaddr`.
pub fn numeric_host(text: &str) -> Option<IpAddr> {
    inet_aton(text)
        .map(IpAddr::V4)
        .or_else(|| inet6(text).map(IpAddr::V6))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv4_accepts_every_inet_aton_form() {
        let cases = [
            ("127.0.0.1", Some([127, 0, 0, 1])),
            ("127.1", Some([127, 0, 0, 1])),
            ("10.1.2", Some([10, 1, 0, 2])),
            ("2130706433", Some([127, 0, 0, 1])),
            ("0x7f.0.0.1", Some([127, 0, 0, 1])),
            ("010.0.0.1", Some([8, 0, 0, 1])),
            ("127.0.0.1.", None),
            (" 127.0.0.1", None),
            ("256.0.0.1", None),
            ("1.2.3.4.5", None),
            ("1.2.3.256", None),
            ("08.0.0.1", None),
            ("", None),
            ("a.b.c.d", None),
            ("1..2", None),
        ];
        for (text, want) in cases {
            assert_eq!(inet_aton(text), want.map(Ipv4Addr::from), "{text:?}");
        }
    }

    #[test]
    fn ipv6_may_carry_a_zone() {
        assert!(numeric_host("::1").is_some());
        assert!(numeric_host("fe80::1%lo").is_some());
        assert!(numeric_host("::ffff:127.0.0.1").is_some());
        assert!(numeric_host("fe80::1%").is_none());
        assert!(numeric_host("db.example.com").is_none());
    }
}
