//! Sentence splitting for chunking and for the extractive answerer.
//!
//! The base is the Unicode sentence-boundary algorithm (UAX #29, `unicode-segmentation`),
//! which already knows that "3.14" and "e.g. the" do not end a sentence and works for any
//! script, Cyrillic included. It breaks too eagerly before a capital letter after a period, so
//! a boundary is undone when the piece before it ends with
//! - a common abbreviation that rarely ends a sentence (`e.g.`, `Dr.`, `No.`, `т. е.`, `ул.`,
//!   `см.`, `напр.`, …; `etc.` and `и т. д.` are left out because they usually do end one);
//! - an initial: a single capital letter and a period (`J. R. R. Tolkien`, `А. С. Пушкин`);
//! - a bare ordinal (`1.`), as in "Steps: 1. Open the app".

use unicode_segmentation::UnicodeSegmentation;

const ABBREVIATIONS: &[&str] = &[
    "e.g.",
    "i.e.",
    "cf.",
    "vs.",
    "mr.",
    "mrs.",
    "ms.",
    "dr.",
    "prof.",
    "st.",
    "no.",
    "nos.",
    "fig.",
    "approx.",
    "ca.",
    "p.",
    "pp.",
    "vol.",
    "ch.",
    "sec.",
    "dept.",
    "est.",
    "jr.",
    "sr.",
    "т.е.",
    "е.",
    "т.к.",
    "т.н.",
    "напр.",
    "см.",
    "рис.",
    "табл.",
    "ул.",
    "д.",
    "стр.",
    "им.",
    "тел.",
    "г-н.",
    "гр.",
    "проф.",
    "акад.",
    "доц.",
    "пр.",
    "просп.",
    "пер.",
    "кв.",
    "корп.",
    "обл.",
    "р-н.",
    "с.",
    "ст.",
    "п.",
    "пп.",
    "ч.",
    "гл.",
    "разд.",
    "прим.",
];

/// Splits `text` into trimmed, non-empty sentences.
pub fn split_sentences(text: &str) -> Vec<&str> {
    let mut out: Vec<(usize, usize)> = Vec::new();
    for (start, piece) in text.split_sentence_bound_indices() {
        let end = start + piece.len();
        if piece.trim().is_empty() {
            if let Some(last) = out.last_mut() {
                last.1 = end;
            }
            continue;
        }
        if let Some(last) = out.last_mut() {
            let prev = &text[last.0..last.1];
            if !prev.contains('\n') && continues(prev) {
                last.1 = end;
                continue;
            }
        }
        out.push((start, end));
    }
    out.into_iter()
        .map(|(s, e)| text[s..e].trim())
        .filter(|s| !s.is_empty())
        .collect()
}

/// Whether the sentence piece `prev` ends in a way that does not end a sentence.
fn continues(prev: &str) -> bool {
    let prev = prev.trim_end();
    if !prev.ends_with('.') {
        return false;
    }
    let last_word = prev.rsplit(char::is_whitespace).next().unwrap_or(prev);
    let lower = last_word.to_lowercase();
    let lower = lower.trim_start_matches(['(', '[', '"', '\'', '«']);
    if ABBREVIATIONS.contains(&lower) {
        return true;
    }
    let core: Vec<char> = lower.trim_end_matches('.').chars().collect();
    // An initial: one letter (written as a capital).
    if core.len() == 1 && core[0].is_alphabetic() && last_word.chars().any(char::is_uppercase) {
        return true;
    }
    // A bare ordinal at the start of the piece or after a colon: "1." / "12."
    let is_ordinal = !core.is_empty() && core.len() <= 3 && core.iter().all(char::is_ascii_digit);
    let before = prev.trim_end_matches(last_word).trim_end();
    is_ordinal && (before.is_empty() || before.ends_with(':'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn english() {
        assert_eq!(
            split_sentences(
                "Prices start at 3.50 EUR. See e.g. the table. Dr. Smith agrees! Really?"
            ),
            vec![
                "Prices start at 3.50 EUR.",
                "See e.g. the table.",
                "Dr. Smith agrees!",
                "Really?"
            ]
        );
        assert_eq!(
            split_sentences("Written by J. R. R. Tolkien. Steps: 1. Open it. 2. Close it."),
            vec![
                "Written by J. R. R. Tolkien.",
                "Steps: 1. Open it.",
                "2. Close it."
            ]
        );
    }

    #[test]
    fn russian() {
        assert_eq!(
            split_sentences(
                "Доставка стоит 300 руб. в пределах МКАД. Адрес: ул. Ленина, д. 5. См. рис. 2 ниже."
            ),
            vec![
                "Доставка стоит 300 руб. в пределах МКАД.",
                "Адрес: ул. Ленина, д. 5.",
                "См. рис. 2 ниже."
            ]
        );
        assert_eq!(
            split_sentences("Автор — А. С. Пушкин. Это т.е. пример!"),
            vec!["Автор — А. С. Пушкин.", "Это т.е. пример!"]
        );
    }

    #[test]
    fn newlines_end_sentences() {
        assert_eq!(
            split_sentences("Title\nBody text. More"),
            vec!["Title", "Body text.", "More"]
        );
    }
}
