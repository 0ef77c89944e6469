//! Contact details a visitor leaves: phone numbers (the e-mail type lives in `account`).

use serde::Serialize;

/// A phone number in E.164 form (`+79123456789`).
///
/// Accepts what people type: spaces, dashes, dots and parentheses; a leading `+`; and the
/// Russian trunk prefix (`8 912 345-67-89` → `+79123456789`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct Phone(String);

impl Phone {
    pub fn parse(raw: &str) -> Result<Self, &'static str> {
        let raw = raw.trim();
        if raw.is_empty() {
            return Err("must not be empty");
        }
        if raw
            .chars()
            .any(|c| !(c.is_ascii_digit() || " -.()+".contains(c)))
            || raw.len() > 32
        {
            return Err("must be a phone number like +7 912 345-67-89");
        }
        let plus = raw.starts_with('+');
        if raw.rfind('+').is_some_and(|i| i > 0) {
            return Err("must be a phone number like +7 912 345-67-89");
        }
        let digits: String = raw.chars().filter(char::is_ascii_digit).collect();
        let e164 = match (plus, digits.len()) {
            (true, 8..=15) => format!("+{digits}"),
            (false, 11) if digits.starts_with('8') || digits.starts_with('7') => {
                format!("+7{}", &digits[1..])
            }
            _ => return Err("must be a phone number with its country code, like +7 912 345-67-89"),
        };
        Ok(Self(e164))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phones_normalise_to_e164() {
        for (raw, want) in [
            ("+7 (912) 345-67-89", "+79123456789"),
            ("8 912 345 67 89", "+79123456789"),
            ("89123456789", "+79123456789"),
            ("+44 20 7946 0958", "+442079460958"),
        ] {
            assert_eq!(Phone::parse(raw).unwrap().as_str(), want, "{raw}");
        }
        for bad in [
            "",
            "12345",
            "call me",
            "+1 2",
            "9123456789",
            "+7 912 345 67 89 ext 5",
            "7+9123456789",
        ] {
            assert!(Phone::parse(bad).is_err(), "{bad}");
        }
    }
}
