//! Stemmed index terms, identical for SQLite and PostgreSQL.
//!
//! Neither database stems Russian and English the same way out of the box (SQLite FTS5 has
//! only a Porter tokenizer for English; PostgreSQL's `english`/`russian` configurations each
//! stem one language and differ from Snowball in details). So stemming happens here, in Rust,
//! for the stored full-text column *and* for queries, and both databases only split on spaces:
//! SQLite FTS5 with `tokenize = "unicode61 remove_diacritics 0"` and PostgreSQL with the
//! `simple` configuration. The same text then gives the same terms on both backends.
//!
//! Per Unicode word (UAX #29): lowercase; `ё` → `е`; Snowball Russian stemmer when the word
//! is mostly Cyrillic, Snowball English (Porter2) when it has Latin letters, none otherwise
//! (digits, other scripts); apostrophes removed after stemming ("don't" → "dont", "O'Neil" →
//! "oneil"); finally split at any remaining non-alphanumeric character ("e.g" → "e g",
//! "3.14" → "3 14") so no database tokenizer splits a term further. Words over 64 characters
//! are kept unstemmed (bounded cost on hostile input). Nothing else is dropped: stopwords
//! stay in the index (phrases and BM25 length normalisation need them) and are removed only
//! from queries by [`query_terms`].

use std::collections::HashSet;

use rust_stemmers::{Algorithm, Stemmer};
use unicode_segmentation::UnicodeSegmentation;

const MAX_STEM_CHARS: usize = 64;

/// Space-joined stemmed terms of `text`, for the full-text column and for query strings.
pub fn index_terms(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let stemmers = Stemmers::new();
    for word in text.unicode_words() {
        stemmers.terms(word, |t| {
            if !out.is_empty() {
                out.push(' ');
            }
            out.push_str(t);
        });
    }
    out
}

/// Stemmed query terms with English and Russian stopwords removed, deduplicated, in order.
/// A query made only of stopwords ("what is it?") keeps them rather than return nothing.
pub fn query_terms(text: &str) -> Vec<String> {
    let stemmers = Stemmers::new();
    let mut all = Vec::new();
    let mut content = Vec::new();
    let mut seen_all = HashSet::new();
    let mut seen_content = HashSet::new();
    for word in text.unicode_words() {
        let lower = fold(word);
        let stop = is_stopword(&lower);
        stemmers.terms(word, |t| {
            if seen_all.insert(t.to_owned()) {
                all.push(t.to_owned());
            }
            if !stop && seen_content.insert(t.to_owned()) {
                content.push(t.to_owned());
            }
        });
    }
    if content.is_empty() { all } else { content }
}

/// Whether `word` (any case) is an English or Russian stopword.
pub fn is_stopword(word: &str) -> bool {
    let w = fold(word);
    let w = w.trim_matches(|c: char| !c.is_alphanumeric());
    EN_STOP.contains(&w) || RU_STOP.contains(&w)
}

fn fold(word: &str) -> String {
    word.to_lowercase().replace('ё', "е")
}

fn is_cyrillic(c: char) -> bool {
    matches!(c, '\u{0400}'..='\u{04FF}' | '\u{0500}'..='\u{052F}')
}

struct Stemmers {
    en: Stemmer,
    ru: Stemmer,
}

impl Stemmers {
    fn new() -> Self {
        Stemmers {
            en: Stemmer::create(Algorithm::English),
            ru: Stemmer::create(Algorithm::Russian),
        }
    }

    /// Calls `emit` with each term of one word.
    fn terms(&self, word: &str, mut emit: impl FnMut(&str)) {
        let lower = fold(word);
        let (mut cyr, mut latin) = (0usize, 0usize);
        for c in lower.chars() {
            if is_cyrillic(c) {
                cyr += 1;
            } else if c.is_alphabetic() && (c.is_ascii() || ('\u{00C0}'..='\u{024F}').contains(&c))
            {
                latin += 1;
            }
        }
        let long = lower.chars().count() > MAX_STEM_CHARS;
        let stemmed = if long || (cyr == 0 && latin == 0) {
            std::borrow::Cow::Borrowed(lower.as_str())
        } else if cyr >= latin {
            self.ru.stem(&lower)
        } else {
            self.en.stem(&lower)
        };
        let cleaned: String = stemmed
            .chars()
            .filter(|c| !matches!(c, '\'' | '\u{2019}' | '\u{02BC}'))
            .collect();
        for part in cleaned.split(|c: char| !c.is_alphanumeric()) {
            if !part.is_empty() {
                emit(part);
            }
        }
    }
}

