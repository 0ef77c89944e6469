//! The consent a visitor gives when leaving contact details (W5, P5).
//!
//! The version is derived from the text itself, so changing a word yields a new version
//! and every stored record says exactly which wording the visitor agreed to.

use sha2::{Digest, Sha256};

use super::answerer::ReplyLanguage;

pub struct ConsentText {
    pub text: &'static str,
    pub version: String,
}

const EN: &str = "I agree that my contact details and this conversation are processed to answer my request, \
                  as described in the privacy policy. I can withdraw this consent at any time.";
const RU: &str = "Я согласен(на) на обработку моих контактных данных и этой переписки для ответа на мой запрос \
                  в соответствии с политикой конфиденциальности. Я могу отозвать согласие в любой момент.";

pub fn consent_text(language: ReplyLanguage) -> ConsentText {
    let text = match language {
        ReplyLanguage::En => EN,
        ReplyLanguage::Ru => RU,
    };
    let digest = hex::encode(Sha256::digest(text.as_bytes()));
    ConsentText {
        text,
        version: format!("c1-{}", &digest[..12]),
    }
}

/// The text a visitor agreed to, if `version` is a current one.
pub fn by_version(version: &str) -> Option<ConsentText> {
    [ReplyLanguage::En, ReplyLanguage::Ru]
        .into_iter()
        .map(consent_text)
        .find(|c| c.version == version)
}
