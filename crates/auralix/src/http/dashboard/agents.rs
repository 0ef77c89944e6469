//! Agents: the list, an agent's page with its embed snippet, the create / edit form,
//! deletion, and the "try it" page that runs the real widget.

use std::collections::BTreeMap;

use askama::Template;
use auralix_core::{
    Agent, AgentDraft, AgentInput, AgentPatch, AppearanceInput, LeadCaptureInput, LeadField,
    WidgetPosition,
};
use axum::{
    Form,
    extract::{Path, State},
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{IntoResponse, Redirect, Response},
};
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};

use super::{
    Chrome, DashboardSession, FormPairs, ai::ai_summary, csrf_refusal, errors_map, field,
    forbidden_role, has, not_found_page, render, store_failure,
};
use crate::{http::agents::embed_snippet, state::AppState};

#[derive(Template)]
#[template(path = "agents.html")]
struct AgentsPage {
    c: Chrome,
    agents: Vec<Agent>,
}

pub(super) async fn agents_page(
    State(state): State<AppState>,
    headers: HeaderMap,
    session: DashboardSession,
) -> Response {
    match state
        .store
        .agents()
        .list(&session.auth.workspace_id, None, 200)
        .await
    {
        Ok(agents) => render(
            StatusCode::OK,
            &AgentsPage {
                c: Chrome::new(&headers, Some(&session)).at("agents"),
                agents,
            },
        ),
        Err(error) => crate::http::errors::ApiError::from(error).into_response(),
    }
}

#[derive(Template)]
#[template(path = "agent.html")]
struct AgentPage {
    c: Chrome,
    agent: Agent,
    snippet: String,
    /// How the agent answers: the built-in answerer, or the model it uses.
    ai_summary: String,
}

pub(super) async fn agent_page(
    State(state): State<AppState>,
    headers: HeaderMap,
    session: DashboardSession,
    Path(id): Path<String>,
) -> Response {
    match state
        .store
        .agents()
        .get(&session.auth.workspace_id, &id)
        .await
    {
        Ok(agent) => {
            let snippet = embed_snippet(&state.settings.public_base(), &agent.public_id);
            let c = Chrome::new(&headers, Some(&session)).at("agents");
            let ai_summary = match ai_summary(&state, c.t, &agent).await {
                Ok(summary) => summary,
                Err(error) => return store_failure(&headers, &session, error),
            };
            render(
                StatusCode::OK,
                &AgentPage {
                    c,
                    agent,
                    snippet,
                    ai_summary,
                },
            )
        }
        Err(_) => not_found_page(&headers, &session),
    }
}

/// The agent form's values as the page shows them.
struct AgentForm {
    name: String,
    greeting: String,
    instructions: String,
    language: String,
    allowed_origins: String,
    fields: Vec<&'static str>,
    required: Vec<&'static str>,
    title: String,
    color: String,
    position: &'static str,
    privacy_url: String,
}

fn lead_key(field: LeadField) -> &'static str {
    match field {
        LeadField::Name => "name",
        LeadField::Email => "email",
        LeadField::Phone => "phone",
    }
}

impl AgentForm {
    fn asks(&self, key: &str) -> bool {
        self.fields.contains(&key)
    }
    fn requires(&self, key: &str) -> bool {
        self.required.contains(&key)
    }

    fn from_agent(agent: &Agent) -> Self {
        Self {
            name: agent.name.as_str().to_owned(),
            greeting: agent.greeting.clone().unwrap_or_default(),
            instructions: agent.instructions.clone().unwrap_or_default(),
            language: agent.language.clone().unwrap_or_default(),
            allowed_origins: agent
                .allowed_origins
                .iter()
                .map(|o| o.as_str())
                .collect::<Vec<_>>()
                .join("\n"),
            fields: agent
                .lead_capture
                .fields
                .iter()
                .copied()
                .map(lead_key)
                .collect(),
            required: agent
                .lead_capture
                .required
                .iter()
                .copied()
                .map(lead_key)
                .collect(),
            title: agent.appearance.title.clone().unwrap_or_default(),
            color: agent.appearance.color.as_str().to_owned(),
            position: match agent.appearance.position {
                WidgetPosition::BottomRight => "bottom-right",
                WidgetPosition::BottomLeft => "bottom-left",
            },
            privacy_url: agent.privacy_url.clone().unwrap_or_default(),
        }
    }

