//! Lead scoring: how promising a conversation is for the business, 0–100 (PRODUCT A4).
//!
//! # Design
//!
//! The score is a transparent additive model so that an operator can explain any number it
//! produces. Points come from five groups of signals; the total is clamped to 100.
//!
//! | signal | points | why |
//! |---|---|---|
//! | intent `sales` | 40 | someone asking about prices, plans, delivery is the best lead |
//! | intent `partnership` | 35 | resellers and partners bring revenue, but a longer cycle |
//! | intent `support` | 15 | an existing customer: upsell potential, not a new sale |
//! | intent `other` | 10 | unknown; a greeting may still turn into a sale |
//! | intent `complaint` | 8 | worth saving, rarely a new sale |
//! | intent `job` | 5 | a candidate, not a customer |
//! | intent `spam` | — | the score is 0 whatever the other signals say |
//! | phone left | +20 | the strongest buying signal: they want a call |
//! | e-mail left | +15 | reachable |
//! | name given | +5 | engaged enough to introduce themselves |
//! | budget or quantity mentioned | +10 for sales/partnership, +3 otherwise | a concrete need |
//! | engagement | +2 per visitor message after the first, at most +10 | a real conversation |
//!
//! The intent points are scaled by the classifier's confidence, from 50 % of the weight at
//! confidence 0 to 100 % at confidence 1, so that a doubtful "sales" guess counts less than
//! a certain one but never less than half (the other signals still matter). A certain sales
//! inquiry with a phone, an e-mail, a name, a stated quantity and six messages reaches 100.
//!
//! [`mentions_budget_or_quantity`] is a helper to fill the corresponding signal from the
//! visitor's text (currencies, "budget", "N units/licences/people", Russian equivalents).

use crate::intent::Intent;
use regex::Regex;
use serde::{Deserialize, Serialize};
use std::sync::LazyLock;

/// What is known about a conversation when it is scored.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct LeadSignals {
    /// The conversation's intent.
    pub intent: Intent,
    /// The classifier's confidence in `intent`, `0.0..=1.0`.
    pub intent_confidence: f32,
    /// The visitor left an e-mail address.
    pub has_email: bool,
    /// The visitor left a phone number.
    pub has_phone: bool,
    /// The visitor gave their name.
    pub has_name: bool,
    /// How many messages the visitor sent.
    pub visitor_messages: usize,
    /// The visitor named a budget, a price they expect or a quantity.
    pub mentions_budget_or_quantity: bool,
}

/// Points for the intent before confidence scaling.
fn intent_weight(intent: Intent) -> f32 {
    match intent {
        Intent::Sales => 40.0,
        Intent::Partnership => 35.0,
        Intent::Support => 15.0,
        Intent::Other => 10.0,
        Intent::Complaint => 8.0,
        Intent::Job => 5.0,
        Intent::Spam => 0.0,
    }
}

/// Scores a lead from 0 (worthless or spam) to 100 (hot). See the module documentation for
/// the weights.
pub fn lead_score(signals: &LeadSignals) -> u8 {
    if signals.intent == Intent::Spam {
        return 0;
    }
    let confidence = if signals.intent_confidence.is_finite() {
        signals.intent_confidence.clamp(0.0, 1.0)
    } else {
        0.0
    };
    let mut score = intent_weight(signals.intent) * (0.5 + 0.5 * confidence);
    if signals.has_phone {
        score += 20.0;
    }
    if signals.has_email {
        score += 15.0;
    }
    if signals.has_name {
        score += 5.0;
    }
    if signals.mentions_budget_or_quantity {
        score += match signals.intent {
            Intent::Sales | Intent::Partnership => 10.0,
            _ => 3.0,
        };
    }
    let extra_messages = signals.visitor_messages.saturating_sub(1).min(5);
    score += 2.0 * extra_messages as f32;
    score.round().clamp(0.0, 100.0) as u8
}

