//! `/api/v1/conversations`: list, read (with messages), delete and export.

use std::sync::Arc;

use auralix_store::{ConversationFilter, ConversationRecord, Store};
use axum::{
    Json,
    extract::{Path, RawQuery, State},
    http::StatusCode,
    response::Response,
};
use serde::Serialize;
use serde_json::{Value, json};
use time::OffsetDateTime;

use super::{
    auth::Auth,
    errors::{ApiError, ApiResult},
    export::{self, FetchPage, Format, Item},
    extract::{ListPage, Page},
};
use crate::{services::chat::message_view, state::AppState};

const STATUSES: [&str; 3] = ["open", "handoff", "closed"];
/// Messages returned with one conversation.
const MAX_MESSAGES: u32 = 2_000;

#[derive(Serialize)]
pub struct VisitorView {
    pub id: String,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
}

#[derive(Serialize)]
pub struct ConversationView {
    pub id: String,
    pub agent_id: String,
    pub status: String,
    pub intent: Option<String>,
    pub language: Option<String>,
    pub visitor: VisitorView,
    pub page_url: Option<String>,
    pub referrer: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub last_message_at: OffsetDateTime,
}

impl From<ConversationRecord> for ConversationView {
    fn from(c: ConversationRecord) -> Self {
        Self {
            id: c.id,
            agent_id: c.agent_id,
            status: c.status,
            intent: c.intent,
            language: c.language,
            visitor: VisitorView {
                id: c.visitor_id,
                ip: c.ip,
                user_agent: c.user_agent,
            },
            page_url: c.page_url,
            referrer: c.referrer,
            created_at: c.created_at,
            last_message_at: c.last_message_at,
        }
    }
}

fn filter(query: Option<&str>) -> ApiResult<ConversationFilter> {
    let mut filter = ConversationFilter::default();
    for (key, value) in url::form_urlencoded::parse(query.unwrap_or("").as_bytes()) {
        match key.as_ref() {
            "agent_id" if !value.is_empty() => filter.agent_id = Some(value.into_owned()),
            "status" if STATUSES.contains(&value.as_ref()) => {
                filter.status = Some(value.into_owned())
            }
            "status" if !value.is_empty() => {
                return Err(ApiError::invalid_field(
                    "status",
                    "must be one of open, handoff, closed",
                ));
            }
            _ => {}
        }
    }
    Ok(filter)
}

pub async fn list(
    State(state): State<AppState>,
    auth: Auth,
    page: Page,
    RawQuery(query): RawQuery,
) -> ApiResult<Json<ListPage<ConversationView>>> {
    let filter = filter(query.as_deref())?;
    let rows = state
        .store
        .conversations()
        .list(
            &auth.workspace_id,
            &filter,
            page.cursor.as_deref(),
            page.limit + 1,
        )
        .await?;
    let views = rows.into_iter().map(ConversationView::from).collect();
    Ok(Json(ListPage::from_rows(
        views,
        page.limit,
        |c: &ConversationView| c.id.clone(),
    )))
}

async fn with_messages(store: &Store, conversation: ConversationRecord) -> ApiResult<Value> {
    let messages = store
        .conversations()
        .messages(
            &conversation.workspace_id,
            &conversation.id,
            None,
            MAX_MESSAGES,
        )
        .await?;
    let mut value = serde_json::to_value(ConversationView::from(conversation)).unwrap_or_default();
    value["messages"] = json!(messages.iter().map(message_view).collect::<Vec<_>>());
    Ok(value)
}

pub async fn get(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    let conversation = state
        .store
        .conversations()
        .get(&auth.workspace_id, &id)
        .await?;
    let mut value = with_messages(&state.store, conversation).await?;
    // What happened to the conversation besides messages (handoff requests, …).
    let events = state
        .store
        .providers()
        .events(&auth.workspace_id, &id)
        .await?;
    value["events"] = json!(events
        .into_iter()
        .map(|(kind, data)| json!({"kind": kind, "data": serde_json::from_str::<Value>(&data).unwrap_or(Value::Null)}))
        .collect::<Vec<_>>());
    Ok(Json(value))
}

pub async fn delete(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    state
        .store
        .conversations()
        .delete(&auth.workspace_id, &id)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

const CSV_HEADER: [&str; 11] = [
    "conversation_id",
    "agent_id",
    "status",
    "intent",
    "language",
    "page_url",
    "conversation_created_at",
    "message_id",
    "role",
    "text",
    "message_created_at",
];

/// CSV has one row per message; JSON and NDJSON one object per conversation.
fn csv_rows(conversation: &Value) -> Vec<Vec<String>> {
    let s = |v: &Value| v.as_str().unwrap_or("").to_owned();
    let head = [
        s(&conversation["id"]),
        s(&conversation["agent_id"]),
        s(&conversation["status"]),
        s(&conversation["intent"]),
        s(&conversation["language"]),
        s(&conversation["page_url"]),
        s(&conversation["created_at"]),
    ];
    let messages = conversation["messages"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    if messages.is_empty() {
        let mut row = head.to_vec();
        row.extend([String::new(), String::new(), String::new(), String::new()]);
        return vec![row];
    }
    messages
        .iter()
        .map(|m| {
            let mut row = head.to_vec();
            row.extend([
                s(&m["id"]),
                s(&m["role"]),
                s(&m["text"]),
                s(&m["created_at"]),
            ]);
            row
        })
        .collect()
}

pub async fn export(
    State(state): State<AppState>,
    auth: Auth,
    RawQuery(query): RawQuery,
) -> ApiResult<Response> {
    let format = Format::from_query(query.as_deref())?;
    let filter = Arc::new(filter(query.as_deref())?);
    let store = state.store.clone();
    let workspace_id = auth.workspace_id.clone();
    let fetch: FetchPage = Arc::new(move |cursor, limit| {
        let (store, workspace_id, filter) = (store.clone(), workspace_id.clone(), filter.clone());
        Box::pin(async move {
            let rows = store
                .conversations()
                .list(&workspace_id, &filter, cursor.as_deref(), limit)
                .await?;
            let mut items = Vec::with_capacity(rows.len());
            for conversation in rows {
                let cursor = conversation.id.clone();
                let json = with_messages(&store, conversation).await?;
                items.push(Item {
                    rows: csv_rows(&json),
                    json,
                    cursor,
                });
            }
            Ok(items)
        })
    });
    Ok(export::respond(format, "conversations", &CSV_HEADER, fetch))
}
