//! Personal-data and special-category detection, warnings and redaction (PRODUCT A6).
//!
//! # Design
//!
//! [`scan`] runs on every visitor message, before anything is sent to a third-party model.
//! It finds two kinds of things, in English and Russian:
//!
//! **Personal data** ([`PersonalDataKind`]): identifiers that can be redacted. Each detector
//! is a compiled-once regular expression that proposes candidates, followed by validation
//! that throws most candidates away, because a false alarm ("your message contains a card
//! number") on an order number or a price is worse than useless:
//!
//! * **e-mail**: `local@domain.tld`, Unicode letters allowed.
//! * **IBAN**: country + check digits + 11–30 alphanumerics, compact or in groups of four;
//!   valid only if the ISO 13616 mod-97 check passes and, for the ~45 countries in the
//!   table, the length is that country's. Trailing groups are dropped one by one until the
//!   check passes, so a word written after the IBAN does not hide it.
//! * **card number**: 13–19 digits, unbroken or in groups of at least three separated by
//!   single spaces or dashes, first digit 2–6 (Mir, Visa, Mastercard, Amex, JCB, Discover,
//!   UnionPay, Maestro) and a valid Luhn check digit. Only Luhn-valid numbers count, as the
//!   API promises. Numbers right after "order"/"заказ"/"tracking"… are not cards.
//! * **SNILS**: `123-456-789 01` (or spaces), whose last two digits are the checksum of the
//!   first nine; an unbroken 11-digit number only next to the word СНИЛС/SNILS.
//! * **INN** (Russian taxpayer number): 10 or 12 digits whose check digits are valid. It is
//!   flagged when ИНН/INN/TIN/"tax" is written just before it; without that word, only a
//!   12-digit number standing alone counts. The reason: one random 10-digit number in ten
//!   passes the 10-digit checksum, and 10-digit numbers are common in chat (Russian mobile
//!   numbers without the prefix, order and invoice numbers), whereas only one 12-digit
//!   number in a hundred passes the double checksum and 12-digit numbers are rare otherwise.
//! * **passport**: a Russian series and number (`45 06 123456`) with the word
//!   паспорт/passport within a few words, `серия 4506 номер 123456`, or the word followed
//!   closely by a document number (6–10 digits, optionally after one or two capital letters:
//!   `passport AB1234567`). A passport number has no public checksum, hence the context.
//! * **phone**: digits with optional `+`, spaces, dashes and parentheses. A candidate is a
//!   phone if it starts with `+` (8–15 digits, 11 for `+7`), or is a Russian number with
//!   the trunk prefix (`8 912 345 67 89`, `89123456789`: 11 digits, `7`/`8` then an area
//!   code starting with 3, 4, 8 or 9), or is a formatted 10-digit Russian mobile
//!   (`912 345-67-89`) or 10-digit number with a bracketed area code (`(555) 123-4567`),
//!   or has 7–15 digits right after a word like phone/тел/call/
//!   звоните/WhatsApp (or "number"/"номер", unless a word like card/order/passport is
//!   nearer: "card number 4111…"). Dates (`2024-05-12`), amounts followed by a currency
//!   or unit, and numbers right after order/заказ/№/#/invoice/account/card… are not phones
//!   (unless they start with `+`). Digits inside a longer run of digits or letters never
//!   count.
//!
//! Candidates are taken in that order of precedence and a later candidate that overlaps an
//! accepted one is dropped (an IBAN's digits are not also a card, a SNILS is not a phone).
//!
//! **Special categories** ([`SpecialCategory`], GDPR art. 9 / 152-FZ art. 10): these are
//! raised only for what a person says about themselves or someone else ("I have
//! diabetes", "у мамы диабет", "my wife is pregnant", "я член профсоюза"), never for a topic
//! ("do you sell health insurance?", "товары для диабетиков"). Two kinds of rules per
//! category:
//!
//! * *direct phrases* that carry their own subject ("I voted for", "голосую за",
//!   "I'm a Muslim"-style frames for ethnicity, "молюсь", "my political views");
//! * *lexicon terms* (diagnoses, religions, orientations, convictions…; Russian ones as
//!   stems so every inflection matches) that count only with a **personal cue** nearby in
//!   the same sentence: a first-person or third-person pronoun within five words before
//!   the term (I, I'm, me, he, she, я, меня, мне, он, она, у него…), a possessive right
//!   before it (my/his/her, мой/моя/…, at most one word between), a relative (my wife, our
//!   son, мама, мужу…) before it, or — Russian word order being free — a pronoun or
//!   relative within three words after it ("диабет у меня", "рак у мамы"), and in English
//!   "… of my …" / "… in my family".
//!
//! Between the cue and the term there must be no *topic marker*: shopping and
//! information-seeking verbs and prepositions (buy, order, looking, about, insurance,
//! product, your; купить, ищу, для, про, о, страховка, товары, ваш…). "I want to buy
//! insurance for diabetes" and "I'm writing an article about depression" therefore raise
//! nothing, while "I need insulin for my diabetes" does. A few idioms are excluded
//! explicitly ("sick of", "болею за Спартак", "fingerprint login").
//!
//! Special-category findings carry the span of the trigger phrase; they are warnings only
//! and are not redacted (redacting "diabetes" would make most support questions
//! unanswerable; the visitor is warned instead, per A6).
//!
//! [`Scan::warnings`] turns findings into the API's warning objects, deduplicated, in a
//! stable canonical order (special categories first, then personal data, each in the
//! order of its enum) so that the same message always yields the same list.
//!
//! # Cost
//!
//! Every regular expression is compiled once ([`LazyLock`]). A scan is a fixed number of
//! linear regex passes over the message, plus, only when a lexicon term matched, one
//! tokenisation of the message and a bounded window check per match. Candidate windows
//! inside one run of digits are bounded by the 19-digit maximum, and context checks look at
//! most 40 characters back, so nothing is quadratic in the length of the message. The
//! word-level patterns (lexicons, context keywords, IBAN) avoid Unicode `\b`, which would
//! push the regex engine off its DFA for every Cyrillic message; see `word_regex`. In a
//! release build a typical message scans in 2–30 µs.

use regex::Regex;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::sync::LazyLock;

// ---------------------------------------------------------------------------------------
// Vocabulary
// ---------------------------------------------------------------------------------------

/// A kind of personal data that is detected and can be redacted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PersonalDataKind {
    /// An e-mail address.
    Email,
    /// A phone number.
    Phone,
    /// A payment card number (Luhn-valid).
    CardNumber,
    /// An IBAN (mod-97-valid).
    Iban,
    /// A passport number.
    Passport,
    /// A Russian SNILS (individual insurance account number).
    Snils,
    /// A Russian INN (taxpayer number).
    Inn,
}

impl PersonalDataKind {
    /// Every kind, in canonical order.
    pub const ALL: [PersonalDataKind; 7] = [
        PersonalDataKind::Email,
        PersonalDataKind::Phone,
        PersonalDataKind::CardNumber,
        PersonalDataKind::Iban,
        PersonalDataKind::Passport,
        PersonalDataKind::Snils,
        PersonalDataKind::Inn,
    ];

    /// The API name: `"email"`, `"phone"`, `"card_number"`, `"iban"`, `"passport"`,
    /// `"snils"` or `"inn"`.
    pub fn as_str(self) -> &'static str {
        match self {
            PersonalDataKind::Email => "email",
            PersonalDataKind::Phone => "phone",
            PersonalDataKind::CardNumber => "card_number",
            PersonalDataKind::Iban => "iban",
            PersonalDataKind::Passport => "passport",
            PersonalDataKind::Snils => "snils",
            PersonalDataKind::Inn => "inn",
        }
    }

    /// The placeholder that replaces the value in redacted text, e.g. `[CARD_NUMBER]`.
    pub fn placeholder(self) -> &'static str {
        match self {
            PersonalDataKind::Email => "[EMAIL]",
            PersonalDataKind::Phone => "[PHONE]",
            PersonalDataKind::CardNumber => "[CARD_NUMBER]",
            PersonalDataKind::Iban => "[IBAN]",
            PersonalDataKind::Passport => "[PASSPORT]",
            PersonalDataKind::Snils => "[SNILS]",
            PersonalDataKind::Inn => "[INN]",
        }
    }
}

impl fmt::Display for PersonalDataKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A special category of personal data (GDPR art. 9, 152-FZ art. 10).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SpecialCategory {
    /// Physical or mental health, pregnancy, disability.
    Health,
    /// Political opinions, votes, party membership.
    PoliticalOpinion,
    /// Religious or philosophical beliefs.
    ReligiousBelief,
    /// Racial or ethnic origin.
    EthnicOrigin,
    /// Sex life or sexual orientation.
    SexLife,
    /// Trade-union membership.
    TradeUnion,
    /// Genetic data.
    Genetic,
    /// Biometric data.
    Biometric,
    /// Criminal convictions and offences.
    CriminalRecord,
}

impl SpecialCategory {
    /// Every category, in canonical order.
    pub const ALL: [SpecialCategory; 9] = [
        SpecialCategory::Health,
        SpecialCategory::PoliticalOpinion,
        SpecialCategory::ReligiousBelief,
        SpecialCategory::EthnicOrigin,
        SpecialCategory::SexLife,
        SpecialCategory::TradeUnion,
        SpecialCategory::Genetic,
        SpecialCategory::Biometric,
        SpecialCategory::CriminalRecord,
    ];

    /// The API name: `"health"`, `"political_opinion"`, ….
    pub fn as_str(self) -> &'static str {
        match self {
            SpecialCategory::Health => "health",
            SpecialCategory::PoliticalOpinion => "political_opinion",
            SpecialCategory::ReligiousBelief => "religious_belief",
            SpecialCategory::EthnicOrigin => "ethnic_origin",
            SpecialCategory::SexLife => "sex_life",
            SpecialCategory::TradeUnion => "trade_union",
            SpecialCategory::Genetic => "genetic",
            SpecialCategory::Biometric => "biometric",
            SpecialCategory::CriminalRecord => "criminal_record",
        }
    }
}