const EN_STOP: &[&str] = &[
    "a",
    "about",
    "above",
    "after",
    "again",
    "against",
    "all",
    "am",
    "an",
    "and",
    "any",
    "are",
    "as",
    "at",
    "be",
    "because",
    "been",
    "before",
    "being",
    "below",
    "between",
    "both",
    "but",
    "by",
    "can",
    "could",
    "did",
    "do",
    "does",
    "doing",
    "down",
    "during",
    "each",
    "few",
    "for",
    "from",
    "further",
    "had",
    "has",
    "have",
    "having",
    "he",
    "her",
    "here",
    "hers",
    "herself",
    "him",
    "himself",
    "his",
    "how",
    "i",
    "if",
    "in",
    "into",
    "is",
    "it",
    "its",
    "itself",
    "just",
    "me",
    "more",
    "most",
    "my",
    "myself",
    "no",
    "nor",
    "not",
    "now",
    "of",
    "off",
    "on",
    "once",
    "only",
    "or",
    "other",
    "our",
    "ours",
    "ourselves",
    "out",
    "over",
    "own",
    "same",
    "she",
    "should",
    "so",
    "some",
    "such",
    "than",
    "that",
    "the",
    "their",
    "theirs",
    "them",
    "themselves",
    "then",
    "there",
    "these",
    "they",
    "this",
    "those",
    "through",
    "to",
    "too",
    "under",
    "until",
    "up",
    "very",
    "was",
    "we",
    "were",
    "what",
    "when",
    "where",
    "which",
    "while",
    "who",
    "whom",
    "why",
    "will",
    "with",
    "would",
    "you",
    "your",
    "yours",
    "yourself",
    "yourselves",
    "tell",
    "please",
    "hi",
    "hello",
    "thanks",
    "s",
    "t",
    "d",
    "ll",
    "m",
    "re",
    "ve",
];

const RU_STOP: &[&str] = &[
    "а",
    "без",
    "более",
    "бы",
    "был",
    "была",
    "были",
    "было",
    "быть",
    "в",
    "вам",
    "вас",
    "весь",
    "во",
    "вот",
    "все",
    "всего",
    "всех",
    "вы",
    "где",
    "да",
    "даже",
    "для",
    "до",
    "его",
    "ее",
    "ей",
    "ему",
    "если",
    "есть",
    "еще",
    "же",
    "за",
    "здесь",
    "и",
    "из",
    "или",
    "им",
    "их",
    "к",
    "как",
    "какая",
    "какие",
    "какой",
    "ко",
    "когда",
    "кто",
    "ли",
    "либо",
    "мне",
    "может",
    "мы",
    "на",
    "надо",
    "наш",
    "не",
    "него",
    "нее",
    "нет",
    "ни",
    "них",
    "но",
    "ну",
    "о",
    "об",
    "однако",
    "он",
    "она",
    "они",
    "оно",
    "от",
    "очень",
    "по",
    "под",
    "при",
    "с",
    "со",
    "так",
    "также",
    "такой",
    "там",
    "те",
    "тем",
    "то",
    "того",
    "тоже",
    "той",
    "только",
    "том",
    "ты",
    "у",
    "уже",
    "хотя",
    "чего",
    "чей",
    "чем",
    "что",
    "чтобы",
    "чье",
    "чья",
    "эта",
    "эти",
    "это",
    "этот",
    "я",
    "меня",
    "мой",
    "моя",
    "мои",
    "ваш",
    "ваша",
    "ваши",
    "себя",
    "свой",
    "сейчас",
    "можно",
    "нужно",
    "пожалуйста",
    "скажите",
    "подскажите",
    "здравствуйте",
    "привет",
    "спасибо",
    "ли",
    "бы",
    "сколько",
    "зачем",
    "почему",
    "куда",
    "откуда",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn english_and_russian_stems() {
        assert_eq!(
            index_terms("Running deliveries, quickly!"),
            "run deliveri quick"
        );
        assert_eq!(
            index_terms("Доставка доставки доставкой"),
            "доставк доставк доставк"
        );
        assert_eq!(index_terms("Ёлки и ели"), "елк и ел");
        assert_eq!(index_terms("Don’t stop: e.g. 3.14"), "dont stop e g 3 14");
        assert_eq!(index_terms("日本語 text"), "日 本 語 text");
    }

    #[test]
    fn query_side_matches_index_side() {
        let q = query_terms("How much does the delivery cost?");
        assert_eq!(q, vec!["much", "deliveri", "cost"]);
        let q = query_terms("Сколько стоит доставка в Москву?");
        assert_eq!(q, vec!["сто", "доставк", "москв"]);
        let indexed = index_terms("Стоимость доставки по Москве");
        assert!(indexed.split(' ').any(|t| t == "доставк"));
        assert!(indexed.split(' ').any(|t| t == "москв"));
        // All stopwords: keep them.
        assert_eq!(query_terms("what is it"), vec!["what", "is", "it"]);
    }
}
