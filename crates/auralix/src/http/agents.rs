//! `/api/v1/agents`: agents CRUD inside the caller's workspace.

use auralix_core::{Agent, AgentDraft, AgentInput, AgentPatch, Appearance, LeadCapture, Origin};
use axum::{
    Json,
    extract::{Path, State},
    http::StatusCode,
};
use serde::Serialize;
use time::OffsetDateTime;

use super::{
    auth::Auth,
    errors::ApiResult,
    extract::{ApiJson, ListPage, Page},
};
use crate::state::AppState;

#[derive(Serialize)]
pub struct AgentView {
    pub id: String,
    pub public_id: String,
    pub name: String,
    pub greeting: Option<String>,
    pub instructions: Option<String>,
    pub language: Option<String>,
    pub allowed_origins: Vec<Origin>,
    pub lead_capture: LeadCapture,
    pub appearance: Appearance,
    pub privacy_url: Option<String>,
    pub ai: auralix_core::AiSettings,
    pub privacy: auralix_core::PrivacySettings,
    pub embed_snippet: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

/// The one line a client pastes into their site.
pub fn embed_snippet(public_base: &str, public_id: &str) -> String {
    format!("<script src=\"{public_base}/widget.js\" data-agent=\"{public_id}\" async></script>")
}

impl AgentView {
    pub fn new(agent: Agent, public_base: &str) -> Self {
        Self {
            embed_snippet: embed_snippet(public_base, &agent.public_id),
            id: agent.id,
            public_id: agent.public_id,
            name: agent.name.as_str().to_owned(),
            greeting: agent.greeting,
            instructions: agent.instructions,
            language: agent.language,
            allowed_origins: agent.allowed_origins,
            lead_capture: agent.lead_capture,
            appearance: agent.appearance,
            privacy_url: agent.privacy_url,
            ai: agent.ai,
            privacy: agent.privacy,
            created_at: agent.created_at,
            updated_at: agent.updated_at,
        }
    }
}

/// An agent may only use a provider of its own workspace.
async fn check_provider(state: &AppState, auth: &Auth, provider_id: Option<&str>) -> ApiResult<()> {
    let Some(id) = provider_id else { return Ok(()) };
    match state.store.providers().get(&auth.workspace_id, id).await {
        Ok(_) => Ok(()),
        Err(auralix_store::StoreError::NotFound) => Err(super::errors::ApiError::invalid_field(
            "ai.provider_id",
            "no such provider in this workspace",
        )),
        Err(other) => Err(other.into()),
    }
}

pub async fn list(
    State(state): State<AppState>,
    auth: Auth,
    page: Page,
) -> ApiResult<Json<ListPage<AgentView>>> {
    let rows = state
        .store
        .agents()
        .list(&auth.workspace_id, page.cursor.as_deref(), page.limit + 1)
        .await?;
    let base = state.settings.public_base();
    let views = rows.into_iter().map(|a| AgentView::new(a, &base)).collect();
    Ok(Json(ListPage::from_rows(
        views,
        page.limit,
        |a: &AgentView| a.id.clone(),
    )))
}

pub async fn create(
    State(state): State<AppState>,
    auth: Auth,
    ApiJson(input): ApiJson<AgentInput>,
) -> ApiResult<(StatusCode, Json<AgentView>)> {
    auth.require_configure()?;
    let draft = AgentDraft::parse(&input)?;
    check_provider(&state, &auth, draft.ai.provider_id.as_deref()).await?;
    let agent = state
        .store
        .agents()
        .create(&auth.workspace_id, draft, state.now())
        .await?;
    tracing::info!(agent_id = %agent.id, workspace_id = %auth.workspace_id, "agent created");
    Ok((
        StatusCode::CREATED,
        Json(AgentView::new(agent, &state.settings.public_base())),
    ))
}

pub async fn get(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
) -> ApiResult<Json<AgentView>> {
    let agent = state.store.agents().get(&auth.workspace_id, &id).await?;
    Ok(Json(AgentView::new(agent, &state.settings.public_base())))
}

pub async fn update(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<AgentInput>,
) -> ApiResult<Json<AgentView>> {
    // Existence first: another workspace's agent is 404 whatever the body says.
    let current = state.store.agents().get(&auth.workspace_id, &id).await?;
    auth.require_configure()?;
    let mut agent = AgentPatch::parse(&input, &current)?.apply(current);
    check_provider(&state, &auth, agent.ai.provider_id.as_deref()).await?;
    agent.updated_at = state.now();
    state.store.agents().update(&agent).await?;
    Ok(Json(AgentView::new(agent, &state.settings.public_base())))
}

pub async fn delete(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    state.store.agents().get(&auth.workspace_id, &id).await?;
    auth.require_configure()?;
    state.store.agents().delete(&auth.workspace_id, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}