impl fmt::Display for SpecialCategory {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FindingKind {
    /// Personal data, redacted before AI.
    Personal(PersonalDataKind),
    /// A special category; warned about, not redacted.
    Special(SpecialCategory),
}

/// One detection, with byte offsets into the scanned text (`text[start..end]`): the value
/// itself for personal data, the trigger phrase for a special category.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Finding {
    /// What was found.
    pub kind: FindingKind,
    /// Byte offset of the first byte.
    pub start: usize,
    /// Byte offset just past the last byte.
    pub end: usize,
}

impl Finding {
    /// The matched text, given the text that was scanned.
    pub fn text<'a>(&self, source: &'a str) -> &'a str {
        source.get(self.start..self.end).unwrap_or("")
    }
}

/// A warning shown to the visitor; serialises to exactly
/// `{"code":"personal_data","kind":"card_number"}` or
/// `{"code":"special_category","category":"health"}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(tag = "code", rename_all = "snake_case")]
pub enum Warning {
    /// A special category was mentioned.
    SpecialCategory {
        /// Which one.
        category: SpecialCategory,
    },
    /// Personal data was given.
    PersonalData {
        /// Which kind.
        kind: PersonalDataKind,
    },
}

impl Warning {
    /// `"personal_data"` or `"special_category"`.
    pub fn code(&self) -> &'static str {
        match self {
            Warning::PersonalData { .. } => "personal_data",
            Warning::SpecialCategory { .. } => "special_category",
        }
    }

    /// A compact label such as `personal_data:email` (used by the evaluation corpus).
    pub fn label(&self) -> String {
        match self {
            Warning::PersonalData { kind } => format!("personal_data:{kind}"),
            Warning::SpecialCategory { category } => format!("special_category:{category}"),
        }
    }
}

/// The result of [`scan`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Scan {
    /// Every finding, ordered by start offset.
    pub findings: Vec<Finding>,
}

impl Scan {
    /// Whether nothing was found.
    pub fn is_empty(&self) -> bool {
        self.findings.is_empty()
    }

    /// The personal-data findings (non-overlapping, ordered).
    pub fn personal_data(&self) -> impl Iterator<Item = (PersonalDataKind, &Finding)> {
        self.findings.iter().filter_map(|f| match f.kind {
            FindingKind::Personal(kind) => Some((kind, f)),
            FindingKind::Special(_) => None,
        })
    }

    /// The distinct special categories found, in canonical order.
    pub fn special_categories(&self) -> Vec<SpecialCategory> {
        let mut out: Vec<SpecialCategory> = self
            .findings
            .iter()
            .filter_map(|f| match f.kind {
                FindingKind::Special(c) => Some(c),
                FindingKind::Personal(_) => None,
            })
            .collect();
        out.sort();
        out.dedup();
        out
    }

    /// The warnings for the visitor: one per distinct category or kind, special categories
    /// first, then personal data, each in the order of its enum.
    pub fn warnings(&self) -> Vec<Warning> {
        let mut out: Vec<Warning> = self
            .findings
            .iter()
            .map(|f| match f.kind {
                FindingKind::Personal(kind) => Warning::PersonalData { kind },
                FindingKind::Special(category) => Warning::SpecialCategory { category },
            })
            .collect();
        out.sort();
        out.dedup();
        out
    }

    /// `text` with every personal-data finding replaced by its placeholder. `text` must be
    /// the text that was scanned.
    pub fn redact(&self, text: &str) -> String {
        let mut out = String::with_capacity(text.len());
        let mut last = 0;
        for (kind, f) in self.personal_data() {
            if f.start < last || f.end > text.len() {
                continue;
            }
            out.push_str(&text[last..f.start]);
            out.push_str(kind.placeholder());
            last = f.end;
        }
        out.push_str(&text[last..]);
        out
    }
}

/// Scans a message for personal data and special categories.
pub fn scan(text: &str) -> Scan {
    let mut personal = Personal::default();
    detect_emails(text, &mut personal);
    detect_ibans(text, &mut personal);
    let runs = digit_runs(text);
    detect_cards(text, &runs, &mut personal);
    detect_snils(text, &mut personal);
    detect_inns(text, &mut personal);
    detect_passports(text, &mut personal);
    detect_phones(text, &mut personal);
    let mut findings = personal.findings;
    findings.extend(detect_special(text));
    findings.sort_by_key(|f| (f.start, f.end));
    Scan { findings }
}

/// `text` with personal data replaced by placeholders (`[EMAIL]`, `[PHONE]`,
/// `[CARD_NUMBER]`, `[IBAN]`, `[PASSPORT]`, `[SNILS]`, `[INN]`).
pub fn redact(text: &str) -> String {
    scan(text).redact(text)
}

/// The e-mail addresses in `text`, lowercased, deduplicated, in order of appearance.
pub fn find_emails(text: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for f in scan(text).findings {
        if f.kind == FindingKind::Personal(PersonalDataKind::Email) {
            let email = f.text(text).to_lowercase();
            if !out.contains(&email) {
                out.push(email);
            }
        }
    }
    out
}

/// The phone numbers in `text`, deduplicated, in order of appearance, normalised to E.164
/// (`+79123456789`; a Russian `8 912 …` becomes `+7 912 …`, a 10-digit Russian mobile
/// gets `+7`). A number written without a country code whose country cannot be inferred
/// (e.g. `020 7946 0958` after "call me at") is returned as its digits without `+`.
pub fn find_phones(text: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for f in scan(text).findings {
        if f.kind == FindingKind::Personal(PersonalDataKind::Phone)
            && let Some(phone) = normalise_phone(f.text(text))
            && !out.contains(&phone)
        {
            out.push(phone);
        }
    }
    out
}

// ---------------------------------------------------------------------------------------
// Personal data
// ---------------------------------------------------------------------------------------

/// Accepted personal-data findings; rejects overlaps with earlier (higher-precedence) ones.
#[derive(Default)]
struct Personal {
    findings: Vec<Finding>,
}

impl Personal {
    fn overlaps(&self, start: usize, end: usize) -> bool {
        self.findings.iter().any(|f| start < f.end && f.start < end)
    }

    fn add(&mut self, kind: PersonalDataKind, start: usize, end: usize) -> bool {
        if start >= end || self.overlaps(start, end) {
            return false;
        }
        self.findings.push(Finding {
            kind: FindingKind::Personal(kind),
            start,
            end,
        });
        true
    }
}

fn regex(pattern: &str) -> Regex {
    Regex::new(pattern).unwrap_or_else(|e| panic!("invalid built-in pattern: {e}"))
}

/// Up to `chars` characters of `text` before byte `at`.
fn before_raw(text: &str, at: usize, chars: usize) -> &str {
    let head = &text[..at];
    let start = head
        .char_indices()
        .rev()
        .nth(chars.saturating_sub(1))
        .map_or(0, |(i, _)| i);
    &head[start..]
}

/// Up to `chars` characters of `text` before byte `at`, lowercased.
fn before(text: &str, at: usize, chars: usize) -> String {
    before_raw(text, at, chars).to_lowercase()
}

/// Up to `chars` characters of `text` after byte `at`, lowercased.
fn after(text: &str, at: usize, chars: usize) -> String {
    text[at..]
        .chars()
        .take(chars)
        .collect::<String>()
        .to_lowercase()
}

fn char_before(text: &str, at: usize) -> Option<char> {
    text[..at].chars().next_back()
}

fn char_after(text: &str, at: usize) -> Option<char> {
    text[at..].chars().next()
}

fn digits_of(s: &str) -> String {
    s.chars().filter(char::is_ascii_digit).collect()
}

// --- e-mail -----------------------------------------------------------------------------

static EMAIL: LazyLock<Regex> = LazyLock::new(|| {
    regex(
        r"[\p{L}\p{N}_%+\-][\p{L}\p{N}._%+\-]*@[\p{L}\p{N}](?:[\p{L}\p{N}\-]*[\p{L}\p{N}])?(?:\.[\p{L}\p{N}](?:[\p{L}\p{N}\-]*[\p{L}\p{N}])?)*\.\p{L}{2,}",
    )
});

fn detect_emails(text: &str, out: &mut Personal) {
    for m in EMAIL.find_iter(text) {
        out.add(PersonalDataKind::Email, m.start(), m.end());
    }
}

// --- IBAN -------------------------------------------------------------------------------

static IBAN: LazyLock<WordRegex> = LazyLock::new(|| {
    word_regex(
        r"(?i)\b[A-Z]{2}[0-9]{2}(?:[A-Z0-9]{11,30}|(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,4})?)\b",
    )
});

/// IBAN lengths of the countries most likely to appear (ISO 13616 registry).
const IBAN_LENGTHS: &[(&str, usize)] = &[
    ("AD", 24),
    ("AE", 23),
    ("AT", 20),
    ("AZ", 28),
    ("BE", 16),
    ("BG", 22),
    ("BY", 28),
    ("CH", 21),
    ("CY", 28),
    ("CZ", 24),
    ("DE", 22),
    ("DK", 18),
    ("EE", 20),
    ("ES", 24),
    ("FI", 18),
    ("FR", 27),
    ("GB", 22),
    ("GE", 22),
    ("GR", 27),
    ("HR", 21),
    ("HU", 28),
    ("IE", 22),
    ("IL", 23),
    ("IS", 26),
    ("IT", 27),
    ("KZ", 20),
    ("LI", 21),
    ("LT", 20),
    ("LU", 20),
    ("LV", 21),
    ("MC", 27),
    ("MD", 24),
    ("MT", 31),
    ("NL", 18),
    ("NO", 15),
    ("PL", 28),
    ("PT", 25),
    ("RO", 24),
    ("RU", 33),
    ("SA", 24),
    ("SE", 24),
    ("SI", 19),
    ("SK", 24),
    ("SM", 27),
    ("TR", 26),
    ("UA", 29),
];

