//! Makes text safe for a terminal: control characters (escape sequences among them) are shown as
//! `\x1b`-style escapes instead of being interpreted.

use std::borrow::Cow;

/// The text with every control character replaced by a visible escape.
pub fn clean(text: &str) -> Cow<'_, str> {
    if !text.chars().any(char::is_control) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => out.push_str(&format!("\\x{:02x}", c as u32)),
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// The same for a message of several lines (libpq's messages have a second line of advice): each
/// line cleaned, the line breaks kept.
pub fn clean_lines(text: &str) -> String {
    text.split('\n').map(clean).collect::<Vec<_>>().join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_breaks_of_a_message_are_kept_and_its_lines_cleaned() {
        assert_eq!(
            clean_lines("first \x1b[2J\nsecond\r"),
            "first \\x1b[2J\nsecond\\r"
        );
    }

    #[test]
    fn escape_sequences_become_visible() {
        assert_eq!(clean("a\x1b[31mred\x07"), "a\\x1b[31mred\\x07");
        assert_eq!(clean("line\nnext"), "line\\nnext");
        assert_eq!(clean("\u{9b}"), "\\x9b");
    }

    #[test]
    fn plain_text_is_borrowed_unchanged() {
        assert!(matches!(clean("db.example.com ünïcode"), Cow::Borrowed(_)));
    }
}
