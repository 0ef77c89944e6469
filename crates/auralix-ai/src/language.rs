//! Language identification for short visitor messages.
//!
//! # Design
//!
//! Visitor messages are short ("hi", "сколько стоит?", "ok"), so statistical n-gram models
//! are unreliable on them and heavy to ship. The product serves English and Russian, whose
//! scripts differ, so the detector is a two-step rule:
//!
//! 1. **Script.** Letters are counted by script (Cyrillic vs Latin), ignoring e-mail
//!    addresses and links (a Russian message containing `ivan@mail.ru` is still Russian).
//!    Brand names in Latin are common inside Russian text but Cyrillic words inside English
//!    text are rare, so Cyrillic wins as soon as it makes up at least 40 % of the letters.
//! 2. **Stopwords.** A script alone does not prove a language: "ok", "lol" or "Bonjour"
//!    are Latin but not evidence of English. Latin text is English only when it contains
//!    at least one common English function word or greeting, and more of them than of a
//!    few other Latin-script languages (German, French, Spanish, Italian, Portuguese).
//!    Cyrillic text is Russian when it has a Russian function word or at least three
//!    Cyrillic letters, unless it shows letters that Russian does not use (Ukrainian
//!    `і ї є ґ`, Belarusian `ў`, Serbian/Macedonian `ј љ њ ђ ћ ѓ ќ џ s`) and no letters that
//!    only Russian uses (`ы э ъ`).
//!
//! Everything else is [`Language::Unknown`] (`"und"`, the BCP 47 code for undetermined).
//! The work is a single pass over the characters plus a hash-free word lookup in small
//! sorted tables, so it costs microseconds per message.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// A language the rest of Auralix distinguishes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Language {
    /// English.
    #[serde(rename = "en")]
    En,
    /// Russian.
    #[serde(rename = "ru")]
    Ru,
    /// Anything else, or too little text to tell.
    #[serde(rename = "und")]
    Unknown,
}

impl Language {
    /// Every value, in a stable order.
    pub const ALL: [Language; 3] = [Language::En, Language::Ru, Language::Unknown];

    /// The BCP 47 code: `"en"`, `"ru"` or `"und"`.
    pub fn code(self) -> &'static str {
        match self {
            Language::En => "en",
            Language::Ru => "ru",
            Language::Unknown => "und",
        }
    }
}

impl fmt::Display for Language {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// The error of parsing an unknown language code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownLanguage(pub String);

impl fmt::Display for UnknownLanguage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "unknown language code {:?}", self.0)
    }
}

impl std::error::Error for UnknownLanguage {}

impl FromStr for Language {
    type Err = UnknownLanguage;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "en" => Ok(Language::En),
            "ru" => Ok(Language::Ru),
            "und" => Ok(Language::Unknown),
            _ => Err(UnknownLanguage(s.to_string())),
        }
    }
}

/// English function words and very common chat words (sorted for binary search).
const EN_WORDS: &[&str] = &[
    "a", "about", "all", "am", "an", "and", "any", "are", "be", "but", "buy", "bye", "can", "cost",
    "could", "did", "do", "does", "for", "from", "get", "good", "have", "hello", "help", "hey",
    "hi", "how", "i", "i'm", "if", "in", "is", "it", "me", "morning", "my", "need", "no", "not",
    "of", "on", "or", "our", "please", "price", "thank", "thanks", "that", "the", "there", "this",
    "to", "want", "was", "we", "what", "when", "where", "which", "who", "why", "will", "with",
    "would", "yes", "you", "your",
];

/// Function words of other Latin-script languages that visitors may write in.
const OTHER_LATIN_WORDS: &[&str] = &[
    "aber", "auf", "avec", "bitte", "bonjour", "como", "das", "dei", "del", "der", "die", "dos",
    "ein", "eine", "est", "et", "für", "gracias", "grazie", "hola", "ich", "il", "je", "la", "las",
    "le", "les", "los", "mais", "merci", "nicht", "obrigado", "olá", "para", "pas", "per", "pero",
    "pour", "que", "qué", "sie", "sono", "und", "une", "uno", "vous", "wie", "y",
];

/// Russian function words and very common short chat words (sorted for binary search).
const RU_WORDS: &[&str] = &[
    "а",
    "бы",
    "в",
    "вы",
    "да",
    "для",
    "до",
    "его",
    "ее",
    "если",
    "есть",
    "же",
    "за",
    "и",
    "из",
    "или",
    "к",
    "как",
    "когда",
    "кто",
    "ли",
    "мне",
    "мы",
    "на",
    "не",
    "нет",
    "но",
    "ну",
    "о",
    "от",
    "по",
    "с",
    "так",
    "то",
    "у",
    "уже",
    "что",
    "это",
    "я",
];

fn in_sorted(table: &[&str], word: &str) -> bool {
    table.binary_search(&word).is_ok()
}

fn is_cyrillic(c: char) -> bool {
    matches!(c, '\u{0400}'..='\u{04FF}' | '\u{0500}'..='\u{052F}')
}