/// Whether a compact IBAN (no spaces) has a plausible length and a valid mod-97 check.
pub fn iban_is_valid(iban: &str) -> bool {
    let iban: String = iban
        .chars()
        .filter(|c| !c.is_whitespace())
        .map(|c| c.to_ascii_uppercase())
        .collect();
    let bytes = iban.as_bytes();
    if !(15..=34).contains(&bytes.len())
        || !bytes[..2].iter().all(u8::is_ascii_uppercase)
        || !bytes[2..4].iter().all(u8::is_ascii_digit)
        || !bytes.iter().all(u8::is_ascii_alphanumeric)
    {
        return false;
    }
    if let Some((_, len)) = IBAN_LENGTHS
        .iter()
        .find(|(cc, _)| cc.as_bytes() == &bytes[..2])
        && *len != bytes.len()
    {
        return false;
    }
    let mut rem: u32 = 0;
    for &b in bytes[4..].iter().chain(&bytes[..4]) {
        let v = if b.is_ascii_digit() {
            u32::from(b - b'0')
        } else {
            u32::from(b - b'A') + 10
        };
        rem = if v >= 10 {
            (rem * 100 + v) % 97
        } else {
            (rem * 10 + v) % 97
        };
    }
    rem == 1
}

fn detect_ibans(text: &str, out: &mut Personal) {
    for (start, mut end, _) in word_matches(&IBAN, text) {
        // Groups separated by single spaces; drop trailing groups until the check passes.
        loop {
            let candidate = &text[start..end];
            if iban_is_valid(candidate) {
                out.add(PersonalDataKind::Iban, start, end);
                break;
            }
            match candidate.rfind(' ') {
                Some(i) if i > 4 => end = start + i,
                _ => break,
            }
        }
    }
}

// --- digit runs, cards ------------------------------------------------------------------

/// A maximal run of digit groups separated by single spaces, no-break spaces or dashes,
/// not glued to letters or other digits. Each group is a byte range.
struct DigitRun {
    groups: Vec<(usize, usize)>,
}

static DIGIT_RUN: LazyLock<Regex> = LazyLock::new(|| regex(r"[0-9]+(?:[ \u{00A0}\-][0-9]+)*"));
static DIGIT_GROUP: LazyLock<Regex> = LazyLock::new(|| regex(r"[0-9]+"));

fn digit_runs(text: &str) -> Vec<DigitRun> {
    let mut runs = Vec::new();
    for m in DIGIT_RUN.find_iter(text) {
        if char_before(text, m.start()).is_some_and(char::is_alphanumeric)
            || char_after(text, m.end()).is_some_and(char::is_alphanumeric)
        {
            continue;
        }
        let groups = DIGIT_GROUP
            .find_iter(m.as_str())
            .map(|g| (m.start() + g.start(), m.start() + g.end()))
            .collect();
        runs.push(DigitRun { groups });
    }
    runs
}

/// Whether a digit string passes the Luhn (mod 10) check.
pub fn luhn_is_valid(digits: &str) -> bool {
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return false;
    }
    let sum: u32 = digits
        .bytes()
        .rev()
        .enumerate()
        .map(|(i, b)| {
            let d = u32::from(b - b'0');
            if i % 2 == 1 {
                let d2 = d * 2;
                if d2 > 9 { d2 - 9 } else { d2 }
            } else {
                d
            }
        })
        .sum();
    sum.is_multiple_of(10)
}

/// Keywords after which a number is an order, invoice… number: never a card.
const ORDER_WORDS: &str = r"(?i)order|orders|invoice|ticket|tracking|track|sku|parcel|shipment|article|item|ref|reference|заказ\w*|артикул\w*|трек\w*|тикет\w*|посылк\w*|накладн\w*";
/// Keywords after which a number is some other identifier: never a phone.
const IDENTIFIER_WORDS: &str = r"(?i)contract|account|acct|id|code|card|iban|passport|snils|inn|tin|сч[её]т\w*|договор\w*|лицев\w*|код|карт\w*|паспорт\w*|снилс|инн";
/// Keywords that announce a phone number whatever else is nearby.
const STRONG_PHONE_WORDS: &str = r"(?i)phone|tel|telephone|mobile|cell|call|ring|whats\s?app|viber|telegram|тел\w*|моб\w*|сотов\w*|звон\w*|позвон\w*|набер\w*|ватсап\w*|вотсап\w*|вацап\w*|телеграм\w*";
/// Keywords that announce a phone number unless an identifier word is nearer ("card number").
const WEAK_PHONE_WORDS: &str = r"(?i)number|contact|reach|text|номер\w*|связ\w*";

static ORDER_KEYWORDS: LazyLock<WordRegex> = LazyLock::new(|| word_regex(ORDER_WORDS));
static IDENTIFIER_KEYWORDS: LazyLock<WordRegex> = LazyLock::new(|| word_regex(IDENTIFIER_WORDS));
static STRONG_PHONE_KEYWORDS: LazyLock<WordRegex> =
    LazyLock::new(|| word_regex(STRONG_PHONE_WORDS));
static WEAK_PHONE_KEYWORDS: LazyLock<WordRegex> = LazyLock::new(|| word_regex(WEAK_PHONE_WORDS));

/// The start of the last keyword in `context` (the text just before a number) if at most
/// `max_words` words and no digits stand between it and the number.
fn keyword_before_end(re: &WordRegex, context: &str, max_words: usize) -> Option<usize> {
    let (start, end, _) = word_matches(re, context).pop()?;
    let tail = &context[end..];
    let words = tail
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .count();
    (words <= max_words && !tail.chars().any(|c| c.is_ascii_digit())).then_some(start)
}

/// Whether the number at `start` follows `№` or `#`.
fn after_number_sign(text: &str, start: usize) -> bool {
    matches!(
        text[..start].trim_end().chars().next_back(),
        Some('№' | '#')
    )
}

/// What the words just before a number say about it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum NumberContext {
    /// Nothing telling.
    None,
    /// An order, card, document… number.
    Reference,
    /// A phone number.
    Phone,
}

fn number_context(text: &str, start: usize) -> NumberContext {
    let context = before_raw(text, start, 40);
    let reference = [&*ORDER_KEYWORDS, &*IDENTIFIER_KEYWORDS]
        .into_iter()
        .filter_map(|re| keyword_before_end(re, context, 2))
        .max();
    if let Some(strong) = keyword_before_end(&STRONG_PHONE_KEYWORDS, context, 3)
        && reference.is_none_or(|r| strong > r)
    {
        return NumberContext::Phone;
    }
    if reference.is_some() || after_number_sign(text, start) {
        return NumberContext::Reference;
    }
    if keyword_before_end(&WEAK_PHONE_KEYWORDS, context, 3).is_some() {
        NumberContext::Phone
    } else {
        NumberContext::None
    }
}

fn is_order_number(text: &str, start: usize) -> bool {
    after_number_sign(text, start)
        || keyword_before_end(&ORDER_KEYWORDS, before_raw(text, start, 40), 2).is_some()
}

fn detect_cards(text: &str, runs: &[DigitRun], out: &mut Personal) {
    for run in runs {
        let groups = &run.groups;
        let mut i = 0;
        while i < groups.len() {
            let mut best = None;
            let mut digits = 0;
            for j in i..groups.len() {
                digits += groups[j].1 - groups[j].0;
                if digits > 19 {
                    break;
                }
                let grouped_ok = i == j || groups[i..=j].iter().all(|g| g.1 - g.0 >= 3);
                if digits >= 13 && grouped_ok {
                    let number = digits_of(&text[groups[i].0..groups[j].1]);
                    if matches!(number.as_bytes()[0], b'2'..=b'6') && luhn_is_valid(&number) {
                        best = Some(j);
                    }
                }
            }
            match best {
                Some(j) if !is_order_number(text, groups[i].0) => {
                    out.add(PersonalDataKind::CardNumber, groups[i].0, groups[j].1);
                    i = j + 1;
                }
                _ => i += 1,
            }
        }
    }
}

// --- SNILS ------------------------------------------------------------------------------

static SNILS_FORMATTED: LazyLock<Regex> =
    LazyLock::new(|| regex(r"\b[0-9]{3}([- ])[0-9]{3}[- ][0-9]{3}[- ][0-9]{2}\b"));
static ELEVEN_DIGITS: LazyLock<Regex> = LazyLock::new(|| regex(r"\b[0-9]{11}\b"));
static SNILS_CONTEXT: LazyLock<Regex> =
    LazyLock::new(|| regex(r"(?i)(?:снилс|snils|страхов\w* номер|insurance number)"));

/// Whether an 11-digit SNILS (separators allowed) has a valid checksum. Numbers up to
/// 001-001-998 predate the checksum and are not accepted.
pub fn snils_is_valid(snils: &str) -> bool {
    let d: Vec<u32> = snils.chars().filter_map(|c| c.to_digit(10)).collect();
    if d.len() != 11
        || snils
            .chars()
            .any(|c| !c.is_ascii_digit() && c != ' ' && c != '-')
    {
        return false;
    }
    let body = d[..9].iter().fold(0u64, |acc, &x| acc * 10 + u64::from(x));
    if body <= 1_001_998 {
        return false;
    }
    let sum: u32 = d[..9]
        .iter()
        .enumerate()
        .map(|(i, &x)| x * (9 - i as u32))
        .sum();
    let check = match sum {
        s if s < 100 => s,
        100 | 101 => 0,
        s => {
            let r = s % 101;
            if r == 100 { 0 } else { r }
        }
    };
    check == d[9] * 10 + d[10]
}

fn detect_snils(text: &str, out: &mut Personal) {
    for m in SNILS_FORMATTED.find_iter(text) {
        if snils_is_valid(m.as_str()) {
            out.add(PersonalDataKind::Snils, m.start(), m.end());
        }
    }
    for m in ELEVEN_DIGITS.find_iter(text) {
        if snils_is_valid(m.as_str()) && SNILS_CONTEXT.is_match(&before(text, m.start(), 40)) {
            out.add(PersonalDataKind::Snils, m.start(), m.end());
        }
    }
}

// --- passport ---------------------------------------------------------------------------

static PASSPORT_WORD: LazyLock<Regex> =
    LazyLock::new(|| regex(r"(?i)\b(?:passports?|загранпаспорт\w*|паспорт\w*)"));
/// Russian internal passport: series (2+2 digits) and number (6 digits).
static RU_PASSPORT: LazyLock<Regex> =
    LazyLock::new(|| regex(r"\b[0-9]{2} ?[0-9]{2} ?(?:№ ?)?[0-9]{6}\b"));
