//! Offline AI helpers for Auralix: everything that must work without any external model.
//!
//! * [`intent`] — what a visitor wants (sales, support, complaint, partnership, job, spam,
//!   other): a multinomial naive Bayes classifier trained at first use from an embedded,
//!   labelled data set of English and Russian messages (PRODUCT A4).
//! * [`language`] — English, Russian or undetermined, from the script and stopwords.
//! * [`score`] — a transparent additive lead score, 0–100.
//! * [`pii`] — personal data (e-mail, phone, card, IBAN, passport, SNILS, INN) and special
//!   categories (health, beliefs, orientation, …) in visitor messages: warnings for the
//!   widget, redaction before a third-party model, and contact extraction for lead capture
//!   (PRODUCT A6).
//!
//! The crate is pure Rust, has no I/O outside the `llm` module and no `unsafe`, and keeps all its regular
//! expressions and the trained model in process-wide lazily initialised statics, so the
//! first call pays the set-up (about 0.1 s in a release build, mostly compiling regular
//! expressions; call [`warm_up`] at start-up to pay it there) and every later call only
//! work proportional to the message (tens of microseconds for a chat message).

pub mod intent;
pub mod language;
pub mod llm;
pub mod pii;
pub mod score;

pub use intent::{Intent, IntentClassifier, IntentPrediction, UnknownIntent, classify};
pub use language::{Language, UnknownLanguage, detect_language};
pub use pii::{
    Finding, FindingKind, PersonalDataKind, Scan, SpecialCategory, Warning, find_emails,
    find_phones, redact, scan,
};
pub use score::{LeadSignals, lead_score, mentions_budget_or_quantity};

/// Builds every lazily initialised model and regular expression now, so that the first
/// visitor message does not pay for it.
pub fn warm_up() {
    let _ = intent::IntentClassifier::builtin();
    let _ = pii::scan("warm up: a@b.co +7 912 345-67-89 4111 1111 1111 1111, I have diabetes");
    let _ = score::mentions_budget_or_quantity("10 units");
    let _ = language::detect_language("warm up");
}