    fn blank() -> Self {
        Self {
            name: String::new(),
            greeting: String::new(),
            instructions: String::new(),
            language: String::new(),
            allowed_origins: String::new(),
            fields: vec!["name", "email", "phone"],
            required: vec!["email"],
            title: String::new(),
            color: "#4f46e5".into(),
            position: "bottom-right",
            privacy_url: String::new(),
        }
    }

    fn from_post(form: &FormPairs) -> Self {
        let keys = ["name", "email", "phone"];
        Self {
            name: field(form, "name").to_owned(),
            greeting: field(form, "greeting").to_owned(),
            instructions: field(form, "instructions").to_owned(),
            language: field(form, "language").to_owned(),
            allowed_origins: field(form, "allowed_origins").to_owned(),
            fields: keys
                .into_iter()
                .filter(|k| has(form, &format!("field_{k}")))
                .collect(),
            required: keys
                .into_iter()
                .filter(|k| has(form, &format!("required_{k}")))
                .collect(),
            title: field(form, "title").to_owned(),
            color: field(form, "color").to_owned(),
            privacy_url: field(form, "privacy_url").to_owned(),
            position: if field(form, "position") == "bottom-left" {
                "bottom-left"
            } else {
                "bottom-right"
            },
        }
    }

    /// The same input the JSON API takes, so both paths share one validation.
    fn to_input(&self) -> AgentInput {
        let strings = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        AgentInput {
            name: Some(self.name.clone()),
            greeting: Some(self.greeting.clone()),
            instructions: Some(self.instructions.clone()),
            language: Some(self.language.clone()),
            allowed_origins: Some(
                self.allowed_origins
                    .lines()
                    .map(str::trim)
                    .filter(|l| !l.is_empty())
                    .map(String::from)
                    .collect(),
            ),
            lead_capture: Some(LeadCaptureInput {
                fields: Some(strings(&self.fields)),
                required: Some(strings(&self.required)),
            }),
            appearance: Some(AppearanceInput {
                title: Some(self.title.clone()),
                color: Some(self.color.clone()),
                position: Some(self.position.to_owned()),
            }),
            privacy_url: Some(self.privacy_url.clone()),
            ai: None,
            privacy: None,
        }
    }
}

#[derive(Template)]
#[template(path = "agent_form.html")]
struct AgentFormPage {
    c: Chrome,
    agent_id: Option<String>,
    form: AgentForm,
    errors: BTreeMap<String, String>,
    lead_rows: Vec<(&'static str, &'static str)>,
}

impl AgentFormPage {
    fn new(
        c: Chrome,
        agent_id: Option<String>,
        form: AgentForm,
        errors: BTreeMap<String, String>,
    ) -> Self {
        let lead_rows = vec![
            ("name", c.t.field_name),
            ("email", c.t.field_email),
            ("phone", c.t.field_phone),
        ];
        Self {
            c,
            agent_id,
            form,
            errors,
            lead_rows,
        }
    }
}

pub(super) async fn new_agent_page(headers: HeaderMap, session: DashboardSession) -> Response {
    let page = AgentFormPage::new(
        Chrome::new(&headers, Some(&session)),
        None,
        AgentForm::blank(),
        BTreeMap::new(),
    );
    render(StatusCode::OK, &page)
}

pub(super) async fn edit_agent_page(
    State(state): State<AppState>,
    headers: HeaderMap,
    session: DashboardSession,
    Path(id): Path<String>,
) -> Response {
    match state
        .store
        .agents()
        .get(&session.auth.workspace_id, &id)
        .await
    {
        Ok(agent) => {
            let c = Chrome::new(&headers, Some(&session));
            render(
                StatusCode::OK,
                &AgentFormPage::new(
                    c,
                    Some(agent.id.clone()),
                    AgentForm::from_agent(&agent),
                    BTreeMap::new(),
                ),
            )
        }
        Err(_) => not_found_page(&headers, &session),
    }
}

pub(super) async fn create_agent(
    State(state): State<AppState>,
    headers: HeaderMap,
    session: DashboardSession,
    Form(form): Form<FormPairs>,
) -> Response {
    if let Some(refused) = csrf_refusal(&headers, &session, &form) {
        return refused;
    }
    if let Some(refused) = forbidden_role(&headers, &session) {
        return refused;
    }
    let posted = AgentForm::from_post(&form);
    match AgentDraft::parse(&posted.to_input()) {
        Ok(draft) => match state
            .store
            .agents()
            .create(&session.auth.workspace_id, draft, state.now())
            .await
        {
            Ok(agent) => Redirect::to(&format!("/app/agents/{}", agent.id)).into_response(),
            Err(error) => crate::http::errors::ApiError::from(error).into_response(),
        },
        Err(errors) => {
            let c = Chrome::new(&headers, Some(&session));
            render(
                StatusCode::UNPROCESSABLE_ENTITY,
                &AgentFormPage::new(c, None, posted, errors_map(&errors)),
            )
        }
    }
}