/// "серия 4506 номер 123456", "series 4506 number 123456".
static SERIES_NUMBER: LazyLock<Regex> = LazyLock::new(|| {
    regex(
        r"(?i)\b(?:сери[яиюей]|series)\s*([0-9]{2} ?[0-9]{2})\s*[,;]?\s*(?:номер|№|н\.|number|no\.?)?\s*([0-9]{6})\b",
    )
});
/// A document number right after the passport word: optional one or two capitals, then
/// 6–10 digits (spaces or dashes allowed between digit groups).
static DOCUMENT_NUMBER: LazyLock<Regex> =
    LazyLock::new(|| regex(r"\b(?:[A-Z]{1,2}[ \-]?)?[0-9]{2}(?:[ \-]?[0-9]){4,8}\b"));

fn detect_passports(text: &str, out: &mut Personal) {
    for m in SERIES_NUMBER.find_iter(text) {
        let span = m.start() + m.as_str().find(|c: char| c.is_ascii_digit()).unwrap_or(0);
        out.add(PersonalDataKind::Passport, span, m.end());
    }
    let words: Vec<(usize, usize)> = PASSPORT_WORD
        .find_iter(text)
        .map(|m| (m.start(), m.end()))
        .collect();
    if words.is_empty() {
        return;
    }
    // Russian series + number with the word within 60 characters before or 30 after.
    for m in RU_PASSPORT.find_iter(text) {
        let spaced = m.as_str().contains(' ');
        let near = words.iter().any(|&(ws, we)| {
            (we <= m.start() && text[we..m.start()].chars().count() <= 60)
                || (spaced && ws >= m.end() && text[m.end()..ws].chars().count() <= 30)
        });
        if near {
            out.add(PersonalDataKind::Passport, m.start(), m.end());
        }
    }
    // The word followed closely (same sentence, ≤ 25 characters) by a document number.
    for &(_, we) in &words {
        let window_end = text[we..]
            .char_indices()
            .nth(40)
            .map_or(text.len(), |(i, _)| we + i);
        let window = &text[we..window_end];
        if let Some(m) = DOCUMENT_NUMBER.find(window) {
            let gap = &window[..m.start()];
            let digits = digits_of(m.as_str()).len();
            if gap.chars().count() <= 25
                && !gap.contains(['.', '!', '?', '\n', '+'])
                && (6..=10).contains(&digits)
            {
                out.add(PersonalDataKind::Passport, we + m.start(), we + m.end());
            }
        }
    }
}

// --- INN --------------------------------------------------------------------------------

static INN_CANDIDATE: LazyLock<Regex> = LazyLock::new(|| regex(r"\b(?:[0-9]{12}|[0-9]{10})\b"));
/// ИНН in any case, INN/TIN only in capitals ("Holiday Inn" is a hotel), "tax" in any case.
static INN_CONTEXT: LazyLock<Regex> = LazyLock::new(|| {
    regex(
        r"(?:(?i:\bинн\b|\btax\b|taxpayer|налогоплательщик)|\bINN\b|\bTIN\b)[^\p{L}\p{N}]*(?:\p{L}+[^\p{L}\p{N}]+){0,3}$",
    )
});

/// Whether a 10- or 12-digit Russian INN has valid check digits.
pub fn inn_is_valid(inn: &str) -> bool {
    let d: Vec<u32> = inn.chars().filter_map(|c| c.to_digit(10)).collect();
    if d.len() != inn.len() {
        return false;
    }
    let check = |weights: &[u32], digits: &[u32]| -> u32 {
        weights.iter().zip(digits).map(|(w, x)| w * x).sum::<u32>() % 11 % 10
    };
    match d.len() {
        10 => check(&[2, 4, 10, 3, 5, 9, 4, 6, 8], &d) == d[9],
        12 => {
            check(&[7, 2, 4, 10, 3, 5, 9, 4, 6, 8], &d) == d[10]
                && check(&[3, 7, 2, 4, 10, 3, 5, 9, 4, 6, 8], &d) == d[11]
        }
        _ => false,
    }
}

fn detect_inns(text: &str, out: &mut Personal) {
    for m in INN_CANDIDATE.find_iter(text) {
        if !inn_is_valid(m.as_str()) || m.as_str().starts_with("00") {
            continue;
        }
        let named = INN_CONTEXT.is_match(before_raw(text, m.start(), 40));
        let standalone_12 = m.as_str().len() == 12
            && number_context(text, m.start()) == NumberContext::None
            && char_before(text, m.start()) != Some('+');
        if named || standalone_12 {
            out.add(PersonalDataKind::Inn, m.start(), m.end());
        }
    }
}

// --- phones -----------------------------------------------------------------------------

static PHONE_CANDIDATE: LazyLock<Regex> = LazyLock::new(|| {
    regex(r"\+? ?(?:\([0-9]{1,5}\)|[0-9])(?:[ \u{00A0}\-]?(?:\([0-9]{1,5}\)|[0-9])){5,17}")
});
static UNIT_AFTER: LazyLock<Regex> = LazyLock::new(|| {
    regex(r"(?i)^\s*(?:руб|р\.|₽|\$|€|£|usd|eur|rub|шт|pcs|%|km|км|kg|кг|тыс|млн|k\b|items|units)")
});

/// Normalises the text of a phone finding to E.164 where the country is known.
fn normalise_phone(raw: &str) -> Option<String> {
    let plus = raw.trim_start().starts_with('+');
    // "+44 (0) 20 …": the national trunk zero in parentheses is not dialled from abroad.
    let cleaned = if plus {
        raw.replace("(0)", "")
    } else {
        raw.to_string()
    };
    let d = digits_of(&cleaned);
    if plus {
        return Some(format!("+{d}"));
    }
    let b = d.as_bytes();
    match b.len() {
        11 if matches!(b[0], b'7' | b'8') => Some(format!("+7{}", &d[1..])),
        10 if b[0] == b'9' => Some(format!("+7{d}")),
        0 => None,
        _ => Some(d),
    }
}

/// Whether a candidate (text, already trimmed to whole groups) is a phone number, given
/// what the words before it say.
fn is_phone(text: &str, start: usize, end: usize, context: NumberContext) -> bool {
    let raw = &text[start..end];
    let plus = raw.starts_with('+');
    let cleaned = if plus {
        raw.replace("(0)", "")
    } else {
        raw.to_string()
    };
    let d = digits_of(&cleaned);
    let b = d.as_bytes();
    if plus {
        return if b.first() == Some(&b'7') {
            b.len() == 11
        } else {
            (8..=15).contains(&b.len())
        };
    }
    if context == NumberContext::Reference || UNIT_AFTER.is_match(&after(text, end, 8)) {
        return false;
    }
    let groups: Vec<usize> = DIGIT_GROUP
        .find_iter(raw)
        .map(|g| g.end() - g.start())
        .collect();
    if raw.contains('-') && !raw.contains('(') && (groups == [4, 2, 2] || groups == [2, 2, 4]) {
        return false; // a date
    }
    let formatted = groups.len() > 1;
    if b.len() == 11 && matches!(b[0], b'7' | b'8') && matches!(b[1], b'3' | b'4' | b'8' | b'9') {
        return true;
    }
    if b.len() == 10 && b[0] == b'9' && formatted {
        return true;
    }
    if raw.starts_with('(') && b.len() == 10 && formatted {
        return true;
    }
    (7..=15).contains(&b.len()) && context == NumberContext::Phone
}

fn detect_phones(text: &str, out: &mut Personal) {
    for m in PHONE_CANDIDATE.find_iter(text) {
        let start = m.start() + (m.as_str().len() - m.as_str().trim_start().len());
        if char_before(text, start).is_some_and(|c| c.is_alphanumeric() || c == '.' || c == ',')
            && !text[start..].starts_with('+')
        {
            continue;
        }
        if char_after(text, m.end()).is_some_and(char::is_alphanumeric) {
            continue;
        }
        // Try the whole candidate, then drop trailing groups while at least 7 digits remain.
        let context = number_context(text, start);
        let mut end = m.end();
        loop {
            if is_phone(text, start, end, context) {
                out.add(PersonalDataKind::Phone, start, end);
                break;
            }
            let candidate = &text[start..end];
            let Some(cut) = candidate.rfind([' ', '\u{00A0}', '-']) else {
                break;
            };
            let shorter = candidate[..cut].trim_end();
            if digits_of(shorter).len() < 7 {
                break;
            }
            end = start + shorter.len();
        }
    }
}

// ---------------------------------------------------------------------------------------
// Special categories
// ---------------------------------------------------------------------------------------

struct CategoryRules {
    category: SpecialCategory,
    /// Phrases that name their own subject; they count wherever they appear.
    direct: Option<WordRegex>,
    /// Terms that count only with a personal cue nearby.
    terms: Option<WordRegex>,
}

const ETHNIC_EN: &str = r"(?:black|white|asian|hispanic|latino|latina|roma|romani|gypsy|indigenous|aboriginal|native\s+american|mixed(?:-|\s+)race|biracial|jewish|a\s+jew|arab|kurdish|a\s+kurd|tatar|chechen|armenian|african(?:-|\s+)american)";
const ETHNIC_RU: &str = r"(?:татар(?:ин|ка)|чечен(?:ец|ка)|армян(?:ин|ка)|азербайджан(?:ец|ка)|грузин(?:ка)?|узбе(?:к|чка)|таджи(?:к|чка)|казах(?:ка)?|башкир(?:ка)?|якут(?:ка)?|бурят(?:ка)?|цыган(?:ка)?|евре(?:й|йка)|курд(?:янка)?|чуваш(?:ка)?|ингуш(?:ка)?|дагестан(?:ец|ка)|авар(?:ец|ка)|осетин(?:ка)?|кабардин(?:ец|ка)|мордвин(?:ка)?|удмурт(?:ка)?|коре(?:ец|янка)|темнокож\w*|чернокож\w*|метис\w*|мулат\w*)";
const RELATIVE_RU: &str = r"(?:муж|жена|мама|мать|папа|отец|сын|дочь|дочка|брат|сестра|бабушка|дедушка|родители|парень|девушка)";

