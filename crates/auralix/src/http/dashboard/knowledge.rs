//! The agent's knowledge base: its documents, uploads, and a search to try retrieval.
//! Changes go through the JSON API's own handlers, so both paths check the same things.

use askama::Template;
use auralix_core::Agent;
use auralix_store::{ChunkHit, StoreError};
use axum::{
    Form,
    extract::{Path, RawQuery, Request, State},
    http::{HeaderMap, Method, StatusCode, header},
    response::{IntoResponse, Redirect, Response},
};

use super::{
    Chrome, DashboardSession, FormPairs, api_refusal, csrf_refusal, field, forbidden_role,
    load_agent, query_pairs, render, render_loaded, stamp, store_failure,
};
use crate::{
    i18n::{Lang, Texts},
    state::AppState,
};

/// Passages shown for a search on the page.
const SEARCH_LIMIT: u32 = 10;
/// The longest query the search API takes.
const MAX_QUERY_CHARS: usize = 1_000;
/// Every document an agent may have fits on the page.
const MAX_DOCUMENTS_SHOWN: u32 = crate::http::documents::MAX_DOCUMENTS_PER_AGENT as u32;
/// A pasted text may be 5 MiB; form encoding can triple non-ASCII bytes.
pub(super) const MAX_TEXT_FORM_BYTES: usize = 16 * 1024 * 1024;

/// `12.5 MB` in the page's language.
fn human_size(bytes: i64, t: &Texts, lang: &str) -> String {
    let mut value = bytes.max(0) as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < t.size_units.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    let shown = if unit == 0 || value >= 100.0 || value.fract() == 0.0 {
        format!("{value:.0}")
    } else {
        format!("{value:.1}")
    };
    let shown = if lang == "ru" {
        shown.replace('.', ",")
    } else {
        shown
    };
    format!("{shown} {}", t.size_units[unit])
}

/// A retrieval score with three significant digits (SQLite's BM25 can be tiny).
fn score_text(score: f64) -> String {
    if score >= 100.0 || score <= 0.0 || !score.is_finite() {
        return format!("{score:.0}");
    }
    let decimals = (2 - score.log10().floor() as i32).clamp(0, 9) as usize;
    format!("{score:.decimals$}")
}

/// A document type as the list names it.
fn kind_label(t: &Texts, kind: Option<&str>) -> String {
    match kind {
        None => String::new(),
        Some("text") => t.kind_text.to_owned(),
        Some("markdown") => "Markdown".to_owned(),
        Some(other) => other.to_uppercase(),
    }
}

struct DocumentRow {
    id: String,
    title: String,
    /// The uploaded file's name, when it says more than the title.
    file_name: String,
    kind: String,
    size: String,
    status: String,
    status_label: String,
    error: String,
    chunks: i64,
    when: String,
    when_iso: String,
}

impl DocumentRow {
    fn new(d: auralix_store::DocumentRecord, c: &Chrome) -> Self {
        let (when, when_iso) = stamp(d.created_at);
        let file_name = d
            .source_name
            .filter(|n| *n != d.title && n != "text.txt" && n != "qa.csv")
            .unwrap_or_default();
        Self {
            kind: kind_label(c.t, d.kind.as_deref()),
            size: human_size(d.size_bytes, c.t, c.lang),
            status_label: c.t.label(&d.status).to_owned(),
            error: d.error.unwrap_or_default(),
            chunks: d.chunks,
            status: d.status,
            title: d.title,
            id: d.id,
            file_name,
            when,
            when_iso,
        }
    }

    /// The empty row app.js fills in for a fresh upload.
    fn blank(c: &Chrome) -> Self {
        Self {
            id: String::new(),
            title: String::new(),
            file_name: String::new(),
            kind: String::new(),
            size: String::new(),
            status: "processing".to_owned(),
            status_label: c.t.label("processing").to_owned(),
            error: String::new(),
            chunks: 0,
            when: String::new(),
            when_iso: String::new(),
        }
    }
}

pub(super) struct PassageRow {
    pub(super) title: String,
    pub(super) heading_path: String,
    pub(super) page: Option<i64>,
    pub(super) score: String,
    pub(super) text: String,
}

impl PassageRow {
    pub(super) fn new(h: ChunkHit) -> Self {
        Self {
            title: h.title,
            heading_path: h.heading_path,
            page: h.page,
            score: score_text(h.score),
            text: h.text,
        }
    }
}

/// What the add-text and add-Q&A forms show: their values and the reason for a refusal.
#[derive(Default)]
struct DocumentForms {
    title: String,
    text: String,
    qa_title: String,
    question: String,
    answer: String,
    text_error: String,
    qa_error: String,
}