pub(super) async fn update_agent(
    State(state): State<AppState>,
    headers: HeaderMap,
    session: DashboardSession,
    Path(id): Path<String>,
    Form(form): Form<FormPairs>,
) -> Response {
    if let Some(refused) = csrf_refusal(&headers, &session, &form) {
        return refused;
    }
    let Ok(current) = state
        .store
        .agents()
        .get(&session.auth.workspace_id, &id)
        .await
    else {
        return not_found_page(&headers, &session);
    };
    if let Some(refused) = forbidden_role(&headers, &session) {
        return refused;
    }
    let posted = AgentForm::from_post(&form);
    match AgentPatch::parse(&posted.to_input(), &current) {
        Ok(patch) => {
            let mut agent = patch.apply(current);
            agent.updated_at = state.now();
            match state.store.agents().update(&agent).await {
                Ok(()) => Redirect::to(&format!("/app/agents/{}", agent.id)).into_response(),
                Err(error) => crate::http::errors::ApiError::from(error).into_response(),
            }
        }
        Err(errors) => {
            let c = Chrome::new(&headers, Some(&session));
            render(
                StatusCode::UNPROCESSABLE_ENTITY,
                &AgentFormPage::new(c, Some(id), posted, errors_map(&errors)),
            )
        }
    }
}

pub(super) async fn delete_agent(
    State(state): State<AppState>,
    headers: HeaderMap,
    session: DashboardSession,
    Path(id): Path<String>,
    Form(form): Form<FormPairs>,
) -> Response {
    if let Some(refused) = csrf_refusal(&headers, &session, &form) {
        return refused;
    }
    if let Some(refused) = forbidden_role(&headers, &session) {
        return refused;
    }
    match state
        .store
        .agents()
        .delete(&session.auth.workspace_id, &id)
        .await
    {
        Ok(()) => Redirect::to("/app").into_response(),
        Err(_) => not_found_page(&headers, &session),
    }
}

// The agent's "try it" page: the real widget, under a policy that lets it run.

#[derive(Template)]
#[template(path = "agent_try.html")]
struct TryPage {
    c: Chrome,
    agent: Agent,
    public_base: String,
    nonce: String,
}

/// 128 fresh random bits per response, so a nonce seen once is of no use later.
fn csp_nonce() -> String {
    URL_SAFE_NO_PAD.encode(rand::random::<[u8; 16]>())
}

/// The global policy (`middleware::security_headers`) plus the nonce the widget loader
/// copies onto ui.js and onto the styles it puts in its shadow root. The widget API is
/// also allowed at the public origin, for a dashboard reached under another host name.
fn widget_csp(nonce: &str, public_origin: &str) -> String {
    format!(
        "default-src 'self'; script-src 'self' 'nonce-{nonce}'; style-src 'self' 'nonce-{nonce}'; \
         img-src 'self' data:; connect-src 'self' {public_origin}; frame-ancestors 'none'; \
         form-action 'self'; base-uri 'none'"
    )
}

pub(super) async fn try_agent_page(
    State(state): State<AppState>,
    headers: HeaderMap,
    session: DashboardSession,
    Path(id): Path<String>,
) -> Response {
    let agent = match state
        .store
        .agents()
        .get(&session.auth.workspace_id, &id)
        .await
    {
        Ok(agent) => agent,
        Err(_) => return not_found_page(&headers, &session),
    };
    let nonce = csp_nonce();
    let policy = widget_csp(&nonce, &state.settings.public_origin());
    let page = TryPage {
        c: Chrome::new(&headers, Some(&session)).at("agents"),
        agent,
        public_base: state.settings.public_base(),
        nonce,
    };
    let mut response = render(StatusCode::OK, &page);
    if let Ok(policy) = HeaderValue::from_str(&policy) {
        response
            .headers_mut()
            .insert(header::CONTENT_SECURITY_POLICY, policy);
    }
    response
}