/// A word-delimited pattern that the regex engine can run on its fast DFA.
///
/// Unicode `\b` makes the engine fall back to its slow NFA simulation on any non-ASCII
/// text (every Russian message), and Unicode `\w` multiplies the automaton's size. So the
/// special-category patterns are written with `\b` and `\w` for readability, and compiled
/// with `\w` narrowed to the two alphabets the lexicons use and the word boundaries
/// emulated by one consumed non-word character (or the text's start/end) on each side,
/// which [`word_matches`] trims off again. This is about a hundred times faster.
struct WordRegex(Regex);

fn word_regex(pattern: &str) -> WordRegex {
    let (flags, body) = match pattern.strip_prefix("(?") {
        Some(rest)
            if rest
                .find(')')
                .is_some_and(|i| rest[..i].chars().all(char::is_alphabetic)) =>
        {
            let i = rest.find(')').unwrap_or(0);
            (&pattern[..i + 3], &rest[i + 1..])
        }
        _ => ("", pattern),
    };
    let body = body.replace(r"\b", "").replace(r"\w", "[0-9a-zа-яё]");
    WordRegex(regex(&format!(
        r"{flags}(?:^|[^\p{{L}}\p{{N}}_])(?:{body})(?:[^\p{{L}}\p{{N}}_]|$)"
    )))
}

fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// The matches of a [`WordRegex`], without the delimiting characters.
fn word_matches<'t>(re: &WordRegex, text: &'t str) -> Vec<(usize, usize, &'t str)> {
    let mut out = Vec::new();
    let mut pos = 0;
    while pos <= text.len() {
        let Some(m) = re.0.find_at(text, pos) else {
            break;
        };
        let (mut start, mut end) = (m.start(), m.end());
        if let Some(c) = text[start..end].chars().next()
            && !is_word_char(c)
        {
            start += c.len_utf8();
        }
        if let Some(c) = text[start..end].chars().next_back()
            && !is_word_char(c)
        {
            end -= c.len_utf8();
        }
        if start < end {
            out.push((start, end, &text[start..end]));
        }
        // The trailing delimiter is left for the next match's leading one.
        pos = end.max(m.start() + 1);
    }
    out
}