#[derive(Template)]
#[template(path = "documents.html")]
struct DocumentsPage {
    c: Chrome,
    agent: Agent,
    rows: Vec<DocumentRow>,
    /// One blank row, the pattern for rows added in the browser.
    blank: Vec<DocumentRow>,
    can_edit: bool,
    max_upload_bytes: usize,
    max_upload: String,
    notice: Option<&'static str>,
    forms: DocumentForms,
    q: String,
    /// `None` without a search; the passages found otherwise.
    passages: Option<Vec<PassageRow>>,
    search_error: Option<&'static str>,
}

async fn load_documents(
    state: &AppState,
    session: &DashboardSession,
    c: Chrome,
    agent_id: &str,
    query: &FormPairs,
) -> Result<DocumentsPage, StoreError> {
    let workspace_id = &session.auth.workspace_id;
    let agent = state.store.agents().get(workspace_id, agent_id).await?;
    let records = state
        .store
        .knowledge()
        .documents(workspace_id, agent_id, None, MAX_DOCUMENTS_SHOWN)
        .await?;
    // Newest first: ids sort by creation.
    let rows = records
        .into_iter()
        .rev()
        .map(|d| DocumentRow::new(d, &c))
        .collect();
    let q = field(query, "q").trim().to_owned();
    let (mut passages, mut search_error) = (None, None);
    if q.chars().count() > MAX_QUERY_CHARS {
        search_error = Some(c.t.query_too_long);
    } else if !q.is_empty() {
        let hits =
            crate::services::knowledge::retrieve(state, workspace_id, agent_id, &q, SEARCH_LIMIT)
                .await?;
        passages = Some(hits.into_iter().map(PassageRow::new).collect());
    }
    let notice = match field(query, "done") {
        "added" => Some(c.t.document_added),
        "deleted" => Some(c.t.document_deleted),
        "reindexed" => Some(c.t.reindex_started),
        _ => None,
    };
    let max_upload_bytes = state.settings.max_upload_bytes;
    Ok(DocumentsPage {
        blank: vec![DocumentRow::blank(&c)],
        max_upload: human_size(max_upload_bytes as i64, c.t, c.lang),
        can_edit: session.auth.role.can_configure(),
        c,
        agent,
        rows,
        max_upload_bytes,
        notice,
        forms: DocumentForms::default(),
        q,
        passages,
        search_error,
    })
}

pub(super) async fn documents_page(
    State(state): State<AppState>,
    headers: HeaderMap,
    session: DashboardSession,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
) -> Response {
    let c = Chrome::new(&headers, Some(&session)).at("agents");
    let query = query_pairs(query.as_deref());
    let loaded = load_documents(&state, &session, c, &id, &query).await;
    render_loaded(&headers, &session, loaded)
}

/// Which of the two small forms was posted.
#[derive(Clone, Copy, PartialEq)]
enum TextKind {
    Text,
    Qa,
}

impl DocumentForms {
    /// The same values with the reason the posted form was refused.
    fn refused(mut self, kind: TextKind, reason: String) -> Self {
        match kind {
            TextKind::Text => self.text_error = reason,
            TextKind::Qa => self.qa_error = reason,
        }
        self
    }
}

/// The posted form's values, and the first thing wrong with them (in the page's language).
fn document_forms(t: &Texts, kind: TextKind, form: &FormPairs) -> (DocumentForms, Option<String>) {
    let blank = |key: &str| field(form, key).trim().is_empty();
    let forms = match kind {
        TextKind::Text => DocumentForms {
            title: field(form, "title").to_owned(),
            text: field(form, "text").to_owned(),
            ..Default::default()
        },
        TextKind::Qa => DocumentForms {
            qa_title: field(form, "title").to_owned(),
            question: field(form, "question").to_owned(),
            answer: field(form, "answer").to_owned(),
            ..Default::default()
        },
    };
    let problem = match kind {
        TextKind::Text if blank("text") => Some(t.text_required),
        TextKind::Qa if blank("question") => Some(t.question_required),
        TextKind::Qa if blank("answer") => Some(t.answer_required),
        _ => None,
    };
    (forms, problem.map(str::to_owned))
}

/// The page again with the posted form and why it was refused.
async fn documents_form_again(
    state: &AppState,
    headers: &HeaderMap,
    session: &DashboardSession,
    agent_id: &str,
    forms: DocumentForms,
    status: StatusCode,
) -> Response {
    let c = Chrome::new(headers, Some(session)).at("agents");
    match load_documents(state, session, c, agent_id, &Vec::new()).await {
        Ok(page) => render(status, &DocumentsPage { forms, ..page }),
        Err(error) => store_failure(headers, session, error),
    }
}

