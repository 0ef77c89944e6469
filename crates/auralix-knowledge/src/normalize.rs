//! Text cleaning, identical for every format so that search and chunking see one kind of text.
//!
//! In order:
//! 1. **Unicode NFC**, so `й` typed as `и` + combining breve matches `й` (a no-op check for
//!    text that is already NFC, which is nearly all of it).
//! 2. **Characters**: every line break variant (CR LF, CR, U+2028/2029, form feed, vertical
//!    tab, NEL) becomes `\n`; tabs and Unicode spaces (no-break, thin, ideographic, …) become a
//!    space; control characters, zero-width spaces, byte-order marks, bidirectional overrides
//!    (the "Trojan Source" characters) and U+FFFD are removed; ZWJ/ZWNJ stay (emoji and some
//!    scripts need them).
//! 3. **Quotes**, minimally: curly single quotes and primes → `'` (so "don’t" and "don't"
//!    index alike), curly double quotes → `"`. Guillemets « » stay — they are the normal
//!    Russian quotes and tokenizers ignore them anyway.
//! 4. **Hyphenated line breaks** are joined: a letter, a hyphen (`-`, U+2010 or a soft hyphen),
//!    a line break and a lowercase letter → "infor-\nmation" becomes "information", in any
//!    alphabet (Latin, Cyrillic, …). The price: a genuine compound broken at its hyphen
//!    ("well-\nknown") loses the hyphen; that is the usual trade-off and only costs a token.
//!    Soft hyphens elsewhere are removed.
//! 5. **Whitespace**: runs of spaces collapse to one, lines are trimmed; [`normalize_text`]
//!    keeps single line breaks and paragraph breaks (at most one blank line), and
//!    [`normalize_inline`] turns every break into a space (for block text).

use unicode_normalization::UnicodeNormalization;
use unicode_normalization::{IsNormalized, is_nfc_quick};

/// Cleans `text`, keeping line breaks and (at most single) blank lines.
pub fn normalize_text(text: &str) -> String {
    collapse(&dehyphenate(&map_chars(&nfc(text))), false)
}

/// Cleans `text` into a single line: every whitespace run becomes one space.
pub fn normalize_inline(text: &str) -> String {
    collapse(&dehyphenate(&map_chars(&nfc(text))), true)
}

fn nfc(text: &str) -> std::borrow::Cow<'_, str> {
    match is_nfc_quick(text.chars()) {
        IsNormalized::Yes => std::borrow::Cow::Borrowed(text),
        _ => std::borrow::Cow::Owned(text.nfc().collect()),
    }
}

const SOFT_HYPHEN: char = '\u{AD}';

fn map_chars(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\r' => {
                if chars.peek() == Some(&'\n') {
                    chars.next();
                }
                out.push('\n');
            }
            '\n' | '\u{2028}' | '\u{2029}' | '\x0c' | '\x0b' | '\u{85}' => out.push('\n'),
            // Zero-width and invisible formatting characters, bidi controls, BOM, U+FFFD.
            '\u{200B}'
            | '\u{2060}'
            | '\u{FEFF}'
            | '\u{200E}'
            | '\u{200F}'
            | '\u{202A}'..='\u{202E}'
            | '\u{2066}'..='\u{2069}'
            | '\u{061C}'
            | '\u{FFFD}' => {}
            '\u{2018}' | '\u{2019}' | '\u{201A}' | '\u{201B}' | '\u{2032}' => out.push('\''),
            '\u{201C}' | '\u{201D}' | '\u{201E}' | '\u{201F}' | '\u{2033}' => out.push('"'),
            SOFT_HYPHEN => out.push(SOFT_HYPHEN), // resolved by `dehyphenate`
            c if c.is_whitespace() => out.push(' '),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

fn dehyphenate(text: &str) -> String {
    if !text.contains(['-', '\u{2010}', SOFT_HYPHEN]) {
        return text.to_owned();
    }
    let mut out = String::with_capacity(text.len());
    let mut prev: Option<char> = None;
    let mut rest = text;
    while let Some(c) = rest.chars().next() {
        let after = &rest[c.len_utf8()..];
        if matches!(c, '-' | '\u{2010}' | SOFT_HYPHEN) {
            // letter, hyphen, spaces, line break, spaces, lowercase letter → join.
            let tail = after.trim_start_matches(' ');
            if prev.is_some_and(char::is_alphabetic)
                && let Some(next_line) = tail.strip_prefix('\n')
            {
                let next_line = next_line.trim_start_matches(' ');
                if next_line.chars().next().is_some_and(char::is_lowercase) {
                    rest = next_line;
                    continue;
                }
            }
            if c == SOFT_HYPHEN {
                rest = after;
                continue;
            }
        }
        out.push(c);
        prev = Some(c);
        rest = after;
    }
    out
}

fn collapse(text: &str, inline: bool) -> String {
    let mut out = String::with_capacity(text.len());
    let mut blank_run = 0usize;
    for line in text.split('\n') {
        let mut words = line.split(' ').filter(|w| !w.is_empty()).peekable();
        if words.peek().is_none() {
            blank_run += 1;
            continue;
        }
        if !out.is_empty() {
            if inline {
                out.push(' ');
            } else if blank_run > 0 {
                out.push_str("\n\n");
            } else {
                out.push('\n');
            }
        }
        blank_run = 0;
        let mut first = true;
        for w in words {
            if !first {
                out.push(' ');
            }
            out.push_str(w);
            first = false;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nfc_and_whitespace() {
        assert_eq!(
            normalize_inline("  и\u{306}од\t\u{a0}x \r\n y  "),
            "йод x y"
        );
        assert_eq!(normalize_text("a  b\r\n\r\n\r\n\nc\nd "), "a b\n\nc\nd");
    }

    #[test]
    fn hyphenation_latin_and_cyrillic() {
        assert_eq!(normalize_inline("infor-\nmation"), "information");
        assert_eq!(normalize_inline("инфор- \n  мация"), "информация");
        assert_eq!(
            normalize_inline("soft\u{ad}\nhyphen and in\u{ad}visible"),
            "softhyphen and invisible"
        );
        // Not joined: capital after the break, no letter before, no break at all.
        assert_eq!(normalize_inline("Jean-\nPaul"), "Jean- Paul");
        assert_eq!(normalize_inline("2020-\n2021"), "2020- 2021");
        assert_eq!(normalize_inline("e-mail"), "e-mail");
    }

    #[test]
    fn controls_and_quotes() {
        assert_eq!(
            normalize_inline(
                "don\u{2019}t \u{201c}x\u{201d} \u{202e}evil\u{202c}\u{200b}\u{0}\u{7}ok"
            ),
            "don't \"x\" evilok"
        );
        assert_eq!(normalize_inline("«ёлка»"), "«ёлка»");
        assert_eq!(normalize_inline("\u{feff}text\u{fffd}"), "text");
    }
}