fn is_latin(c: char) -> bool {
    c.is_ascii_alphabetic() || matches!(c, '\u{00C0}'..='\u{024F}') && c.is_alphabetic()
}

/// Cyrillic letters that Russian does not use.
fn is_non_russian_cyrillic(c: char) -> bool {
    matches!(
        c.to_lowercase().next().unwrap_or(c),
        'і' | 'ї' | 'є' | 'ґ' | 'ў' | 'ј' | 'љ' | 'њ' | 'ђ' | 'ћ' | 'ѓ' | 'ќ' | 'џ' | 'ѕ'
    )
}

/// Cyrillic letters that only Russian (of the common Cyrillic languages) uses together.
fn is_russian_only(c: char) -> bool {
    matches!(c.to_lowercase().next().unwrap_or(c), 'ы' | 'э' | 'ъ')
}

/// Whether a whitespace-separated chunk is a link or an e-mail address (ignored).
fn is_link_or_email(chunk: &str) -> bool {
    let lower = chunk.to_ascii_lowercase();
    chunk.contains('@')
        || lower.starts_with("http")
        || lower.starts_with("www.")
        || lower.contains("://")
}

/// Detects the language of `text`: English, Russian or unknown.
///
/// ```
/// use auralix_ai::language::{detect_language, Language};
/// assert_eq!(detect_language("How much does it cost?"), Language::En);
/// assert_eq!(detect_language("Сколько стоит доставка?"), Language::Ru);
/// assert_eq!(detect_language("ok"), Language::Unknown);
/// ```
pub fn detect_language(text: &str) -> Language {
    let mut cyrillic = 0usize;
    let mut latin = 0usize;
    let mut non_russian = 0usize;
    let mut russian_only = 0usize;
    let mut en_hits = 0usize;
    let mut other_latin_hits = 0usize;
    let mut ru_hits = 0usize;
    let mut word = String::new();

    let mut count_word = |word: &mut String| {
        if !word.is_empty() {
            if in_sorted(EN_WORDS, word) {
                en_hits += 1;
            }
            if OTHER_LATIN_WORDS.contains(&word.as_str()) {
                other_latin_hits += 1;
            }
            if in_sorted(RU_WORDS, word) {
                ru_hits += 1;
            }
            word.clear();
        }
    };

    for chunk in text.split_whitespace() {
        if is_link_or_email(chunk) {
            continue;
        }
        for c in chunk.chars() {
            if is_cyrillic(c) {
                cyrillic += 1;
                non_russian += usize::from(is_non_russian_cyrillic(c));
                russian_only += usize::from(is_russian_only(c));
            } else if is_latin(c) {
                latin += 1;
            }
            if c.is_alphabetic() || (c == '\'' || c == '’') && !word.is_empty() {
                for l in c.to_lowercase() {
                    word.push(match l {
                        'ё' => 'е',
                        '’' => '\'',
                        other => other,
                    });
                }
            } else {
                count_word(&mut word);
            }
        }
        count_word(&mut word);
    }

    let letters = cyrillic + latin;
    if letters == 0 {
        return Language::Unknown;
    }
    if cyrillic * 10 >= letters * 4 {
        if non_russian > 0 && russian_only == 0 {
            return Language::Unknown;
        }
        if ru_hits > 0 || cyrillic >= 3 {
            return Language::Ru;
        }
        return Language::Unknown;
    }
    if en_hits > 0 && en_hits >= other_latin_hits {
        return Language::En;
    }
    Language::Unknown
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_are_sorted() {
        for table in [EN_WORDS, RU_WORDS] {
            assert!(table.windows(2).all(|w| w[0] < w[1]), "{table:?}");
        }
    }

    #[test]
    fn english() {
        for text in [
            "How much does the Pro plan cost?",
            "hello",
            "Hi!",
            "I can't log in to my account",
            "Thanks",
            "what about delivery to Berlin",
        ] {
            assert_eq!(detect_language(text), Language::En, "{text}");
        }
    }

    #[test]
    fn russian() {
        for text in [
            "Сколько стоит доставка?",
            "да",
            "Привет",
            "Хочу купить iPhone 15 Pro Max",
            "мой email ivan.petrov@example.com, перезвоните",
            "Ёлка есть?",
        ] {
            assert_eq!(detect_language(text), Language::Ru, "{text}");
        }
    }

    #[test]
    fn undetermined() {
        for text in [
            "",
            "ok",
            "OK!!!",
            "12345",
            "🙂",
            "lol",
            "Bonjour, je voudrais un devis pour vous",
            "Guten Tag, ich habe eine Frage",
            "Добрий день, підкажіть ціну",
            "https://example.com/page",
        ] {
            assert_eq!(detect_language(text), Language::Unknown, "{text}");
        }
    }

    #[test]
    fn codes_and_parsing() {
        for lang in Language::ALL {
            assert_eq!(lang.code().parse::<Language>(), Ok(lang));
            assert_eq!(lang.to_string(), lang.code());
        }
        assert!("xx".parse::<Language>().is_err());
    }
}