static BUDGET: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?xi)
        [$€£₽¥]\s*\d
      | \d[\d\s.,]*\s*(?:[$€£₽¥]|k\b|usd\b|eur\b|euros?\b|dollars?\b|rub\b|руб|тыс|млн|mln\b|million)
      | \b(?:budget|бюджет)
      | \b\d+\s*(?:pcs|pieces|units|items|licen[cs]es|seats|users|people|persons|employees|
            boxes|pallets|tons|kg|шт|штук|единиц|лицензи|мест|пользовател|человек|сотрудник|
            коробок|паллет|тонн|кг)
      | \b(?:wholesale|bulk|оптом|опт)\b
        ",
    )
    .expect("budget regex")
});

/// Whether a message names a budget, an amount of money or a quantity ("budget is 2k",
/// "50 licences", "до 100 тыс руб", "нужно 200 штук").
pub fn mentions_budget_or_quantity(text: &str) -> bool {
    BUDGET.is_match(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn signals(intent: Intent) -> LeadSignals {
        LeadSignals {
            intent,
            intent_confidence: 0.9,
            has_email: false,
            has_phone: false,
            has_name: false,
            visitor_messages: 1,
            mentions_budget_or_quantity: false,
        }
    }

    #[test]
    fn ordering() {
        let sales_with_phone = lead_score(&LeadSignals {
            has_phone: true,
            ..signals(Intent::Sales)
        });
        let support_without_contacts = lead_score(&signals(Intent::Support));
        let spam_with_everything = lead_score(&LeadSignals {
            has_phone: true,
            has_email: true,
            has_name: true,
            visitor_messages: 10,
            mentions_budget_or_quantity: true,
            intent_confidence: 1.0,
            ..signals(Intent::Spam)
        });
        assert!(sales_with_phone > support_without_contacts);
        assert!(support_without_contacts > 0);
        assert_eq!(spam_with_everything, 0);
        assert!(lead_score(&signals(Intent::Sales)) > lead_score(&signals(Intent::Job)));
        assert!(
            lead_score(&signals(Intent::Partnership)) > lead_score(&signals(Intent::Complaint))
        );
    }

    #[test]
    fn bounds_and_monotonicity() {
        let hot = LeadSignals {
            intent: Intent::Sales,
            intent_confidence: 1.0,
            has_email: true,
            has_phone: true,
            has_name: true,
            visitor_messages: 6,
            mentions_budget_or_quantity: true,
        };
        assert_eq!(lead_score(&hot), 100);
        assert_eq!(
            lead_score(&LeadSignals {
                visitor_messages: 1000,
                ..hot
            }),
            100
        );
        let base = signals(Intent::Sales);
        let more = [
            LeadSignals {
                has_email: true,
                ..base
            },
            LeadSignals {
                has_name: true,
                ..base
            },
            LeadSignals {
                visitor_messages: 3,
                ..base
            },
            LeadSignals {
                mentions_budget_or_quantity: true,
                ..base
            },
            LeadSignals {
                intent_confidence: 1.0,
                ..base
            },
        ];
        for m in more {
            assert!(lead_score(&m) > lead_score(&base), "{m:?}");
        }
        for weird in [f32::NAN, -1.0, 7.0] {
            let s = lead_score(&LeadSignals {
                intent_confidence: weird,
                ..base
            });
            assert!(s <= 100);
        }
        assert_eq!(
            lead_score(&LeadSignals {
                visitor_messages: 0,
                intent_confidence: 0.0,
                ..signals(Intent::Job)
            }),
            3
        );
    }

    #[test]
    fn budget_detection() {
        for text in [
            "our budget is around 2k",
            "I need 50 licenses",
            "нужно 200 штук",
            "бюджет до 100 тыс",
            "can you do it for $500?",
            "готовы заплатить 30 000 ₽",
            "wholesale prices please",
            "на 15 человек",
        ] {
            assert!(mentions_budget_or_quantity(text), "{text}");
        }
        for text in [
            "hello",
            "how do I reset my password",
            "заказ 12345 не пришёл",
        ] {
            assert!(!mentions_budget_or_quantity(text), "{text}");
        }
    }
}
