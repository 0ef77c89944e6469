//! Plain text (and the text of each PDF page) → blocks.
//!
//! Paragraphs are runs of non-blank lines; a form feed also ends one. Within a paragraph the
//! line breaks are kept for `normalize` (which joins hyphenated breaks and then collapses
//! them). Structure is guessed conservatively, because a false heading moves text into the
//! heading path of every following chunk:
//!
//! - Markdown-style `# Title` lines and setext underlines (`Title` / `=====`) are headings.
//! - A paragraph whose first line starts with a bullet (`-`, `*`, `•`, `–`, …) or an ordinal
//!   (`1.`, `2)`, `a)`) is a list; marker lines start items, other lines continue them.
//! - A paragraph of exactly one line is a heading only when another paragraph follows it and
//!   the line is short (≤ 100 characters, ≤ 12 words), starts with a capital or a number and
//!   does not end with sentence punctuation (a question mark is allowed: FAQ-style text), and
//!   one of: it is numbered like `2.1 Scope` (level = depth), it is ALL CAPS (level 1), it
//!   names a chapter/section (`Chapter 3`, `Глава 3`, level 1), or it is at most 8 words and
//!   followed by a longer body paragraph — several lines, 60+ characters, or a sentence of
//!   30+ characters (level 2).

use crate::extract::{BlockKind, Collector, ExtractError};

pub(crate) fn extract(
    text: &str,
    page: Option<u32>,
    out: &mut Collector,
) -> Result<(), ExtractError> {
    let paras = paragraphs(text);
    for (i, para) in paras.iter().enumerate() {
        let next = paras.get(i + 1);
        emit_paragraph(para, next, page, out)?;
    }
    Ok(())
}

fn paragraphs(text: &str) -> Vec<Vec<&str>> {
    let mut paras = Vec::new();
    let mut cur: Vec<&str> = Vec::new();
    for section in text.split('\x0c') {
        for line in section.split('\n') {
            let line = line.trim_end_matches('\r');
            if line.trim().is_empty() {
                if !cur.is_empty() {
                    paras.push(std::mem::take(&mut cur));
                }
            } else {
                cur.push(line);
            }
        }
        if !cur.is_empty() {
            paras.push(std::mem::take(&mut cur));
        }
    }
    paras
}

fn emit_paragraph(
    mut lines: &[&str],
    next: Option<&Vec<&str>>,
    page: Option<u32>,
    out: &mut Collector,
) -> Result<(), ExtractError> {
    // ATX headings at the top of the paragraph; the rest stays a paragraph. (A loop, not
    // recursion: a hostile file may hold a million heading lines without a blank line.)
    while let Some((level, title)) = lines.first().and_then(|l| atx_heading(l.trim())) {
        out.push(BlockKind::Heading { level }, title, page)?;
        lines = &lines[1..];
    }
    let Some(first) = lines.first().map(|l| l.trim()) else {
        return Ok(());
    };
    // Setext heading: "Title" underlined with === or ---.
    if lines.len() == 2 && first.chars().count() <= 120 {
        let under = lines[1].trim();
        if under.len() >= 3 && under.bytes().all(|b| b == b'=') {
            return out.push(BlockKind::Heading { level: 1 }, first, page);
        }
        if under.len() >= 3 && under.bytes().all(|b| b == b'-') {
            return out.push(BlockKind::Heading { level: 2 }, first, page);
        }
    }
    if lines.len() == 1
        && let Some(level) = heading_level(first, next)
    {
        return out.push(BlockKind::Heading { level }, first, page);
    }
    if list_marker(first).is_some() {
        let mut item = String::new();
        for line in lines {
            let t = line.trim();
            if let Some(len) = list_marker(t) {
                if !item.is_empty() {
                    out.push(BlockKind::ListItem, std::mem::take(&mut item), page)?;
                }
                item.push_str(t[len..].trim_start());
            } else {
                item.push('\n');
                item.push_str(t);
            }
        }
        return out.push(BlockKind::ListItem, item, page);
    }
    out.push(BlockKind::Paragraph, lines.join("\n"), page)
}

fn atx_heading(line: &str) -> Option<(u8, &str)> {
    let hashes = line.bytes().take_while(|&b| b == b'#').count();
    if !(1..=6).contains(&hashes) || !line[hashes..].starts_with(' ') {
        return None;
    }
    let title = line[hashes..].trim().trim_end_matches('#').trim();
    (!title.is_empty()).then_some((hashes as u8, title))
}

/// Byte length of a list marker plus its space at the start of `line`, if any.
pub(crate) fn list_marker(line: &str) -> Option<usize> {
    let mut chars = line.char_indices();
    let (_, c) = chars.next()?;
    if matches!(
        c,
        '-' | '*'
            | '+'
            | '•'
            | '·'
            | '–'
            | '—'
            | '▪'
            | '◦'
            | '‣'
            | '●'
            | '○'
            | '■'
            | '□'
            | '➢'
    ) {
        let after = c.len_utf8();
        return line[after..].starts_with([' ', '\t']).then_some(after + 1);
    }
    // "12." / "12)" / "a)" / "б)"
    let digits = line.bytes().take_while(u8::is_ascii_digit).count();
    let (body_end, _) = if (1..=3).contains(&digits) {
        (digits, ())
    } else if c.is_alphabetic() && c.is_lowercase() {
        (c.len_utf8(), ())
    } else {
        return None;
    };
    let rest = &line[body_end..];
    let punct_ok = if digits > 0 {
        rest.starts_with(['.', ')'])
    } else {
        rest.starts_with(')')
    };
    (punct_ok && rest[1..].starts_with([' ', '\t'])).then_some(body_end + 2)
}

