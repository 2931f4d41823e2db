//! Text from outside pgtls, made safe. In the report, a server's strings keep no line break of
//! their own ([`server_text`]). For a terminal, one rule for every string that reaches text output: control
//! characters (escape sequences and line breaks among them) are shown as `\x1b`-style escapes
//! instead of being interpreted, and so are the invisible characters that reorder or hide text
//! (bidirectional overrides such as U+202E, zero-width characters such as U+200B), so that no
//! server-supplied string can add a line to a report or make it read differently. The only line
//! breaks [`clean_lines`] keeps are those of pgtls's own messages: the report holds server text
//! with its line breaks as visible `\n` ([`server_text`]).

use std::borrow::Cow;

/// Characters that change how text around them is displayed without showing themselves:
/// bidirectional marks, embeddings, overrides and isolates, zero-width characters, the line and
/// paragraph separators (U+2028, U+2029, line breaks to JavaScript and many viewers), the
/// byte-order mark and other invisible format characters.
fn invisible(c: char) -> bool {
    matches!(
        c,
        '\u{00ad}'
            | '\u{061c}'
            | '\u{115f}'
            | '\u{1160}'
            | '\u{180e}'
            | '\u{200b}'..='\u{200f}'
            | '\u{2028}'..='\u{202e}'
            | '\u{2060}'..='\u{206f}'
            | '\u{3164}'
            | '\u{fe00}'..='\u{fe0f}'
            | '\u{feff}'
            | '\u{ffa0}'
            | '\u{fff9}'..='\u{fffb}'
    )
}

/// Whether a character is shown as an escape: a control character (C0 or C1), or one of the
/// invisible ones above (line and paragraph separators among them).
pub fn needs_escape(c: char) -> bool {
    c.is_control() || invisible(c)
}

/// The text with every control or invisible character replaced by a visible escape.
pub fn clean(text: &str) -> Cow<'_, str> {
    if !text.chars().any(needs_escape) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => out.push_str(&format!("\\x{:02x}", c as u32)),
            c if invisible(c) => out.push_str(&format!("\\u{{{:04x}}}", c as u32)),
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

/// Text a server supplied (an error, a certificate name, a setting), as the report keeps it: line
/// breaks as visible `\n` and `\r`, so that no server string spans lines anywhere it is shown,
/// and the only line breaks in a message are pgtls's (or libpq's) own.
pub fn server_text(text: &str) -> String {
    if !text.contains(['\n', '\r']) {
        return text.to_string();
    }
    text.replace('\r', "\\r").replace('\n', "\\n")
}

/// A message on one line, nothing dropped: line breaks (libpq's second line of advice, or ones a
/// server put in its text) become spaces, after a full stop where a line that ends without one
/// is followed by a new sentence (`does not exist. Either provide ...`).
pub fn one_line(message: &str) -> String {
    let lines: Vec<&str> = message
        .split('\n')
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    let mut out = String::with_capacity(message.len() + lines.len());
    for (i, line) in lines.iter().enumerate() {
        if i > 0 {
            let ends = out.ends_with(['.', ':', ';', '!', '?', ',']);
            let starts_sentence = line.chars().next().is_some_and(char::is_uppercase);
            out.push_str(if !ends && starts_sentence { ". " } else { " " });
        }
        out.push_str(line);
    }
    out
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
    fn a_messages_lines_join_as_sentences() {
        assert_eq!(
            one_line("file \"x\" does not exist\nEither provide the file."),
            "file \"x\" does not exist. Either provide the file."
        );
        assert_eq!(
            one_line("SSL error: alert\nexpected"),
            "SSL error: alert expected"
        );
        assert_eq!(one_line("a.\nB\n"), "a. B");
    }

    #[test]
    fn escape_sequences_become_visible() {
        assert_eq!(clean("a\x1b[31mred\x07"), "a\\x1b[31mred\\x07");
        assert_eq!(clean("line\nnext"), "line\\nnext");
        assert_eq!(clean("\u{9b}"), "\\x9b");
    }

    #[test]
    fn bidirectional_and_zero_width_characters_become_visible() {
        assert_eq!(clean("evil\u{202e}gpj.exe"), "evil\\u{202e}gpj.exe");
        assert_eq!(clean("a\u{2066}b\u{2069}"), "a\\u{2066}b\\u{2069}");
        assert_eq!(clean("db\u{200b}.example.com"), "db\\u{200b}.example.com");
        assert_eq!(clean("\u{feff}x"), "\\u{feff}x");
        assert_eq!(clean("a\u{2028}b\u{2029}"), "a\\u{2028}b\\u{2029}");
    }

    #[test]
    fn plain_text_is_borrowed_unchanged() {
        assert!(matches!(clean("db.example.com ünïcode"), Cow::Borrowed(_)));
    }
}
