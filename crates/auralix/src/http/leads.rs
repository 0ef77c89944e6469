//! `/api/v1/leads`: list, filter, read, update, delete and export leads.

use std::sync::Arc;

use auralix_store::{LeadFilter, LeadRecord, Store};
use axum::{
    Json,
    extract::{Path, RawQuery, State},
    http::StatusCode,
    response::Response,
};
use serde::Serialize;
use serde_json::Value;
use time::{OffsetDateTime, format_description::well_known::Rfc3339};

use super::{
    auth::Auth,
    errors::{ApiError, ApiResult},
    export::{self, FetchPage, Format, Item},
    extract::{ApiJson, ListPage, Page},
};
use crate::state::AppState;

pub const STATUSES: [&str; 5] = ["new", "in_progress", "won", "lost", "spam"];
const MAX_NOTE_CHARS: usize = 4_000;

#[derive(Serialize)]
pub struct LeadView {
    pub id: String,
    pub name: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub status: String,
    pub intent: String,
    pub score: i64,
    pub agent_id: String,
    pub conversation_id: Option<String>,
    pub page_url: Option<String>,
    pub assignee_id: Option<String>,
    pub note: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

impl From<LeadRecord> for LeadView {
    fn from(l: LeadRecord) -> Self {
        Self {
            id: l.id,
            name: l.name,
            email: l.email,
            phone: l.phone,
            status: l.status,
            intent: l.intent,
            score: l.score,
            agent_id: l.agent_id,
            conversation_id: l.conversation_id,
            page_url: l.page_url,
            assignee_id: l.assignee_id,
            note: l.note,
            created_at: l.created_at,
            updated_at: l.updated_at,
        }
    }
}

fn timestamp(field: &str, raw: &str) -> ApiResult<OffsetDateTime> {
    OffsetDateTime::parse(raw, &Rfc3339).map_err(|_| {
        ApiError::invalid_field(
            field,
            "must be an RFC 3339 timestamp like 2026-01-31T00:00:00Z",
        )
    })
}

/// `?status=&agent_id=&q=&since=&until=`
pub fn lead_filter(query: Option<&str>) -> ApiResult<LeadFilter> {
    let mut filter = LeadFilter::default();
    for (key, value) in url::form_urlencoded::parse(query.unwrap_or("").as_bytes()) {
        if value.is_empty() {
            continue;
        }
        match key.as_ref() {
            "status" if STATUSES.contains(&value.as_ref()) => {
                filter.status = Some(value.into_owned())
            }
            "status" => {
                return Err(ApiError::invalid_field(
                    "status",
                    "must be one of new, in_progress, won, lost, spam",
                ));
            }
            "agent_id" => filter.agent_id = Some(value.into_owned()),
            "q" => {
                let q = value.trim().to_lowercase();
                // A query that is only a phone number searches its digits.
                let digits: String = q.chars().filter(char::is_ascii_digit).collect();
                let phoneish = !digits.is_empty()
                    && q.chars().all(|c| c.is_ascii_digit() || " +-()".contains(c));
                filter.q = Some(if phoneish { digits } else { q }).filter(|q| !q.is_empty());
            }
            "since" => filter.since = Some(timestamp("since", &value)?),
            "until" => filter.until = Some(timestamp("until", &value)?),
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
) -> ApiResult<Json<ListPage<LeadView>>> {
    let filter = lead_filter(query.as_deref())?;
    let rows = state
        .store
        .leads()
        .list(
            &auth.workspace_id,
            &filter,
            page.cursor.as_deref(),
            page.limit + 1,
        )
        .await?;
    let views = rows.into_iter().map(LeadView::from).collect();
    Ok(Json(ListPage::from_rows(
        views,
        page.limit,
        |l: &LeadView| l.id.clone(),
    )))
}

pub async fn get(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
) -> ApiResult<Json<LeadView>> {
    Ok(Json(
        state
            .store
            .leads()
            .get(&auth.workspace_id, &id)
            .await?
            .into(),
    ))
}

pub async fn update(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<serde_json::Map<String, Value>>,
) -> ApiResult<Json<LeadView>> {
    let mut lead = state.store.leads().get(&auth.workspace_id, &id).await?;
    let mut errors = auralix_core::ValidationErrors::new();
    match input.get("status") {
        None => {}
        Some(Value::String(s)) if STATUSES.contains(&s.as_str()) => lead.status = s.clone(),
        Some(_) => errors.add("status", "must be one of new, in_progress, won, lost, spam"),
    }
    match input.get("assignee_id") {
        None => {}
        Some(Value::Null) => lead.assignee_id = None,
        Some(Value::String(user))
            if state
                .store
                .leads()
                .is_member(&auth.workspace_id, user)
                .await? =>
        {
            lead.assignee_id = Some(user.clone());
        }
        Some(_) => errors.add(
            "assignee_id",
            "must be the id of a member of this workspace, or null",
        ),
    }
    match input.get("note") {
        None => {}
        Some(Value::Null) => lead.note = None,
        Some(Value::String(note)) if note.chars().count() <= MAX_NOTE_CHARS => {
            lead.note = Some(note.trim().to_owned()).filter(|n| !n.is_empty());
        }
        Some(_) => errors.add(
            "note",
            format!("must be text of at most {MAX_NOTE_CHARS} characters, or null"),
        ),
    }
    if !errors.is_empty() {
        return Err(errors.into());
    }
    lead.updated_at = state.now();
    state.store.leads().update(&lead).await?;
    Ok(Json(lead.into()))
}

pub async fn delete(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    state.store.leads().delete(&auth.workspace_id, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

const CSV_HEADER: [&str; 13] = [
    "id",
    "created_at",
    "name",
    "email",
    "phone",
    "status",
    "intent",
    "score",
    "agent_id",
    "conversation_id",
    "page_url",
    "assignee_id",
    "note",
];

fn export_item(lead: LeadRecord) -> Item {
    let created = lead.created_at.format(&Rfc3339).unwrap_or_default();
    let opt = |v: &Option<String>| v.clone().unwrap_or_default();
    let row = vec![
        lead.id.clone(),
        created,
        opt(&lead.name),
        opt(&lead.email),
        opt(&lead.phone),
        lead.status.clone(),
        lead.intent.clone(),
        lead.score.to_string(),
        lead.agent_id.clone(),
        opt(&lead.conversation_id),
        opt(&lead.page_url),
        opt(&lead.assignee_id),
        opt(&lead.note),
    ];
    let cursor = lead.id.clone();
    Item {
        json: serde_json::to_value(LeadView::from(lead)).unwrap_or_default(),
        rows: vec![row],
        cursor,
    }
}

pub async fn export(
    State(state): State<AppState>,
    auth: Auth,
    RawQuery(query): RawQuery,
) -> ApiResult<Response> {
    let format = Format::from_query(query.as_deref())?;
    let filter = Arc::new(lead_filter(query.as_deref())?);
    let store: Store = state.store.clone();
    let workspace_id = auth.workspace_id.clone();
    let fetch: FetchPage = Arc::new(move |cursor, limit| {
        let (store, workspace_id, filter) = (store.clone(), workspace_id.clone(), filter.clone());
        Box::pin(async move {
            let rows = store
                .leads()
                .list(&workspace_id, &filter, cursor.as_deref(), limit)
                .await?;
            Ok(rows.into_iter().map(export_item).collect())
        })
    });
    Ok(export::respond(format, "leads", &CSV_HEADER, fetch))
}