fn rules() -> Vec<CategoryRules> {
    let some = |p: &str| Some(word_regex(p));
    vec![
        CategoryRules {
            category: SpecialCategory::Health,
            direct: some(
                r"(?i)\b(?:я\s+)?(?:болею|болела|болел|лечусь|беременна)\b|\b(?:i'm|i am|im)\s+(?:ill|unwell)\b",
            ),
            terms: some(
                r"(?ix)\b(?:
                diabet(?:es|ic)|cancer|tumou?r|chemo(?:therapy)?|leuka?emia|hiv|hepatitis|
                asthma(?:tic)?|epilep(?:sy|tic)|depression|bipolar|schizophreni[ac]|autis(?:m|tic)|
                adhd|ptsd|dementia|alzheimer'?s|parkinson'?s|arthritis|celiac|coeliac|crohn'?s|
                multiple\ sclerosis|cerebral\ palsy|down\ syndrome|disabilit(?:y|ies)|wheelchair|
                pregnan(?:t|cy)|miscarriage|infertil(?:e|ity)|ivf|allerg(?:y|ies|ic)|heart\ attack|
                stroke|high\ blood\ pressure|hypertension|migraines?|insulin|antidepressants?|
                covid|coronavirus|flu|pneumonia|surgery|diagnos(?:ed|is)|illness|disease|
                (?:mental|health)\ (?:condition|problems?|issues?)|eating\ disorder|anorexi[ac]|
                bulimi[ac]|addict(?:ed|ion)|alcoholi(?:c|sm)|rehab|blind|deaf|hearing\ aid|
                injur(?:y|ed)|broken\ (?:leg|arm|wrist|ankle)|hospitali[sz]ed|in\ (?:the\ )?hospital|
                sick|(?:lactose|gluten)\ intolerant|intolerance|therapist|psychiatrist|
                erectile\ dysfunction|impoten(?:t|ce)|herpes|syphilis|chlamydia|
                диабет\w*|онколог\w*|рак|рака|раком|раку|опухол\w*|химиотерапи\w*|вич|спид|
                гепатит\w*|астм\w*|эпилепси\w*|эпилептик\w*|депресси\w*|биполярн\w*|шизофрени\w*|
                аутизм\w*|аутист\w*|сдвг|деменци\w*|альцгеймер\w*|паркинсон\w*|артрит\w*|
                целиаки\w*|инвалид\w*|беремен\w*|выкидыш\w*|бесплоди\w*|аллерги\w*|инфаркт\w*|
                инсульт\w*|гипертони\w*|(?:высок|низк)\w+\ давлени\w*|мигрен\w*|инсулин\w*|
                антидепрессант\w*|ковид\w*|коронавирус\w*|грипп\w*|пневмони\w*|
                после\ операции|перен[её]с\w*\ операци\w*|диагноз\w*|болезн\w*|заболевани\w*|
                болен|больна|больны|лечени\w*|психиатр\w*|психотерапевт\w*|наркозависим\w*|
                алкоголизм\w*|алкогольн\w+\ зависимост\w*|слеп(?:ой|ая|ые|ого|ому|ым|ую|ота|оты|нут)|
                глух(?:ой|ая|ие|ого|ому|им|ую|ота|оты)|травм\w*|перелом\w*|больниц\w*|
                госпитализ\w*|непереносимост\w*|простуд\w*|температур\w*|эректильн\w*|венерическ\w*
                )\b",
            ),
        },
        CategoryRules {
            category: SpecialCategory::PoliticalOpinion,
            direct: some(
                r"(?ix)
                \b(?:i|we|he|she)\s+(?:always\s+|usually\s+|will\s+|would\s+|never\s+|did\s+not\s+|didn't\s+|won't\s+)?vot(?:e|ed|ing|es)\s+(?:for|against)\b
              | \b(?:i'm|i\ am|im|i've\ been|he\ is|she\ is|he's|she's)\s+(?:a\s+|an\s+)?(?:staunch\s+|lifelong\s+|registered\s+|proud\s+)?
                  (?:democrat|republican|communist|socialist|libertarian|anarchist|marxist|monarchist|nationalist|leftist|liberal|conservative|tory|feminist|trump\ supporter|biden\ supporter|labour\ (?:voter|supporter)|green\ party\ (?:voter|member|supporter))\b
              | \bmy\s+(?:political\s+(?:views|beliefs|opinions?|affiliation|party)|politics)\b
              | \b(?:i|we|he|she)\s+(?:support|supports|supported|back)\s+(?:the\s+)?\w+\s+party\b
              | \b(?:i'm|i\ am|im)\s+a\s+member\s+of\s+the\s+(?:\w+\s+){0,2}party\b
              | \bi\s+(?:joined|belong\ to)\s+the\s+(?:\w+\s+){0,2}party\b
              | \bi\s+(?:went\ to|attended|joined)\s+(?:a|the)\s+(?:protest|rally|demonstration|march)\b
              | \b(?:i'm|i\ am|im)\s+(?:against|opposed\ to)\s+(?:the\s+)?(?:government|regime|president|war)\b
              | \bголосу(?:ю|ем)\s+(?:за|против)\b
              | \b(?:я\s+)?голосовал[аи]?\s+(?:за|против)\b
              | \bя\s*(?:[—\-]\s*)?(?:убежд[её]нн\w+\s+)?(?:коммунист\w*|либерал\w*|консерватор\w*|монархист\w*|анархист\w*|социалист\w*|оппозиционер\w*|националист\w*|демократ\w*|феминистк\w*)\b
              | \bподдерживаю\s+(?:партию|оппозицию|навального|путина|кпрф|лдпр|единую\ россию|власть|режим)\b
              | \b(?:хожу|ходил[а]?|ходим|участвовал[а]?|участвую)\s+(?:на|в)\s+(?:митинг\w*|протест\w*|демонстраци\w*|пикет\w*)
              | \bя\s+(?:за|против)\s+(?:власти|власть|режима|войны|правительства|президента|путина|навального)\b
                ",
            ),
            terms: some(
                r"(?i)\b(?:political (?:views|beliefs|opinions?|affiliation)|party member(?:ship)?|политическ\w+ (?:взгляд|убежден)\w*|член\w* партии|партийн\w*)",
            ),
        },
        CategoryRules {
            category: SpecialCategory::ReligiousBelief,
            direct: some(
                r"(?ix)
                \b(?:i|we)\s+(?:pray|go\ to\ (?:church|mosque|synagogue|temple)|attend\ (?:church|mass|the\ mosque|mosque|synagogue)|keep\ kosher|eat\ only\ halal|only\ eat\ halal|observe\ (?:ramadan|shabbat|the\ sabbath|lent)|(?:am\ |are\ )?fasting\ (?:for|during)\ (?:ramadan|lent))\b
              | \bmy\s+(?:faith|religion|religious\s+beliefs)\b
              | \b(?:i'm|i\ am|im)\s+(?:religious|a\ believer)\b
              | \bмол(?:юсь|имся)\b
              | \b(?:хожу|ходим)\s+в\s+(?:церковь|мечеть|синагогу|храм)
              | \b(?:соблюдаю|держу|соблюдаем|держим)\s+(?:пост|уразу|рамадан|шаббат|кашрут)
              | \bмо(?:я|ей|ю)\s+(?:вер[аыуе]|религи\w*)\b
                ",
            ),
            terms: some(
                r"(?i)\b(?:muslim|islam|christian|catholic|orthodox|jewish|judaism|hindu|buddhist|atheist|agnostic|sikh|mormon|protestant|evangelical|baptist|jehovah'?s witness|ramadan|мусульман\w*|ислам\w*|христиан\w*|католи\w*|православн\w*|иуде\w*|иудаизм\w*|буддист\w*|индуист\w*|атеист\w*|агностик\w*|сикх\w*|протестант\w*|баптист\w*|свидетел\w+ иеговы|мормон\w*|рамадан\w*|ураз\w*|верующ\w*)\b",
            ),
        },
        CategoryRules {
            category: SpecialCategory::EthnicOrigin,
            direct: some(&format!(
                r"(?ix)
                \b(?:i'm|i\ am|im|he\ is|she\ is|he's|she's|my\s+(?:wife|husband|mother|mom|mum|father|dad|parents|family|son|daughter|grandmother|grandfather|partner)\s+(?:is|are))\s+(?:a\s+|an\s+)?(?:half(?:-|\s+)|partly\s+|of\s+)?{ETHNIC_EN}\b
              | \bas\s+an?\s+(?:black|asian|hispanic|latina|latino|jewish|arab|roma|indigenous)\s+(?:woman|man|person|mother|father|guy|girl)\b
              | \bmy\s+(?:ethnicity|race|ethnic\s+(?:background|origin|group))\b
              | \b(?:i'm|i\ am|im|we\ are|we're)\s+of\s+\w+\s+(?:descent|origin|heritage)\b
              | \bя\s*(?:[—\-]\s*)?(?:по\s+национальности\s+)?(?:наполовину\s+)?{ETHNIC_RU}\b
              | \b{RELATIVE_RU}\s*(?:[—\-]\s*)?(?:по\s+национальности\s+)?{ETHNIC_RU}\b
                "
            )),
            terms: some(r"(?i)\b(?:national origin|национальност\w*|этническ\w*)"),
        },
        CategoryRules {
            category: SpecialCategory::SexLife,
            direct: some(
                r"(?i)\b(?:i'm|i am|im)\s+(?:gay|lesbian|bi|bisexual|trans|queer|asexual|pansexual|straight|homosexual|heterosexual)\b|\bмо(?:я|ей|ю)\s+(?:сексуальн\w+\s+)?ориентаци\w*",
            ),
            terms: some(
                r"(?i)\b(?:gay|lesbian|bisexual|homosexual|heterosexual|queer|transgender|trans (?:man|woman|person)|asexual|pansexual|sexual orientation|sex life|same[- ]sex (?:partner|marriage|relationship|couple|wife|husband)|lgbtq?|гей|геем|гея|лесбиян\w*|лесби|бисексуал\w*|гомосексуал\w*|гетеросексуал\w*|трансгендер\w*|транссексуал\w*|квир|асексуал\w*|пансексуал\w*|сексуальн\w+ (?:жизн|ориентаци|предпочтени)\w*|интимн\w+ жизн\w*|лгбт\w*|однопол\w*)\b",
            ),
        },
        CategoryRules {
            category: SpecialCategory::TradeUnion,
            direct: some(
                r"(?i)\bmy (?:trade |labou?r )?union\b|\b(?:i'm|i am|im|i was)\s+(?:in|with)\s+(?:a|the)\s+union\b|\bi\s+(?:joined|belong to)\s+(?:a|the)\s+union\b|\b(?:i'm|i am|im)\s+a\s+(?:union member|unionist|trade unionist)\b",
            ),
            terms: some(
                r"(?i)\b(?:trade unions?|labou?r unions?|union (?:member(?:ship)?|rep(?:resentative)?|dues|card|steward)|shop steward|unioni[sz]ed|профсоюз\w*|профком\w*)\b",
            ),
        },
        CategoryRules {
            category: SpecialCategory::Genetic,
            direct: None,
            terms: some(
                r"(?i)\b(?:dna (?:test(?:s|ing)?|analysis|results?|sample|kit|report|profile)|genetic (?:test(?:s|ing)?|analysis|disorder|disease|condition|mutation|predisposition|data|results?|profile|screening)|genome|genes|gene mutation|brca[12]?|23andme|ancestrydna|hereditary (?:disease|condition)|днк|генетическ\w+ (?:тест|анализ|заболевани|мутаци|предрасположенност|данн|исследовани|профил|паспорт)\w*|геном\w*|мутаци\w+ ген\w*|ген\w* мутаци\w*|наследственн\w+ (?:заболевани|болезн)\w*)\b",
            ),
        },
        CategoryRules {
            category: SpecialCategory::Biometric,
            direct: some(r"(?i)\b(?:сдал|сдала|сдавал\w*)\s+биометри\w*"),
            terms: some(
                r"(?i)\b(?:fingerprints?|finger prints?|thumbprints?|face scan|facial (?:scan|recognition|geometry|data)|iris scan|retina(?:l)? scan|voiceprint|voice print|biometrics?|palm (?:print|scan)|отпечат\w+ пальц\w*|отпечат\w+ ладон\w*|биометри\w*|скан\w* (?:лица|сетчатки|радужки|ладони)|радужк\w+ глаз\w*|распознавани\w+ лица|слеп(?:ок|ка|ком) голоса|образ\w* голоса)\b",
            ),
        },
        CategoryRules {
            category: SpecialCategory::CriminalRecord,
            direct: None,
            terms: some(
                r"(?i)\b(?:convicted|criminal (?:record|conviction|past|history|charges?)|prior convictions?|conviction for|arrested|in (?:prison|jail)|prison (?:sentence|time)|served time|on parole|parole officer|felony|felon|ex-con|sentenced|charged with|dui|dwi|probation officer|jail time|locked up|судим\w*|осужд[её]н\w*|отсидел\w*|сидел\w* в тюрьм\w*|тюрьм\w*|тюремн\w*|колони(?:я|и|ю|ей)|(?:отбыва|получил|дали)\w*\s+срок\w*|условн\w+ срок\w*|уголовн\w+ (?:дел|ответственност|стать|прошл|преследовани)\w*|арестова\w*|под арестом|под следствием|удо|привлекал\w+ к уголовн\w*)\b",
            ),
        },
    ]
}

static RULES: LazyLock<Vec<CategoryRules>> = LazyLock::new(rules);

/// A word of the message: byte span, normalised lowercase text, sentence number.
struct Token {
    start: usize,
    end: usize,
    norm: String,
    clause: usize,
}

static WORD: LazyLock<Regex> = LazyLock::new(|| regex(r"[\p{L}\p{N}]+(?:['’][\p{L}]+)*"));

fn tokenize(text: &str) -> Vec<Token> {
    let mut tokens: Vec<Token> = Vec::new();
    let mut clause = 0;
    let mut last_end = 0;
    for m in WORD.find_iter(text) {
        if text[last_end..m.start()].contains(['.', '!', '?', ';', '\n', '…']) {
            clause += 1;
        }
        let norm = m
            .as_str()
            .to_lowercase()
            .replace('ё', "е")
            .replace('’', "'");
        tokens.push(Token {
            start: m.start(),
            end: m.end(),
            norm,
            clause,
        });
        last_end = m.end();
    }
    tokens
}

const EN_SUBJECT: &[&str] = &[
    "i", "i'm", "im", "i've", "ive", "i'd", "me", "myself", "he", "he's", "she", "she's", "him",
    "himself", "herself",
];
const EN_POSSESSIVE: &[&str] = &["my", "his", "her"];
const EN_RELATION_OWNER: &[&str] = &["my", "his", "her", "our", "their"];
const EN_RELATION: &[&str] = &[
    "wife",
    "husband",
    "son",
    "daughter",
    "child",
    "children",
    "kid",
    "kids",
    "baby",
    "mother",
    "mom",
    "mum",
    "mommy",
    "father",
    "dad",
    "daddy",
    "parents",
    "parent",
    "brother",
    "sister",
    "grandmother",
    "grandma",
    "granny",
    "grandfather",
    "grandpa",
    "partner",
    "boyfriend",
    "girlfriend",
    "fiance",
    "fiancee",
    "friend",
    "colleague",
    "family",
    "uncle",
    "aunt",
    "cousin",
    "nephew",
    "niece",
    "spouse",
];
const RU_PRONOUN: &[&str] = &[
    "я", "меня", "мне", "мной", "мною", "он", "она", "его", "ее", "ему", "ей", "него", "нее",
    "нему", "ней", "ним", "нем", "сам", "сама",
];
const RU_POSSESSIVE: &[&str] = &[
    "мой",
    "моя",
    "мое",
    "мои",
    "моего",
    "моей",
    "моему",
    "моим",
    "моих",
    "моими",
    "мою",
    "моем",
];
const RU_RELATION: &[&str] = &[
    "муж",
    "мужа",
    "мужу",
    "мужем",
    "муже",
    "жена",
    "жены",
    "жене",
    "жену",
    "женой",
    "сын",
    "сына",
    "сыну",
    "сыном",
    "сыне",
    "дочь",
    "дочери",
    "дочерью",
    "дочка",
    "дочки",
    "дочке",
    "дочку",
    "ребенок",
    "ребенка",
    "ребенку",
    "ребенком",
    "дети",
    "детей",
    "детям",
    "детьми",
    "мама",
    "мамы",
    "маме",
    "маму",
    "мамой",
    "мать",
    "матери",
    "папа",
    "папы",
    "папе",
    "папу",
    "папой",
    "отец",
    "отца",
    "отцу",
    "брат",
    "брата",
    "брату",
    "сестра",
    "сестры",
    "сестре",
    "сестру",
    "бабушка",
    "бабушки",
    "бабушке",
    "дедушка",
    "дедушки",
    "дедушке",
    "друг",
    "друга",
    "другу",
    "подруга",
    "подруги",
    "подруге",
    "парень",
    "парня",
    "парню",
    "девушка",
    "девушки",
    "девушке",
    "родители",
    "родителей",
    "супруг",
    "супруга",
    "супруги",
    "супругу",
];
/// Topic markers: a cue separated from the term by one of these does not count.
const BLOCKERS: &[&str] = &[
    "buy",
    "buying",
    "order",
    "ordering",
    "purchase",
    "sell",
    "sells",
    "selling",
    "find",
    "search",
    "searching",
    "looking",
    "about",
    "regarding",
    "insurance",
    "product",
    "products",
    "article",
    "course",
    "info",
    "information",
    "shop",
    "store",
    "your",
    "you",
    "купить",
    "куплю",
    "заказать",
    "закажу",
    "приобрести",
    "найти",
    "ищу",
    "ищем",
    "продаете",
    "продаем",
    "продать",
    "про",
    "о",
    "об",
    "для",
    "курс",
    "информацию",
    "магазин",
    "вы",
    "вас",
    "вам",
];
const BLOCKER_PREFIXES: &[&str] = &["страхов", "товар", "стать", "ваш", "продукт"];
/// For biometric terms: the next word that makes it a product feature, not data.
const FEATURE_WORDS: &[&str] = &[
    "login",
    "log",
    "unlock",
    "sensor",
    "scanner",
    "reader",
    "authenti",
    "auth",
    "feature",
    "support",
    "access",
    "вход",
    "разблок",
    "сканер",
    "датчик",
    "авториз",
    "доступ",
];

fn is_blocker(word: &str) -> bool {
    BLOCKERS.contains(&word) || BLOCKER_PREFIXES.iter().any(|p| word.starts_with(p))
}

fn is_ru_relation_or_pronoun(word: &str) -> bool {
    RU_PRONOUN.contains(&word) || RU_RELATION.contains(&word)
}

/// Whether the English relative at `j` has an owner one or two words before ("my wife",
/// "my late husband").
fn is_owned_relative(tokens: &[Token], j: usize) -> bool {
    let clause = tokens[j].clause;
    (1..=2).any(|back| {
        j >= back
            && tokens[j - back].clause == clause
            && EN_RELATION_OWNER.contains(&tokens[j - back].norm.as_str())
    })
}

/// Whether a lexicon match spanning tokens `first..=last` is about a person.
fn has_personal_cue(tokens: &[Token], first: usize, last: usize) -> bool {
    let clause = tokens[first].clause;
    // Before the term.
    for j in (first.saturating_sub(5)..first).rev() {
        let t = &tokens[j];
        if t.clause != clause {
            break;
        }
        let w = t.norm.as_str();
        let distance = first - j;
        if EN_SUBJECT.contains(&w) || RU_PRONOUN.contains(&w) || RU_RELATION.contains(&w) {
            return true;
        }
        if (EN_POSSESSIVE.contains(&w) || RU_POSSESSIVE.contains(&w)) && distance <= 2 {
            return true;
        }
        if EN_RELATION.contains(&w) && is_owned_relative(tokens, j) {
            return true;
        }
        if is_blocker(w) {
            break;
        }
    }
    // After the term ("диабет у меня", "рак у мамы", "a scan of my face", "in my family").
    for j in last + 1..(last + 4).min(tokens.len()) {
        let t = &tokens[j];
        if t.clause != clause || is_blocker(&t.norm) {
            break;
        }
        let w = t.norm.as_str();
        if is_ru_relation_or_pronoun(w) && w != "его" && w != "ее" {
            return true;
        }
        if EN_RELATION_OWNER.contains(&w)
            && (tokens[j - 1].norm == "of"
                || tokens
                    .get(j + 1)
                    .is_some_and(|n| EN_RELATION.contains(&n.norm.as_str())))
        {
            return true;
        }
    }
    false
}

/// Idioms and product features that look like a category but are not.
fn is_excluded(
    category: SpecialCategory,
    matched: &str,
    previous: Option<&str>,
    next: Option<&str>,
) -> bool {
    let matched = matched.to_lowercase();
    if category == SpecialCategory::CriminalRecord && matched.starts_with("арест") {
        // "счёт арестовали", "арестовали карту": a frozen bank account, not a person.
        const ASSETS: [&str; 7] = [
            "сч",
            "карт",
            "имуществ",
            "средств",
            "деньг",
            "аккаунт",
            "вклад",
        ];
        return [previous, next]
            .into_iter()
            .flatten()
            .any(|w| ASSETS.iter().any(|a| w.starts_with(a)));
    }
    let Some(next) = next else { return false };
    match category {
        SpecialCategory::Health => {
            (matched == "sick" && matches!(next, "of" | "and"))
                || (matched.starts_with("боле") && next == "за")
                || (matched == "wheelchair" && matches!(next, "accessible" | "access" | "ramp"))
        }
        SpecialCategory::Biometric => FEATURE_WORDS.iter().any(|f| next.starts_with(f)),
        _ => false,
    }
}

fn detect_special(text: &str) -> Vec<Finding> {
    let mut out = Vec::new();
    let mut tokens: Option<Vec<Token>> = None;
    for rule in RULES.iter() {
        let mut push = |start: usize, end: usize| {
            out.push(Finding {
                kind: FindingKind::Special(rule.category),
                start,
                end,
            });
        };
        if let Some(direct) = &rule.direct {
            for (start, end, matched) in word_matches(direct, text) {
                let tokens = tokens.get_or_insert_with(|| tokenize(text));
                let at = tokens.partition_point(|t| t.start < end);
                let next = tokens.get(at).map(|t| t.norm.as_str());
                let first = tokens.partition_point(|t| t.end <= start);
                let previous = first.checked_sub(1).map(|i| tokens[i].norm.as_str());
                if !is_excluded(rule.category, matched, previous, next) {
                    push(start, end);
                }
            }
        }
        if let Some(terms) = &rule.terms {
            for (start, end, matched) in word_matches(terms, text) {
                let tokens = tokens.get_or_insert_with(|| tokenize(text));
                let first = tokens.partition_point(|t| t.end <= start);
                let last = tokens.partition_point(|t| t.start < end);
                if first >= last {
                    continue;
                }
                let next = tokens.get(last).map(|t| t.norm.as_str());
                let previous = first.checked_sub(1).map(|i| tokens[i].norm.as_str());
                if !is_excluded(rule.category, matched, previous, next)
                    && has_personal_cue(tokens, first, last - 1)
                {
                    push(start, end);
                }
            }
        }
    }
    out
}

// ---------------------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------------------

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::{BTreeMap, BTreeSet};

    fn labels(text: &str) -> Vec<String> {
        scan(text).warnings().iter().map(Warning::label).collect()
    }

    #[test]
    fn warning_json_shape() {
        let w = Warning::PersonalData {
            kind: PersonalDataKind::CardNumber,
        };
        assert_eq!(
            serde_json::to_string(&w).unwrap(),
            r#"{"code":"personal_data","kind":"card_number"}"#
        );
        let w = Warning::SpecialCategory {
            category: SpecialCategory::Health,
        };
        assert_eq!(
            serde_json::to_string(&w).unwrap(),
            r#"{"code":"special_category","category":"health"}"#
        );
        for kind in PersonalDataKind::ALL {
            assert_eq!(
                serde_json::to_string(&kind).unwrap(),
                format!("\"{}\"", kind.as_str())
            );
        }
        for c in SpecialCategory::ALL {
            assert_eq!(
                serde_json::to_string(&c).unwrap(),
                format!("\"{}\"", c.as_str())
            );
        }
        let back: Warning =
            serde_json::from_str(r#"{"code":"special_category","category":"sex_life"}"#).unwrap();
        assert_eq!(
            back,
            Warning::SpecialCategory {
                category: SpecialCategory::SexLife
            }
        );
    }

    #[test]
    fn warnings_are_deduplicated_in_canonical_order() {
        let text = "Card 4111 1111 1111 1111, mail a@b.com, c@d.org. I have diabetes and my wife is pregnant.";
        let w = scan(text).warnings();
        assert_eq!(
            w,
            vec![
                Warning::SpecialCategory {
                    category: SpecialCategory::Health
                },
                Warning::PersonalData {
                    kind: PersonalDataKind::Email
                },
                Warning::PersonalData {
                    kind: PersonalDataKind::CardNumber
                },
            ]
        );
    }

    #[test]
    fn luhn() {
        for ok in [
            "4111111111111111",
            "5500000000000004",
            "378282246310005",
            "2202201234567895",
            "4276380012345679",
            "0",
        ] {
            assert!(luhn_is_valid(ok), "{ok}");
        }
        for bad in ["4111111111111112", "1234567812345678", "", "41x1"] {
            assert!(!luhn_is_valid(bad), "{bad}");
        }
    }

    #[test]
    fn iban_checksum() {
        for ok in [
            "DE89 3704 0044 0532 0130 00",
            "GB29NWBK60161331926819",
            "FR14 2004 1010 0505 0001 3M02 606",
            "RU0204452560040702810412345678901",
            "gb82 west 1234 5698 7654 32",
        ] {
            assert!(iban_is_valid(ok), "{ok}");
        }
        for bad in [
            "DE89 3704 0044 0532 0130 01",
            "DE89 3704 0044 0532 0130",
            "XX00 0000 0000 0000",
            "",
        ] {
            assert!(!iban_is_valid(bad), "{bad}");
        }
    }

    #[test]
    fn snils_checksum() {
        assert!(snils_is_valid("112-233-445 95"));
        assert!(snils_is_valid("123-456-789 64"));
        assert!(snils_is_valid("08765432102"));
        assert!(!snils_is_valid("112-233-445 96"));
        assert!(!snils_is_valid("001-001-998 00"));
        assert!(!snils_is_valid("112-233-445"));
    }

    #[test]
    fn inn_checksum() {
        assert!(inn_is_valid("7707083893"));
        assert!(inn_is_valid("5401234566"));
        assert!(inn_is_valid("500100732259"));
        assert!(inn_is_valid("771234567859"));
        assert!(!inn_is_valid("7707083894"));
        assert!(!inn_is_valid("500100732258"));
        assert!(!inn_is_valid("12345"));
    }

    #[test]
    fn redaction() {
        assert_eq!(
            redact("Write to Ivan.Petrov@Example.com or call +7 (912) 345-67-89."),
            "Write to [EMAIL] or call [PHONE]."
        );
        assert_eq!(
            redact("Карта 4111 1111 1111 1111, IBAN DE89 3704 0044 0532 0130 00 thanks"),
            "Карта [CARD_NUMBER], IBAN [IBAN] thanks"
        );
        assert_eq!(
            redact("СНИЛС 112-233-445 95, ИНН 7707083893, паспорт 45 06 123456"),
            "СНИЛС [SNILS], ИНН [INN], паспорт [PASSPORT]"
        );
        assert_eq!(
            redact("passport number AB1234567, phone 8 912 345 67 89"),
            "passport number [PASSPORT], phone [PHONE]"
        );
        assert_eq!(
            redact("I have diabetes, order 12345, price 1 500 руб"),
            "I have diabetes, order 12345, price 1 500 руб"
        );
        assert_eq!(redact(""), "");
    }

    #[test]
    fn findings_have_byte_offsets() {
        let text = "Привет, ё-мейл: тест@почта.рф";
        let scan = scan(text);
        let (kind, f) = scan.personal_data().next().unwrap();
        assert_eq!(kind, PersonalDataKind::Email);
        assert_eq!(f.text(text), "тест@почта.рф");
        let text = "У меня диабет";
        let f = scan_first_special(text);
        assert_eq!(f.text(text), "диабет");
    }

    fn scan_first_special(text: &str) -> Finding {
        *scan(text)
            .findings
            .iter()
            .find(|f| matches!(f.kind, FindingKind::Special(_)))
            .expect("a special finding")
    }

    #[test]
    fn contact_extraction() {
        assert_eq!(
            find_emails("Mail: Ivan@Example.COM, ivan@example.com; other: o.k+tag@sub.mail.ru"),
            vec!["ivan@example.com", "o.k+tag@sub.mail.ru"]
        );
        assert_eq!(
            find_phones(
                "+7 (912) 345-67-89, 8 912 345 67 89, 89123456789, +44 20 7946 0958, +44 (0) 20 7946 0958"
            ),
            vec!["+79123456789", "+442079460958"]
        );
        assert_eq!(find_phones("мой номер 912 345-67-89"), vec!["+79123456789"]);
        assert_eq!(find_phones("call me at 020 7946 0958"), vec!["02079460958"]);
        assert_eq!(find_phones("8 (800) 555-35-35"), vec!["+78005553535"]);
        assert!(find_phones("order 12345, 12.05.2024, 2024-05-12, 1 500 000 руб").is_empty());
    }

    #[test]
    fn phones_and_their_negatives() {
        for text in [
            "+7 (912) 345-67-89",
            "8 912 345 67 89",
            "89123456789",
            "+44 20 7946 0958",
            "my number is 555-0199-22",
            "whatsapp: 0501234567",
            "+1 (415) 555-2671",
        ] {
            assert_eq!(labels(text), vec!["personal_data:phone"], "{text}");
        }
        for text in [
            "order 12345",
            "order number 89123456789",
            "номер заказа 1234567890",
            "12.05.2024",
            "2024-05-12",
            "it costs 1 500 000 руб",
            "price 89 990",
            "заказ №4523456789 не пришёл",
            "ticket 20240512",
            "In 2023 we sold 1500000 units",
            "v1234567890",
        ] {
            assert!(labels(text).is_empty(), "{text}: {:?}", labels(text));
        }
    }

    #[test]
    fn cards_ibans_and_documents() {
        assert_eq!(
            labels("4111 1111 1111 1111"),
            vec!["personal_data:card_number"]
        );
        assert_eq!(
            labels("4111-1111-1111-1111 exp 12/27"),
            vec!["personal_data:card_number"]
        );
        assert_eq!(
            labels("3782 822463 10005"),
            vec!["personal_data:card_number"]
        );
        assert!(labels("4111 1111 1111 1112").is_empty());
        assert!(labels("order 4111111111111111").is_empty());
        assert_eq!(
            labels("IBAN: DE89370400440532013000"),
            vec!["personal_data:iban"]
        );
        assert!(labels("DE89 3704 0044 0532 0130 01").is_empty());
        assert_eq!(labels("мой СНИЛС 11223344595"), vec!["personal_data:snils"]);
        assert!(labels("11223344595 штук").is_empty());
        assert_eq!(labels("ИНН 7707083893"), vec!["personal_data:inn"]);
        assert!(
            labels("7707083893")
                .iter()
                .all(|l| l != "personal_data:inn")
        );
        assert_eq!(labels("500100732259"), vec!["personal_data:inn"]);
        assert_eq!(
            labels("серия 4506 номер 123456"),
            vec!["personal_data:passport"]
        );
        assert_eq!(
            labels("My passport number is 533380006"),
            vec!["personal_data:passport"]
        );
        assert!(labels("Do I need a passport to pick up the order?").is_empty());
    }

    #[test]
    fn special_categories_need_a_person() {
        let cases: &[(&str, &[&str])] = &[
            ("I have diabetes", &["special_category:health"]),
            ("у меня диабет", &["special_category:health"]),
            ("my wife is pregnant", &["special_category:health"]),
            ("I am a Muslim", &["special_category:religious_belief"]),
            ("я член профсоюза", &["special_category:trade_union"]),
            ("I'm gay", &["special_category:sex_life"]),
            (
                "I was convicted in 2015",
                &["special_category:criminal_record"],
            ),
            (
                "my DNA test results came back",
                &["special_category:genetic"],
            ),
            (
                "can I send you the fingerprint of my thumb",
                &["special_category:biometric"],
            ),
            (
                "I voted for the Greens",
                &["special_category:political_opinion"],
            ),
            ("я татарин", &["special_category:ethnic_origin"]),
            ("do you sell health insurance?", &[]),
            ("do you have vegan options", &[]),
            ("I want to buy insurance for diabetes", &[]),
            ("I'm writing an article about depression", &[]),
            ("товары для диабетиков есть?", &[]),
            ("I'm sick of waiting", &[]),
            ("болею за Спартак", &[]),
            ("does your app support fingerprint login?", &[]),
            ("I'd like to enable fingerprint login", &[]),
            ("the European Union rules", &[]),
        ];
        for (text, expected) in cases {
            assert_eq!(labels(text), *expected, "{text}");
        }
    }

    /// Evaluates the detector on `data/pii_eval.tsv` (`expected<TAB>text`, expected being a
    /// comma-separated set of labels such as `personal_data:email,special_category:health`,
    /// or `-` for none). Prints precision and recall per label and micro-averaged, and
    /// separately for the corpus's second part, which was written after the rules were
    /// frozen and never used to tune them (precision 0.970, recall 0.842 on its 62
    /// messages; the first part was written together with the rules and is optimistic).
    ///
    /// Floors: micro precision ≥ 0.90 and recall ≥ 0.85. Precision is held higher because
    /// the API promises "no low-confidence flags": a wrong warning annoys every visitor who
    /// sees it, while a missed one still leaves the redaction of the identifiers that the
    /// validators are certain about. Recall below 100 % is expected from a rule set on free
    /// text (unusual phrasings of special categories); 0.85 catches regressions such as a
    /// broken pattern, which would drop a whole label to zero.
    #[test]
    fn pii_evaluation() {
        let corpus = include_str!("../data/pii_eval.tsv");
        let mut tp: BTreeMap<String, usize> = BTreeMap::new();
        let mut fp: BTreeMap<String, usize> = BTreeMap::new();
        let mut fn_: BTreeMap<String, usize> = BTreeMap::new();
        let mut messages = 0;
        let mut negatives = 0;
        // Tallies (tp, fp, fn) of the blind part of the corpus, reported separately.
        let mut in_blind_part = false;
        let mut blind = (0usize, 0usize, 0usize, 0usize);
        for line in corpus.lines() {
            if line.starts_with('#') {
                in_blind_part |= line.contains("(blind)");
                continue;
            }
            if line.trim().is_empty() {
                continue;
            }
            let (expected, text) = line
                .split_once('\t')
                .unwrap_or_else(|| panic!("malformed line {line:?}"));
            messages += 1;
            let expected: BTreeSet<String> = if expected == "-" {
                negatives += 1;
                BTreeSet::new()
            } else {
                expected.split(',').map(|s| s.trim().to_string()).collect()
            };
            for label in &expected {
                assert!(
                    label.starts_with("personal_data:") || label.starts_with("special_category:"),
                    "bad label {label:?}"
                );
            }
            let got: BTreeSet<String> = labels(text).into_iter().collect();
            if in_blind_part {
                blind.3 += 1;
            }
            for label in got.union(&expected) {
                let (bucket, blind_count) = match (got.contains(label), expected.contains(label)) {
                    (true, true) => (&mut tp, &mut blind.0),
                    (true, false) => (&mut fp, &mut blind.1),
                    _ => (&mut fn_, &mut blind.2),
                };
                *bucket.entry(label.clone()).or_default() += 1;
                if in_blind_part {
                    *blind_count += 1;
                }
            }
            if got != expected {
                println!("  mismatch: {text:?} expected {expected:?} got {got:?}");
            }
        }
        let all: BTreeSet<&String> = tp.keys().chain(fp.keys()).chain(fn_.keys()).collect();
        println!("pii evaluation: {messages} messages ({negatives} without any expected label)");
        let get = |m: &BTreeMap<String, usize>, k: &str| m.get(k).copied().unwrap_or(0);
        for label in &all {
            let (t, f, n) = (get(&tp, label), get(&fp, label), get(&fn_, label));
            let p = if t + f == 0 {
                1.0
            } else {
                t as f64 / (t + f) as f64
            };
            let r = if t + n == 0 {
                1.0
            } else {
                t as f64 / (t + n) as f64
            };
            println!(
                "  {label:<36} tp {t:>3} fp {f:>2} fn {n:>2}  precision {p:.3}  recall {r:.3}"
            );
        }
        let (t, f, n) = (
            tp.values().sum::<usize>(),
            fp.values().sum::<usize>(),
            fn_.values().sum::<usize>(),
        );
        let precision = t as f64 / (t + f) as f64;
        let recall = t as f64 / (t + n) as f64;
        println!(
            "  micro-averaged: tp {t} fp {f} fn {n}  precision {precision:.3}  recall {recall:.3}"
        );
        let (bt, bf, bn, bm) = blind;
        println!(
            "  blind part only ({bm} messages): tp {bt} fp {bf} fn {bn}  precision {:.3}  recall {:.3}",
            bt as f64 / (bt + bf).max(1) as f64,
            bt as f64 / (bt + bn).max(1) as f64
        );
        assert!(messages >= 80, "only {messages} messages");
        assert!(precision >= 0.90, "micro precision {precision:.3} < 0.90");
        assert!(recall >= 0.85, "micro recall {recall:.3} < 0.85");
    }
}
