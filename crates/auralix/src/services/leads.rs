//! Contact capture (W5): turning contact details plus explicit consent into a lead.

use auralix_ai::LeadSignals;
use auralix_core::{Agent, EmailAddress, LeadField, PersonName, Phone, ValidationErrors, new_id};
use auralix_store::{ConsentRecord, ConversationRecord, LeadRecord, StoreError};
use serde::Deserialize;

use super::consent;
use crate::state::AppState;

/// The contact form as the widget posts it.
#[derive(Debug, Deserialize)]
pub struct ContactInput {
    pub name: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub consent: Option<bool>,
    pub consent_version: Option<String>,
}

/// Validated contact details with the consent text agreed to.
pub struct Contact {
    pub name: Option<PersonName>,
    pub email: Option<EmailAddress>,
    pub phone: Option<Phone>,
    pub consent: consent::ConsentText,
}

fn present(value: &Option<String>) -> Option<&str> {
    value.as_deref().map(str::trim).filter(|v| !v.is_empty())
}

impl Contact {
    /// Checks consent, the consent version, each field's form and the agent's required
    /// fields. Fields the agent does not ask for are ignored (data minimisation).
    pub fn parse(input: &ContactInput, agent: &Agent) -> Result<Self, ValidationErrors> {
        let mut errors = ValidationErrors::new();
        if input.consent != Some(true) {
            errors.add(
                "consent",
                "consent is required to pass your contact details on",
            );
        }
        let consent = match input.consent_version.as_deref() {
            None | Some("") => {
                errors.add("consent_version", "is required");
                None
            }
            Some(v) => {
                let found = consent::by_version(v);
                if found.is_none() {
                    errors.add(
                        "consent_version",
                        "is not the current consent text; reload the chat",
                    );
                }
                found
            }
        };
        let asks = |f: LeadField| agent.lead_capture.fields.contains(&f);
        let name = present(&input.name)
            .filter(|_| asks(LeadField::Name))
            .and_then(|v| errors.check("name", PersonName::parse(v)));
        let email = present(&input.email)
            .filter(|_| asks(LeadField::Email))
            .and_then(|v| errors.check("email", EmailAddress::parse(v)));
        let phone = present(&input.phone)
            .filter(|_| asks(LeadField::Phone))
            .and_then(|v| errors.check("phone", Phone::parse(v)));
        for required in &agent.lead_capture.required {
            let (field, given) = match required {
                LeadField::Name => ("name", present(&input.name).is_some()),
                LeadField::Email => ("email", present(&input.email).is_some()),
                LeadField::Phone => ("phone", present(&input.phone).is_some()),
            };
            if !given {
                errors.add(field, "is required");
            }
        }
        if errors.is_empty() && name.is_none() && email.is_none() && phone.is_none() {
            errors.add("email", "leave at least one way to reach you");
        }
        match consent {
            Some(consent) if errors.is_empty() => Ok(Self {
                name,
                email,
                phone,
                consent,
            }),
            _ => Err(errors),
        }
    }
}

/// Creates (or updates) the conversation's lead and stores the consent record with it.
/// Returns the lead id. The lead is committed before anything may try to deliver it.
pub async fn capture(
    state: &AppState,
    conversation: &ConversationRecord,
    contact: Contact,
    ip: Option<&str>,
) -> Result<String, StoreError> {
    let texts = state
        .store
        .conversations()
        .visitor_texts(&conversation.workspace_id, &conversation.id, 20)
        .await?;
    let joined = texts.join("\n");
    let prediction = auralix_ai::classify(&joined);
    let score = auralix_ai::lead_score(&LeadSignals {
        intent: prediction.intent,
        intent_confidence: prediction.confidence,
        has_email: contact.email.is_some(),
        has_phone: contact.phone.is_some(),
        has_name: contact.name.is_some(),
        visitor_messages: texts.len(),
        mentions_budget_or_quantity: auralix_ai::mentions_budget_or_quantity(&joined),
    });
    let now = state.now();
    let existing = state
        .store
        .leads()
        .for_conversation(&conversation.workspace_id, &conversation.id)
        .await?;
    let lead = match existing {
        Some(mut lead) => {
            // New details replace old ones; a field left empty keeps what was given before.
            lead.name = contact.name.map(|n| n.as_str().to_owned()).or(lead.name);
            lead.email = contact.email.map(|e| e.as_str().to_owned()).or(lead.email);
            lead.phone = contact.phone.map(|p| p.as_str().to_owned()).or(lead.phone);
            lead.intent = prediction.intent.as_str().to_owned();
            lead.score = i64::from(score);
            lead.updated_at = now;
            lead
        }
        None => LeadRecord {
            id: new_id("led"),
            workspace_id: conversation.workspace_id.clone(),
            agent_id: conversation.agent_id.clone(),
            conversation_id: Some(conversation.id.clone()),
            visitor_id: conversation.visitor_id.clone(),
            name: contact.name.map(|n| n.as_str().to_owned()),
            email: contact.email.map(|e| e.as_str().to_owned()),
            phone: contact.phone.map(|p| p.as_str().to_owned()),
            status: "new".to_owned(),
            intent: prediction.intent.as_str().to_owned(),
            score: i64::from(score),
            assignee_id: None,
            note: None,
            page_url: conversation.page_url.clone(),
            created_at: now,
            updated_at: now,
        },
    };
    state
        .store
        .leads()
        .save_with_consent(
            &lead,
            ConsentRecord {
                workspace_id: &conversation.workspace_id,
                agent_id: &conversation.agent_id,
                visitor_id: &conversation.visitor_id,
                conversation_id: &conversation.id,
                lead_id: &lead.id,
                consent_version: &contact.consent.version,
                consent_text: contact.consent.text,
                page_url: conversation.page_url.as_deref(),
                ip,
                now,
            },
        )
        .await?;
    tracing::info!(lead_id = %lead.id, workspace_id = %lead.workspace_id, "lead captured");
    Ok(lead.id)
}