pub(super) async fn add_text_document(
    state: State<AppState>,
    headers: HeaderMap,
    session: DashboardSession,
    id: Path<String>,
    Form(form): Form<FormPairs>,
) -> Response {
    add_document(state, headers, session, id, form, TextKind::Text).await
}

pub(super) async fn add_qa_document(
    state: State<AppState>,
    headers: HeaderMap,
    session: DashboardSession,
    id: Path<String>,
    Form(form): Form<FormPairs>,
) -> Response {
    add_document(state, headers, session, id, form, TextKind::Qa).await
}

/// Posts `{title, text}` or `{title, question, answer}` to the API's upload handler.
async fn add_document(
    State(state): State<AppState>,
    headers: HeaderMap,
    session: DashboardSession,
    Path(id): Path<String>,
    form: FormPairs,
    kind: TextKind,
) -> Response {
    if let Some(refused) = csrf_refusal(&headers, &session, &form) {
        return refused;
    }
    if let Err(refused) = load_agent(&state, &headers, &session, &id).await {
        return refused;
    }
    if let Some(refused) = forbidden_role(&headers, &session) {
        return refused;
    }
    let t = Lang::from_headers(&headers).texts();
    let (forms, problem) = document_forms(t, kind, &form);
    if let Some(reason) = problem {
        let status = StatusCode::UNPROCESSABLE_ENTITY;
        let forms = forms.refused(kind, reason);
        return documents_form_again(&state, &headers, &session, &id, forms, status).await;
    }
    let title = Some(field(&form, "title").trim()).filter(|t| !t.is_empty());
    let body = match kind {
        TextKind::Text => serde_json::json!({"title": title, "text": field(&form, "text")}),
        TextKind::Qa => serde_json::json!({
            "title": title,
            "question": field(&form, "question").trim(),
            "answer": field(&form, "answer").trim(),
        }),
    };
    let request = Request::builder()
        .method(Method::POST)
        .header(header::CONTENT_TYPE, "application/json")
        .body(axum::body::Body::from(body.to_string()));
    let Ok(request) = request else {
        return crate::http::errors::ApiError::internal("could not build the request")
            .into_response();
    };
    let uploaded = crate::http::documents::upload(
        State(state.clone()),
        session.auth.clone(),
        Path(id.clone()),
        request,
    )
    .await;
    match uploaded {
        Ok(_) => Redirect::to(&format!("/app/agents/{id}/documents?done=added#documents"))
            .into_response(),
        Err(error)
            if matches!(
                error.status(),
                StatusCode::UNPROCESSABLE_ENTITY | StatusCode::PAYLOAD_TOO_LARGE
            ) =>
        {
            let problem = error.problem();
            let reason = problem
                .errors
                .first()
                .map(|e| format!("{}: {}", e.field, e.message))
                .or(problem.detail)
                .unwrap_or_default();
            let forms = forms.refused(kind, reason);
            documents_form_again(&state, &headers, &session, &id, forms, error.status()).await
        }
        Err(error) => api_refusal(&headers, &session, error),
    }
}

/// Back to the list with the notice `done` names, or the API's refusal as a page.
fn document_changed<T>(
    headers: &HeaderMap,
    session: &DashboardSession,
    id: &str,
    changed: Result<T, crate::http::errors::ApiError>,
    done: &str,
) -> Response {
    match changed {
        Ok(_) => Redirect::to(&format!("/app/agents/{id}/documents?done={done}#documents"))
            .into_response(),
        Err(error) => api_refusal(headers, session, error),
    }
}

pub(super) async fn delete_document(
    State(state): State<AppState>,
    headers: HeaderMap,
    session: DashboardSession,
    Path((id, doc_id)): Path<(String, String)>,
    Form(form): Form<FormPairs>,
) -> Response {
    if let Some(refused) = csrf_refusal(&headers, &session, &form) {
        return refused;
    }
    let deleted = crate::http::documents::delete(
        State(state),
        session.auth.clone(),
        Path((id.clone(), doc_id)),
    )
    .await;
    document_changed(&headers, &session, &id, deleted, "deleted")
}

pub(super) async fn reindex_document(
    State(state): State<AppState>,
    headers: HeaderMap,
    session: DashboardSession,
    Path((id, doc_id)): Path<(String, String)>,
    Form(form): Form<FormPairs>,
) -> Response {
    if let Some(refused) = csrf_refusal(&headers, &session, &form) {
        return refused;
    }
    let reindexed = crate::http::documents::reindex(
        State(state),
        session.auth.clone(),
        Path((id.clone(), doc_id)),
    )
    .await;
    document_changed(&headers, &session, &id, reindexed, "reindexed")
}
