//! `/api/v1/providers`: the workspace's language-model providers. API keys are sealed
//! before they are stored and never returned; `api_key_hint` shows the last 4 characters.

use std::time::Instant;

use auralix_ai::llm::{ChatMessage, ChatRequest};
use auralix_core::ValidationErrors;
use auralix_store::ProviderRecord;
use axum::{
    Json,
    extract::{Path, State},
    http::StatusCode,
};
use serde::Serialize;
use serde_json::{Map, Value, json};
use time::OffsetDateTime;

use super::{
    auth::Auth,
    errors::{ApiError, ApiResult},
    extract::ApiJson,
};
use crate::{services::llm, state::AppState};

#[derive(Serialize)]
pub struct ProviderView {
    pub id: String,
    pub kind: String,
    pub name: String,
    pub base_url: Option<String>,
    pub default_model: Option<String>,
    pub embedding_model: Option<String>,
    pub api_key_hint: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

impl From<ProviderRecord> for ProviderView {
    fn from(p: ProviderRecord) -> Self {
        Self {
            id: p.id,
            kind: p.kind,
            name: p.name,
            base_url: p.base_url,
            default_model: p.default_model,
            embedding_model: p.embedding_model,
            api_key_hint: p.api_key_hint,
            created_at: p.created_at,
            updated_at: p.updated_at,
        }
    }
}

/// `…3456`: enough to recognise a key, too little to use it.
fn hint(key: &str) -> String {
    let chars: Vec<char> = key.chars().collect();
    if chars.len() < 8 {
        "…".to_owned()
    } else {
        format!("…{}", chars[chars.len() - 4..].iter().collect::<String>())
    }
}

fn optional_string(
    errors: &mut ValidationErrors,
    body: &Map<String, Value>,
    field: &str,
    max: usize,
) -> Option<Option<String>> {
    match body.get(field) {
        None => None,
        Some(Value::Null) => Some(None),
        Some(Value::String(s)) if s.trim().is_empty() => Some(None),
        Some(Value::String(s)) if s.chars().count() <= max && !s.chars().any(char::is_control) => {
            Some(Some(s.trim().to_owned()))
        }
        Some(_) => {
            errors.add(
                field,
                format!("must be text of at most {max} characters, or null"),
            );
            None
        }
    }
}

fn base_url(errors: &mut ValidationErrors, raw: Option<Option<String>>) -> Option<Option<String>> {
    match raw {
        Some(Some(url)) => match url::Url::parse(&url) {
            Ok(u) if matches!(u.scheme(), "http" | "https") && u.host_str().is_some() => {
                Some(Some(url.trim_end_matches('/').to_owned()))
            }
            _ => {
                errors.add(
                    "base_url",
                    "must be an http(s) URL like https://api.openai.com/v1",
                );
                None
            }
        },
        other => other,
    }
}

/// Applies a create or patch body onto `p`; the key is sealed for this very row.
fn apply(
    state: &AppState,
    p: &mut ProviderRecord,
    body: &Map<String, Value>,
    creating: bool,
) -> ApiResult<()> {
    let mut errors = ValidationErrors::new();
    if creating {
        match body.get("kind").and_then(Value::as_str) {
            Some(kind @ ("openai" | "anthropic")) => p.kind = kind.to_owned(),
            _ => errors.add("kind", "must be openai or anthropic"),
        }
    }
    match optional_string(&mut errors, body, "name", 100) {
        Some(Some(name)) => p.name = name,
        Some(None) => errors.add("name", "must not be empty"),
        None if creating && p.name.is_empty() => errors.add("name", "is required"),
        None => {}
    }
    let raw_url = optional_string(&mut errors, body, "base_url", 2048);
    if let Some(url) = base_url(&mut errors, raw_url) {
        p.base_url = url;
    }
    if let Some(model) = optional_string(&mut errors, body, "default_model", 200) {
        p.default_model = model;
    }
    if let Some(model) = optional_string(&mut errors, body, "embedding_model", 200) {
        p.embedding_model = model;
    }
    if let Some(key) = optional_string(&mut errors, body, "api_key", 1000) {
        p.api_key_hint = key.as_deref().map(hint);
        p.api_key_sealed = key.map(|k| {
            state
                .secrets
                .seal(&k, &llm::key_context(&p.workspace_id, &p.id))
        });
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors.into())
    }
}

pub async fn create(
    State(state): State<AppState>,
    auth: Auth,
    ApiJson(body): ApiJson<Map<String, Value>>,
) -> ApiResult<(StatusCode, Json<ProviderView>)> {
    auth.require_configure()?;
    let now = state.now();
    let mut provider = ProviderRecord {
        id: auralix_store::Providers::new_id(),
        workspace_id: auth.workspace_id.clone(),
        kind: String::new(),
        name: String::new(),
        base_url: None,
        api_key_sealed: None,
        api_key_hint: None,
        default_model: None,
        embedding_model: None,
        created_at: now,
        updated_at: now,
    };
    apply(&state, &mut provider, &body, true)?;
    state.store.providers().save(&provider).await?;
    tracing::info!(provider_id = %provider.id, workspace_id = %auth.workspace_id, kind = %provider.kind, "provider added");
    Ok((StatusCode::CREATED, Json(provider.into())))
}

pub async fn list(State(state): State<AppState>, auth: Auth) -> ApiResult<Json<Value>> {
    let items: Vec<ProviderView> = state
        .store
        .providers()
        .list(&auth.workspace_id)
        .await?
        .into_iter()
        .map(Into::into)
        .collect();
    Ok(Json(json!({"items": items, "next_cursor": null})))
}

pub async fn get(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
) -> ApiResult<Json<ProviderView>> {
    Ok(Json(
        state
            .store
            .providers()
            .get(&auth.workspace_id, &id)
            .await?
            .into(),
    ))
}

pub async fn update(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<Map<String, Value>>,
) -> ApiResult<Json<ProviderView>> {
    let mut provider = state.store.providers().get(&auth.workspace_id, &id).await?;
    auth.require_configure()?;
    apply(&state, &mut provider, &body, false)?;
    provider.updated_at = state.now();
    state.store.providers().save(&provider).await?;
    Ok(Json(provider.into()))
}

pub async fn delete(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    state.store.providers().get(&auth.workspace_id, &id).await?;
    auth.require_configure()?;
    state
        .store
        .providers()
        .delete(&auth.workspace_id, &id)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Sends a tiny request to check the key and the model; the answer says how it went.
pub async fn test(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    let provider = state.store.providers().get(&auth.workspace_id, &id).await?;
    auth.require_configure()?;
    let Some(model) = provider.default_model.clone() else {
        return Err(ApiError::invalid_field(
            "default_model",
            "set a default model to test the provider",
        ));
    };
    let client = llm::chat_client(&state, &provider)
        .map_err(|e| ApiError::invalid_field("base_url", e.to_string()))?;
    let started = Instant::now();
    let request = ChatRequest {
        model: model.clone(),
        system: "Reply with the single word: ok".to_owned(),
        messages: vec![ChatMessage::user("ping")],
        temperature: Some(0.0),
        max_tokens: Some(5),
    };
    let result = client.complete(&request).await;
    let latency_ms = started.elapsed().as_millis() as u64;
    Ok(Json(match result {
        Ok(_) => json!({"ok": true, "model": model, "latency_ms": latency_ms}),
        Err(error) => {
            json!({"ok": false, "model": model, "latency_ms": latency_ms, "error": error.to_string()})
        }
    }))
}
