//! The visitor's conversation: accepting a message, producing the reply, classifying.

use auralix_ai::{Language, Warning};
use auralix_core::Agent;
use auralix_store::{ConversationRecord, MessageRecord, StoreError};
use serde::Serialize;
use tokio::sync::mpsc;

use super::{
    answerer::{AnswerRequest, ReplyLanguage},
    events::LiveEvent,
};
use crate::state::AppState;

/// How many of the visitor's latest messages classification looks at.
const CLASSIFY_WINDOW: u32 = 10;
/// Replies in a row that did not know before the conversation asks for a manager (A5).
const UNANSWERED_HANDOFF: i64 = 2;

/// Contact details recognised in a message, offered to prefill the contact form.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ContactHint {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
}

impl ContactHint {
    pub fn from_text(text: &str) -> Self {
        Self {
            email: auralix_ai::find_emails(text).into_iter().next(),
            phone: auralix_ai::find_phones(text).into_iter().next(),
        }
    }
    pub fn is_empty(&self) -> bool {
        self.email.is_none() && self.phone.is_none()
    }
}

/// The reply as the widget receives it.
#[derive(Debug, Clone)]
pub struct ReplyOutcome {
    pub message: MessageRecord,
    pub ask_contact: bool,
    pub contact_prefill: ContactHint,
    pub status: String,
}

/// Stores the visitor's message; returns it with the warnings about what it contains.
pub async fn accept(
    state: &AppState,
    conversation: &ConversationRecord,
    text: &str,
) -> Result<(MessageRecord, Vec<Warning>), StoreError> {
    let warnings = auralix_ai::scan(text).warnings();
    let message = state
        .store
        .conversations()
        .add_message(
            &conversation.workspace_id,
            &conversation.id,
            "visitor",
            text,
            &[],
            state.now(),
        )
        .await?;
    Ok((message, warnings))
}

/// The language to answer in: the visitor's, else the agent's, else English.
pub fn reply_language(detected: Language, agent: &Agent, locale: Option<&str>) -> ReplyLanguage {
    match detected.code() {
        "ru" => ReplyLanguage::Ru,
        "en" => ReplyLanguage::En,
        _ => match agent.language.as_deref().or(locale) {
            Some(l) if l.starts_with("ru") => ReplyLanguage::Ru,
            _ => ReplyLanguage::En,
        },
    }
}

/// Answers the visitor's latest message, streaming pieces into `deltas`; stores the reply
/// and the conversation's new classification and status.
pub async fn reply(
    state: &AppState,
    agent: &Agent,
    conversation: &ConversationRecord,
    text: &str,
    deltas: mpsc::Sender<String>,
) -> Result<ReplyOutcome, StoreError> {
    let conversations = state.store.conversations();
    let history = conversations
        .visitor_texts(
            &conversation.workspace_id,
            &conversation.id,
            CLASSIFY_WINDOW,
        )
        .await?;
    let joined = history.join("\n");
    let intent = auralix_ai::classify(&joined).intent;
    let detected = auralix_ai::detect_language(&joined);
    let hint = ContactHint::from_text(text);
    let language = reply_language(
        auralix_ai::detect_language(text),
        agent,
        agent.language.as_deref(),
    );
    let passages =
        super::knowledge::retrieve(state, &conversation.workspace_id, &agent.id, text, 5).await?;
    let request = AnswerRequest {
        agent,
        question: text,
        language,
        contacts_in_text: !hint.is_empty(),
        passages: &passages,
    };
    let answer = state.answerer.answer(request, &deltas).await;
    drop(deltas);
    let message = conversations
        .add_message(
            &conversation.workspace_id,
            &conversation.id,
            "assistant",
            &answer.text,
            &answer.sources,
            state.now(),
        )
        .await?;
    let unanswered = if answer.knew {
        0
    } else {
        conversation.unanswered + 1
    };
    let status = if conversation.status == "open"
        && (answer.wants_human || unanswered >= UNANSWERED_HANDOFF)
    {
        "handoff"
    } else {
        conversation.status.as_str()
    };
    let language_code = (detected.code() != "und").then_some(detected.code());
    conversations
        .update_state(
            &conversation.workspace_id,
            &conversation.id,
            status,
            Some(intent.as_str()),
            language_code,
            unanswered,
            state.now(),
        )
        .await?;
    let outcome = ReplyOutcome {
        message,
        ask_contact: answer.ask_contact,
        contact_prefill: hint,
        status: status.to_owned(),
    };
    state.events.publish(
        &conversation.id,
        LiveEvent {
            name: "message",
            data: serde_json::to_value(message_view(&outcome.message)).unwrap_or_default(),
        },
    );
    if status != conversation.status {
        state.events.publish(
            &conversation.id,
            LiveEvent {
                name: "status",
                data: serde_json::json!({"status": status}),
            },
        );
    }
    Ok(outcome)
}

/// A message as the API shows it.
#[derive(Debug, Clone, Serialize)]
pub struct MessageView {
    pub id: String,
    pub role: String,
    pub text: String,
    pub sources: Vec<auralix_store::Source>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: time::OffsetDateTime,
}

pub fn message_view(m: &MessageRecord) -> MessageView {
    MessageView {
        id: m.id.clone(),
        role: m.role.clone(),
        text: m.text.clone(),
        sources: m.sources.0.clone(),
        created_at: m.created_at,
    }
}
