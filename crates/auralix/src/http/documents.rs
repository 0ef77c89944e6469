//! `/api/v1/agents/{id}/documents` and `/search`: the agent's knowledge base.

use auralix_knowledge::DocType;
use auralix_store::DocumentRecord;
use axum::{
    Json,
    extract::{FromRequest, Multipart, Path, RawQuery, Request, State},
    http::{StatusCode, header},
};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use time::OffsetDateTime;
use tokio::io::AsyncWriteExt;

use super::{
    auth::Auth,
    errors::{ApiError, ApiResult},
    extract::{ListPage, Page, parse_json},
};
use crate::{services::knowledge, state::AppState};

/// Per-agent quotas (K4).
pub const MAX_DOCUMENTS_PER_AGENT: i64 = 1_000;
pub const MAX_BYTES_PER_AGENT: i64 = 1024 * 1024 * 1024;
const MAX_TITLE_CHARS: usize = 200;
const MAX_TEXT_BYTES: usize = 5 * 1024 * 1024;

#[derive(Serialize)]
pub struct DocumentView {
    pub id: String,
    pub title: String,
    pub status: String,
    pub error: Option<String>,
    pub chunks: i64,
    pub kind: Option<String>,
    pub file_name: Option<String>,
    pub size_bytes: i64,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

impl From<DocumentRecord> for DocumentView {
    fn from(d: DocumentRecord) -> Self {
        Self {
            id: d.id,
            title: d.title,
            status: d.status,
            error: d.error,
            chunks: d.chunks,
            kind: d.kind,
            file_name: d.source_name,
            size_bytes: d.size_bytes,
            created_at: d.created_at,
            updated_at: d.updated_at,
        }
    }
}

#[derive(Deserialize)]
struct TextInput {
    title: Option<String>,
    text: Option<String>,
    question: Option<String>,
    answer: Option<String>,
}

fn title_of(raw: Option<&str>, fallback: &str) -> ApiResult<String> {
    let title = raw
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .unwrap_or(fallback)
        .to_owned();
    if title.chars().count() > MAX_TITLE_CHARS {
        return Err(ApiError::invalid_field(
            "title",
            format!("must be at most {MAX_TITLE_CHARS} characters"),
        ));
    }
    Ok(title)
}

/// A CSV cell, quoted.
fn csv_cell(s: &str) -> String {
    format!("\"{}\"", s.replace('"', "\"\""))
}

async fn check_quota(state: &AppState, auth: &Auth, agent_id: &str, adding: i64) -> ApiResult<()> {
    let (count, bytes) = state
        .store
        .knowledge()
        .usage(&auth.workspace_id, agent_id)
        .await?;
    if count >= MAX_DOCUMENTS_PER_AGENT {
        return Err(ApiError::invalid_field(
            "file",
            format!("this agent already has the maximum of {MAX_DOCUMENTS_PER_AGENT} documents"),
        ));
    }
    if bytes + adding > MAX_BYTES_PER_AGENT {
        return Err(ApiError::too_large(format!(
            "this agent's documents would exceed {} MiB in total",
            MAX_BYTES_PER_AGENT / 1024 / 1024
        )));
    }
    Ok(())
}

/// Multipart `file` (any supported type) or JSON `{title, text}` / `{title, question, answer}`.
pub async fn upload(
    State(state): State<AppState>,
    auth: Auth,
    Path(agent_id): Path<String>,
    request: Request,
) -> ApiResult<(StatusCode, Json<DocumentView>)> {
    state
        .store
        .agents()
        .get(&auth.workspace_id, &agent_id)
        .await?;
    auth.require_configure()?;
    let content_type = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let doc = if content_type.starts_with("multipart/form-data") {
        let multipart = Multipart::from_request(request, &state)
            .await
            .map_err(|e| ApiError::bad_request(e.body_text()))?;
        upload_file(&state, &auth, &agent_id, multipart).await?
    } else if content_type.starts_with("application/json") {
        let bytes = axum::body::to_bytes(request.into_body(), MAX_TEXT_BYTES)
            .await
            .map_err(|_| {
                ApiError::too_large(format!(
                    "a text document is limited to {} MiB",
                    MAX_TEXT_BYTES / 1024 / 1024
                ))
            })?;
        upload_text(&state, &auth, &agent_id, parse_json(&bytes)?).await?
    } else {
        return Err(ApiError::unsupported_media_type(
            "send multipart/form-data with a `file` field, or JSON {title, text}",
        ));
    };
    knowledge::enqueue_ingest(&state, &doc).await?;
    Ok((StatusCode::ACCEPTED, Json(doc.into())))
}

async fn upload_text(
    state: &AppState,
    auth: &Auth,
    agent_id: &str,
    input: TextInput,
) -> ApiResult<DocumentRecord> {
    let (title, name, body) = match (&input.text, &input.question, &input.answer) {
        (Some(text), None, None) if !text.trim().is_empty() => (
            title_of(input.title.as_deref(), "Text")?,
            "text.txt",
            text.clone(),
        ),
        (None, Some(q), Some(a)) if !q.trim().is_empty() && !a.trim().is_empty() => {
            // A Q&A pair becomes a one-row question,answer CSV: the Q&A path of extraction.
            (
                title_of(input.title.as_deref(), q)?,
                "qa.csv",
                format!("question,answer\n{},{}\n", csv_cell(q), csv_cell(a)),
            )
        }
        (None, Some(_), _) | (None, _, Some(_)) => {
            return Err(ApiError::invalid_field(
                if input.question.is_none() {
                    "question"
                } else {
                    "answer"
                },
                "must not be empty",
            ));
        }
        _ => return Err(ApiError::invalid_field("text", "must not be empty")),
    };
    check_quota(state, auth, agent_id, body.len() as i64).await?;
    let doc = state
        .store
        .knowledge()
        .create_document(
            &auth.workspace_id,
            agent_id,
            &title,
            Some(name),
            body.len() as i64,
            state.now(),
        )
        .await?;
    let path = knowledge::upload_path(state, &auth.workspace_id, &doc.id);
    write_all(&path, body.as_bytes()).await?;
    Ok(doc)
}

async fn write_all(path: &std::path::Path, bytes: &[u8]) -> ApiResult<()> {
    if let Some(dir) = path.parent() {
        tokio::fs::create_dir_all(dir)
            .await
            .map_err(ApiError::internal)?;
    }
    tokio::fs::write(path, bytes)
        .await
        .map_err(ApiError::internal)
}

/// The client's file name, for display only: no directories, no control characters.
fn display_name(raw: Option<&str>) -> Option<String> {
    let base = raw?.rsplit(['/', '\\']).next()?.trim();
    let clean: String = base.chars().filter(|c| !c.is_control()).take(200).collect();
    (!clean.is_empty()).then_some(clean)
}

async fn upload_file(
    state: &AppState,
    auth: &Auth,
    agent_id: &str,
    mut multipart: Multipart,
) -> ApiResult<DocumentRecord> {
    let limit = state.settings.max_upload_bytes;
    let mut title = None;
    while let Some(mut field) = multipart
        .next_field()
        .await
        .map_err(|e| ApiError::bad_request(e.body_text()))?
    {
        match field.name() {
            Some("title") => {
                title = Some(
                    field
                        .text()
                        .await
                        .map_err(|e| ApiError::bad_request(e.body_text()))?,
                )
            }
            Some("file") => {
                let name = display_name(field.file_name());
                let tmp = state
                    .settings
                    .data_dir
                    .join("uploads")
                    .join(format!("incoming-{}", auralix_core::new_id("up")));
                let written = stream_to_disk(&mut field, &tmp, limit).await;
                let size = match written {
                    Ok(size) => size,
                    Err(error) => {
                        let _ = tokio::fs::remove_file(&tmp).await;
                        return Err(error);
                    }
                };
                return finish_file(state, auth, agent_id, title.as_deref(), name, tmp, size).await;
            }
            _ => {}
        }
    }
    Err(ApiError::invalid_field(
        "file",
        "attach the document as the `file` field",
    ))
}

/// Writes the field to `path` chunk by chunk, refusing more than `limit` bytes.
async fn stream_to_disk(
    field: &mut axum::extract::multipart::Field<'_>,
    path: &std::path::Path,
    limit: usize,
) -> ApiResult<usize> {
    if let Some(dir) = path.parent() {
        tokio::fs::create_dir_all(dir)
            .await
            .map_err(ApiError::internal)?;
    }
    let mut file = tokio::fs::File::create(path)
        .await
        .map_err(ApiError::internal)?;
    let mut size = 0usize;
    while let Some(chunk) = field
        .chunk()
        .await
        .map_err(|e| ApiError::bad_request(e.body_text()))?
    {
        size += chunk.len();
        if size > limit {
            return Err(ApiError::too_large(format!(
                "a file may be at most {} MiB",
                limit / 1024 / 1024
            )));
        }
        file.write_all(&chunk).await.map_err(ApiError::internal)?;
    }
    file.flush().await.map_err(ApiError::internal)?;
    Ok(size)
}

async fn finish_file(
    state: &AppState,
    auth: &Auth,
    agent_id: &str,
    title: Option<&str>,
    name: Option<String>,
    tmp: std::path::PathBuf,
    size: usize,
) -> ApiResult<DocumentRecord> {
    let refuse = |error: ApiError| {
        let tmp = tmp.clone();
        async move {
            let _ = tokio::fs::remove_file(&tmp).await;
            Err(error)
        }
    };
    if size == 0 {
        return refuse(ApiError::invalid_field("file", "the file is empty")).await;
    }
    // The type is decided from the content (the head is enough to refuse what we cannot read).
    let mut head = vec![0u8; 64 * 1024];
    let n = {
        use tokio::io::AsyncReadExt;
        let mut file = tokio::fs::File::open(&tmp)
            .await
            .map_err(ApiError::internal)?;
        file.read(&mut head).await.map_err(ApiError::internal)?
    };
    let kind: DocType = match auralix_knowledge::detect(name.as_deref(), &head[..n]) {
        Ok(kind) => kind,
        Err(unsupported) => {
            return refuse(ApiError::unsupported_media_type(unsupported.reason)).await;
        }
    };
    if let Err(error) = check_quota(state, auth, agent_id, size as i64).await {
        return refuse(error).await;
    }
    let fallback = name
        .clone()
        .unwrap_or_else(|| format!("Document ({})", kind.as_str()));
    let title = match title_of(title, &fallback) {
        Ok(t) => t,
        Err(error) => return refuse(error).await,
    };
    let doc = state
        .store
        .knowledge()
        .create_document(
            &auth.workspace_id,
            agent_id,
            &title,
            name.as_deref(),
            size as i64,
            state.now(),
        )
        .await?;
    let path = knowledge::upload_path(state, &auth.workspace_id, &doc.id);
    if let Some(dir) = path.parent() {
        tokio::fs::create_dir_all(dir)
            .await
            .map_err(ApiError::internal)?;
    }
    tokio::fs::rename(&tmp, &path)
        .await
        .map_err(ApiError::internal)?;
    Ok(doc)
}

pub async fn list(
    State(state): State<AppState>,
    auth: Auth,
    Path(agent_id): Path<String>,
    page: Page,
) -> ApiResult<Json<ListPage<DocumentView>>> {
    state
        .store
        .agents()
        .get(&auth.workspace_id, &agent_id)
        .await?;
    let rows = state
        .store
        .knowledge()
        .documents(
            &auth.workspace_id,
            &agent_id,
            page.cursor.as_deref(),
            page.limit + 1,
        )
        .await?;
    let views = rows.into_iter().map(DocumentView::from).collect();
    Ok(Json(ListPage::from_rows(
        views,
        page.limit,
        |d: &DocumentView| d.id.clone(),
    )))
}

pub async fn get(
    State(state): State<AppState>,
    auth: Auth,
    Path((agent_id, id)): Path<(String, String)>,
) -> ApiResult<Json<DocumentView>> {
    Ok(Json(
        state
            .store
            .knowledge()
            .document(&auth.workspace_id, &agent_id, &id)
            .await?
            .into(),
    ))
}

pub async fn delete(
    State(state): State<AppState>,
    auth: Auth,
    Path((agent_id, id)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    state
        .store
        .knowledge()
        .document(&auth.workspace_id, &agent_id, &id)
        .await?;
    auth.require_configure()?;
    state
        .store
        .knowledge()
        .delete_document(&auth.workspace_id, &agent_id, &id)
        .await?;
    let _ = tokio::fs::remove_file(knowledge::upload_path(&state, &auth.workspace_id, &id)).await;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn reindex(
    State(state): State<AppState>,
    auth: Auth,
    Path((agent_id, id)): Path<(String, String)>,
) -> ApiResult<(StatusCode, Json<DocumentView>)> {
    let doc = state
        .store
        .knowledge()
        .document(&auth.workspace_id, &agent_id, &id)
        .await?;
    auth.require_configure()?;
    state.store.knowledge().reset(&doc, state.now()).await?;
    knowledge::enqueue_ingest(&state, &doc).await?;
    let doc = state
        .store
        .knowledge()
        .document(&auth.workspace_id, &agent_id, &id)
        .await?;
    Ok((StatusCode::ACCEPTED, Json(doc.into())))
}

pub async fn search(
    State(state): State<AppState>,
    auth: Auth,
    Path(agent_id): Path<String>,
    RawQuery(query): RawQuery,
) -> ApiResult<Json<Value>> {
    state
        .store
        .agents()
        .get(&auth.workspace_id, &agent_id)
        .await?;
    let pairs: Vec<(String, String)> =
        url::form_urlencoded::parse(query.as_deref().unwrap_or("").as_bytes())
            .into_owned()
            .collect();
    let get = |k: &str| {
        pairs
            .iter()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.clone())
    };
    let q = get("q").unwrap_or_default();
    if q.trim().is_empty() || q.chars().count() > 1_000 {
        return Err(ApiError::invalid_field("q", "must be 1 to 1000 characters"));
    }
    let limit = match get("limit") {
        None => 5,
        Some(l) => l
            .parse::<u32>()
            .ok()
            .filter(|n| (1..=50).contains(n))
            .ok_or_else(|| ApiError::invalid_field("limit", "must be 1 to 50"))?,
    };
    let hits = knowledge::retrieve(&state, &auth.workspace_id, &agent_id, &q, limit).await?;
    let items: Vec<Value> = hits
        .into_iter()
        .map(|h| {
            json!({"document_id": h.document_id, "title": h.title, "chunk_id": h.chunk_id, "text": h.text,
                   "score": h.score, "heading_path": h.heading_path, "page": h.page})
        })
        .collect();
    Ok(Json(json!({"items": items})))
}