/// `Some(level)` when the single-line paragraph `line` followed by `next` is a heading.
fn heading_level(line: &str, next: Option<&Vec<&str>>) -> Option<u8> {
    let next = next?;
    let chars = line.chars().count();
    let words = line.split_whitespace().count();
    if chars > 100 || words > 12 || chars < 2 {
        return None;
    }
    let first = line.chars().next()?;
    if !(first.is_uppercase() || first.is_ascii_digit()) {
        return None;
    }
    let last = line.chars().last()?;
    if matches!(last, '.' | ',' | ';' | ':' | '!' | '…' | '-' | '—' | '–') {
        return None;
    }
    if let Some(depth) = numbered_heading_depth(line) {
        return Some(depth);
    }
    if first.is_ascii_digit() {
        return None;
    }
    let letters = line.chars().filter(|c| c.is_alphabetic()).count();
    if letters >= 2 && !line.chars().any(char::is_lowercase) {
        return Some(1);
    }
    let lower = line.to_lowercase();
    let chapter_words = [
        "chapter ",
        "section ",
        "part ",
        "appendix ",
        "глава ",
        "раздел ",
        "часть ",
        "статья ",
        "приложение ",
    ];
    if chapter_words.iter().any(|w| lower.starts_with(w)) && words <= 6 {
        return Some(1);
    }
    let next_chars: usize = next.iter().map(|l| l.chars().count()).sum();
    let next_last = next.last().and_then(|l| l.trim_end().chars().last());
    let next_is_sentence = matches!(next_last, Some('.' | '!' | '?' | '…'));
    let next_is_body =
        (next.len() > 1 || next_chars >= 60 || (next_is_sentence && next_chars >= 30))
            && next_chars > chars;
    (words <= 8 && next_is_body).then_some(2)
}

/// "2", "2.1", "2.1.3" (optionally with a trailing dot) followed by a space and a capital.
fn numbered_heading_depth(line: &str) -> Option<u8> {
    let (num, title) = line.split_once(' ')?;
    let num = num.strip_suffix('.').unwrap_or(num);
    let parts: Vec<&str> = num.split('.').collect();
    let numeric = parts
        .iter()
        .all(|p| !p.is_empty() && p.len() <= 3 && p.bytes().all(|b| b.is_ascii_digit()));
    let title_ok = title
        .trim_start()
        .chars()
        .next()
        .is_some_and(char::is_uppercase);
    (numeric && title_ok && parts.len() <= 6).then_some(parts.len() as u8)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::extract::{Block, Limits};

    fn blocks(text: &str) -> Vec<Block> {
        let mut out = Collector::new(&Limits::default());
        extract(text, None, &mut out).unwrap();
        out.blocks_mut().to_vec()
    }

    #[test]
    fn headings_lists_paragraphs() {
        let b = blocks(
            "DELIVERY TERMS\n\n1. Overview\n\nWe ship worldwide within five business days of payment,\nexcept holidays.\n\n- fast\n- cheap\n  really\n\nContact us\n\nWrite to us any time and we will answer within one working day.\n",
        );
        let kinds: Vec<_> = b.iter().map(|b| b.kind).collect();
        assert_eq!(
            kinds,
            vec![
                BlockKind::Heading { level: 1 },
                BlockKind::Heading { level: 1 },
                BlockKind::Paragraph,
                BlockKind::ListItem,
                BlockKind::ListItem,
                BlockKind::Heading { level: 2 },
                BlockKind::Paragraph,
            ]
        );
        assert_eq!(b[4].text, "cheap\nreally");
    }

    #[test]
    fn conservative_headings() {
        // The last paragraph is never a heading; sentences are never headings.
        let b = blocks("This is a sentence.\n\nShort line\n");
        assert!(b.iter().all(|b| b.kind == BlockKind::Paragraph));
        let b = blocks("Title\n=====\n\nBody text\n---\n");
        assert_eq!(b[0].kind, BlockKind::Heading { level: 1 });
        let b = blocks("2.1 Область применения\n\nНастоящий документ описывает порядок работы.\n");
        assert_eq!(b[0].kind, BlockKind::Heading { level: 2 });
    }

    #[test]
    fn markers() {
        assert_eq!(list_marker("- a"), Some(2));
        assert_eq!(list_marker("• a"), Some(4));
        assert_eq!(list_marker("12) a"), Some(4));
        assert_eq!(list_marker("б) a"), Some(4));
        assert_eq!(list_marker("-a"), None);
        assert_eq!(list_marker("2024 was"), None);
    }
}
