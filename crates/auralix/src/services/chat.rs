//! The visitor's conversation: accepting a message, producing the reply, classifying.

use auralix_ai::{Language, Warning};
use auralix_core::Agent;
use auralix_store::{ConversationRecord, MessageRecord, StoreError};
use serde::Serialize;
use tokio::sync::mpsc;

use super::{
    answerer::{AnswerRequest, ReplyLanguage},
    events::LiveEvent,
    llm,
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
    let mut classifier = None;
    let (mut answer, tokens) = answer_visitor(
        state,
        agent,
        conversation,
        request,
        &deltas,
        &mut classifier,
    )
    .await?;
    drop(deltas);
    // Handoff triggers (A5): asking for a person, or one of the agent's own phrases.
    let lowered = text.to_lowercase();
    if super::answerer::wants_human(text)
        || agent
            .ai
            .handoff_keywords
            .iter()
            .any(|k| lowered.contains(k.as_str()))
    {
        answer.wants_human = true;
        answer.ask_contact = true;
    }
    let day = state.now().date().to_string();
    state
        .store
        .providers()
        .record_usage(
            &conversation.workspace_id,
            &agent.id,
            &day,
            tokens.0,
            tokens.1,
        )
        .await?;
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
    if status == "handoff" && conversation.status != "handoff" {
        let reason = if answer.wants_human {
            "visitor_asked"
        } else {
            "not_answered"
        };
        let data = serde_json::json!({"reason": reason, "message_id": message.id}).to_string();
        state
            .store
            .providers()
            .record_event(
                &conversation.workspace_id,
                &conversation.id,
                "handoff_requested",
                &data,
                state.now(),
            )
            .await?;
    }
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
    // After the offline classification is stored, so the model's answer lands last.
    if let Some((client, model)) = classifier {
        spawn_classification(
            state.clone(),
            agent.clone(),
            conversation.clone(),
            client,
            model,
        );
    }
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

/// Answers with the agent's language model when it has one, else (or when the model
/// fails before saying anything) with the built-in answerer. Returns the answer and the
/// tokens it used (input, output).
async fn answer_visitor(
    state: &AppState,
    agent: &Agent,
    conversation: &ConversationRecord,
    request: AnswerRequest<'_>,
    deltas: &mpsc::Sender<String>,
    classifier: &mut Option<llm::ModelClient>,
) -> Result<(super::answerer::Answer, (i64, i64)), StoreError> {
    let has_material = !request.passages.is_empty()
        || agent
            .instructions
            .as_deref()
            .is_some_and(|i| !i.trim().is_empty());
    let target = if has_material {
        llm::target(state, agent).await?
    } else {
        None
    };
    let Some((client, provider, model)) = target else {
        return Ok((state.answerer.answer(request, deltas).await, (0, 0)));
    };
    let system = llm::system_prompt(
        agent,
        request.passages,
        llm::language_name(request.language),
    );
    let turns = llm::history(state, agent, conversation).await?;
    let chat = llm::request(agent, model.clone(), system, turns);
    match llm::answer(client.as_ref(), chat, deltas).await {
        Ok(answer) => {
            let sources = sources_of(request.passages);
            classifier.replace((client, model));
            let tokens = (
                i64::from(answer.input_tokens),
                i64::from(answer.output_tokens),
            );
            let ask = !answer.knew;
            let sources = if answer.knew { sources } else { Vec::new() };
            Ok((
                super::answerer::Answer {
                    text: answer.text,
                    sources,
                    knew: answer.knew,
                    ask_contact: ask,
                    wants_human: false,
                },
                tokens,
            ))
        }
        Err((error, partial)) if !partial.trim().is_empty() => {
            tracing::warn!(provider_id = %provider.id, %error, "provider failed mid-answer; partial answer kept");
            let text = format!("{}…", partial.trim_end());
            Ok((
                super::answerer::Answer {
                    text,
                    sources: Vec::new(),
                    knew: true,
                    ask_contact: false,
                    wants_human: false,
                },
                (0, 0),
            ))
        }
        Err((error, _)) => {
            tracing::warn!(provider_id = %provider.id, %error, "provider failed; built-in answer given");
            Ok((state.answerer.answer(request, deltas).await, (0, 0)))
        }
    }
}

/// The documents behind the passages an LLM was given, once each.
fn sources_of(passages: &[auralix_store::ChunkHit]) -> Vec<auralix_store::Source> {
    let mut sources: Vec<auralix_store::Source> = Vec::new();
    for p in passages.iter().take(3) {
        if !sources.iter().any(|s| s.document_id == p.document_id) {
            let location = Some(p.heading_path.clone()).filter(|h| !h.is_empty());
            sources.push(auralix_store::Source {
                document_id: p.document_id.clone(),
                title: p.title.clone(),
                location,
            });
        }
    }
    sources
}

/// Classifies the conversation with the model in the background (A4); the offline
/// classification already stored stands when the model's JSON is not valid.
fn spawn_classification(
    state: AppState,
    agent: Agent,
    conversation: ConversationRecord,
    client: std::sync::Arc<dyn auralix_ai::llm::ChatProvider>,
    model: String,
) {
    tokio::spawn(async move {
        let Ok(texts) = state
            .store
            .conversations()
            .visitor_texts(
                &conversation.workspace_id,
                &conversation.id,
                CLASSIFY_WINDOW,
            )
            .await
        else {
            return;
        };
        let Some((intent, language, _score)) =
            llm::classify(client.as_ref(), &model, &agent, &texts.join("\n")).await
        else {
            tracing::info!(conversation_id = %conversation.id, "model classification invalid; offline result kept");
            return;
        };
        let conversations = state.store.conversations();
        if let Ok(current) = conversations
            .get(&conversation.workspace_id, &conversation.id)
            .await
        {
            let _ = conversations
                .update_state(
                    &current.workspace_id,
                    &current.id,
                    &current.status,
                    Some(&intent),
                    language.as_deref(),
                    current.unanswered,
                    current.last_message_at,
                )
                .await;
        }
    });
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
