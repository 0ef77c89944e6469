//! Turning uploaded bytes into text, or deciding that they are not text.
//!
//! Accepted encodings, in the order they are tried:
//! 1. a byte-order mark: UTF-8, UTF-16LE or UTF-16BE (Windows Notepad's "Unicode");
//! 2. valid UTF-8 without a BOM;
//! 3. Windows-1251, the usual encoding of Russian files exported by Excel and old editors,
//!    recognised only when every non-ASCII byte is a Cyrillic letter or common punctuation
//!    of that code page.
//!
//! Anything else is binary. Decoded text must also look like text: no NUL and only a small
//! share of other control characters, so a binary file that happens to be valid UTF-8 (or a
//! UTF-16 file without a BOM, which is full of NULs) is refused rather than indexed as junk.

use std::borrow::Cow;

/// How the text was encoded, for diagnostics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Encoding {
    Utf8,
    Utf16,
    Windows1251,
}

/// Decodes `bytes` as text. `truncated` says that `bytes` is only the head of a file, so a
/// UTF-8 sequence cut at the end is not an error.
pub(crate) fn decode(bytes: &[u8], truncated: bool) -> Option<(Cow<'_, str>, Encoding)> {
    if let Some(rest) = bytes.strip_prefix(b"\xEF\xBB\xBF") {
        let text = utf8(rest, truncated)?;
        return looks_like_text(&text).then_some((text, Encoding::Utf8));
    }
    for (bom, enc) in [
        (b"\xFF\xFE", encoding_rs::UTF_16LE),
        (b"\xFE\xFF", encoding_rs::UTF_16BE),
    ] {
        if let Some(rest) = bytes.strip_prefix(bom) {
            // A cut head may end inside a code unit or a surrogate pair: drop that tail.
            let rest = if truncated {
                &rest[..rest.len() - rest.len() % 2]
            } else {
                rest
            };
            let (text, had_errors) = enc.decode_without_bom_handling(rest);
            let errors_ok = truncated && text.trim_end_matches('\u{FFFD}').len() + 3 >= text.len();
            if had_errors && !errors_ok {
                return None;
            }
            return looks_like_text(&text)
                .then(|| (Cow::Owned(text.into_owned()), Encoding::Utf16));
        }
    }
    if let Some(text) = utf8(bytes, truncated) {
        return looks_like_text(&text).then_some((text, Encoding::Utf8));
    }
    if looks_like_windows_1251(bytes) {
        let (text, _) = encoding_rs::WINDOWS_1251.decode_without_bom_handling(bytes);
        return looks_like_text(&text)
            .then(|| (Cow::Owned(text.into_owned()), Encoding::Windows1251));
    }
    None
}

fn utf8(bytes: &[u8], truncated: bool) -> Option<Cow<'_, str>> {
    match std::str::from_utf8(bytes) {
        Ok(s) => Some(Cow::Borrowed(s)),
        // `error_len() == None` means "unexpected end of input": fine for a head.
        Err(e) if truncated && e.error_len().is_none() && bytes.len() - e.valid_up_to() < 4 => {
            std::str::from_utf8(&bytes[..e.valid_up_to()])
                .ok()
                .map(Cow::Borrowed)
        }
        Err(_) => None,
    }
}

/// No NUL, and at most 1 in 200 characters is another control character (tab, line feed,
/// carriage return and form feed are fine; so is ESC, which some terminal logs contain).
pub(crate) fn looks_like_text(text: &str) -> bool {
    let mut total = 0usize;
    let mut control = 0usize;
    for c in text.chars() {
        total += 1;
        match c {
            '\0' => return false,
            '\t' | '\n' | '\r' | '\x0c' | '\x1b' => {}
            c if c.is_control() => control += 1,
            _ => {}
        }
    }
    control * 200 <= total
}

/// Windows-1251 heuristic: no C0 controls but whitespace, no byte undefined in the code page
/// (0x98), and at least 90% of the high bytes are Cyrillic letters (0xC0..=0xFF, Ё/ё).
fn looks_like_windows_1251(bytes: &[u8]) -> bool {
    let mut high = 0usize;
    let mut cyrillic = 0usize;
    for &b in bytes {
        match b {
            b'\t' | b'\n' | b'\r' | 0x0c => {}
            0x00..=0x1f | 0x7f | 0x98 => return false,
            0x80..=0xff => {
                high += 1;
                if b >= 0xc0 || b == 0xa8 || b == 0xb8 {
                    cyrillic += 1;
                }
            }
            _ => {}
        }
    }
    high > 0 && cyrillic * 10 >= high * 9
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utf8_and_bom() {
        assert_eq!(decode(b"hello", false).unwrap().0, "hello");
        assert_eq!(decode(b"\xEF\xBB\xBFhi", false).unwrap().0, "hi");
        let utf16: Vec<u8> = [0xFF, 0xFE]
            .into_iter()
            .chain("Привет".encode_utf16().flat_map(|u| u.to_le_bytes()))
            .collect();
        let (t, e) = decode(&utf16, false).unwrap();
        assert_eq!((t.as_ref(), e), ("Привет", Encoding::Utf16));
    }

    #[test]
    fn truncated_utf8_head_is_text() {
        let s = "Привет".as_bytes();
        assert!(decode(&s[..s.len() - 1], true).is_some());
        assert!(decode(&s[..s.len() - 1], false).is_none());
    }

    #[test]
    fn windows_1251() {
        let (bytes, _, _) = encoding_rs::WINDOWS_1251.encode("Вопрос;Ответ\r\nКак дела?;Хорошо");
        let (t, e) = decode(&bytes, false).unwrap();
        assert_eq!(e, Encoding::Windows1251);
        assert!(t.starts_with("Вопрос;Ответ"));
    }

    #[test]
    fn binary_is_refused() {
        assert!(decode(b"\x00\x01\x02binary", false).is_none());
        assert!(
            decode(
                &[0x89, b'P', b'N', b'G', 0x0d, 0x0a, 0x1a, 0x0a, 0, 0],
                false
            )
            .is_none()
        );
        assert!(decode(b"h\0e\0l\0l\0o\0", false).is_none());
    }
}
