//! The dashboard: server-rendered HTML with a little JS, in English and Russian.
//!
//! Every form post that changes something carries the session's CSRF token (`_csrf`);
//! the same Origin / `Sec-Fetch-Site` check as the API applies on top, and `SameSite=Lax`
//! cookies are the third layer.

use std::collections::BTreeMap;

use askama::Template;
use auralix_core::{
    Agent, AgentDraft, AgentInput, AgentPatch, AiInput, AiMode, AppearanceInput, LeadCaptureInput,
    LeadField, PrivacyInput, ValidationErrors, WidgetPosition,
};
use auralix_store::{
    ConversationFilter, ConversationRecord, LeadFilter, LeadRecord, MessageRecord, StoreError,
};
use axum::{
    Form, Router,
    extract::{DefaultBodyLimit, FromRequestParts, Path, RawQuery, Request, State},
    http::{HeaderMap, HeaderValue, Method, StatusCode, header, request::Parts},
    middleware::{Next, from_fn, from_fn_with_state},
    response::{Html, IntoResponse, Redirect, Response},
    routing::{get, post},
};
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use time::{
    Date, OffsetDateTime, format_description::well_known::Rfc3339, macros::format_description,
};

use super::{
    agents::embed_snippet,
    auth::{self, Auth, Credential, SESSION_COOKIE},
    leads::{STATUSES, lead_filter},
    middleware::csrf_origin_check,
};
use crate::{
    i18n::{LANG_COOKIE, Lang, Texts},
    services::accounts::{self, AccountError, SignupInput},
    state::AppState,
};

const VERSION: &str = env!("CARGO_PKG_VERSION");

pub fn routes(state: AppState) -> Router<AppState> {
    Router::new()
        .route("/", get(root))
        .route("/login", get(login_page).post(login_submit))
        .route("/signup", get(signup_page).post(signup_submit))
        .route("/logout", post(logout_submit))
        .route("/app", get(agents_page))
        .route("/app/agents", post(create_agent))
        .route("/app/agents/new", get(new_agent_page))
        .route("/app/agents/{id}", get(agent_page).post(update_agent))
        .route("/app/agents/{id}/edit", get(edit_agent_page))
        .route("/app/agents/{id}/delete", post(delete_agent))
        .route("/app/agents/{id}/try", get(try_agent_page))
        .route(
            "/app/agents/{id}/ai",
            get(agent_ai_page).post(update_agent_ai),
        )
        .route(
            "/app/agents/{id}/playground",
            get(playground_page).post(playground_submit),
        )
        .route("/app/providers", get(providers_page).post(create_provider))
        .route("/app/providers/{id}/test", post(test_provider))
        .route("/app/providers/{id}/delete", post(delete_provider))
        .route("/app/agents/{id}/documents", get(documents_page))
        .route(
            "/app/agents/{id}/documents/text",
            post(add_text_document).layer(DefaultBodyLimit::max(MAX_TEXT_FORM_BYTES)),
        )
        .route("/app/agents/{id}/documents/qa", post(add_qa_document))
        .route(
            "/app/agents/{id}/documents/{doc_id}/delete",
            post(delete_document),
        )
        .route(
            "/app/agents/{id}/documents/{doc_id}/reindex",
            post(reindex_document),
        )
        .route("/app/conversations", get(conversations_page))
        .route("/app/conversations/{id}", get(conversation_page))
        .route("/app/leads", get(leads_page))
        .route("/app/leads/{id}", get(lead_page).post(update_lead))
        .route("/app/leads/{id}/status", post(update_lead_status))
        .layer(from_fn_with_state(state, csrf_origin_check))
        .layer(from_fn(lang_switch))
        .route(
            "/static/app.css",
            get(|| async {
                static_file(
                    "text/css; charset=utf-8",
                    include_str!("../../static/app.css"),
                )
            }),
        )
        .route(
            "/static/app.js",
            get(|| async {
                static_file(
                    "text/javascript; charset=utf-8",
                    include_str!("../../static/app.js"),
                )
            }),
        )
}

fn static_file(content_type: &'static str, body: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "public, max-age=86400"),
        ],
        body,
    )
        .into_response()
}

/// What every page's frame needs.
pub struct Chrome {
    pub lang: &'static str,
    pub t: &'static Texts,
    pub user: Option<String>,
    pub csrf: String,
    pub other_lang: &'static str,
    pub other_lang_label: &'static str,
    pub version: &'static str,
    /// The navigation entry to mark as current (`agents`, `conversations`, `leads`,
    /// `providers`).
    pub section: &'static str,
}

impl Chrome {
    fn new(headers: &HeaderMap, session: Option<&DashboardSession>) -> Self {
        let lang = Lang::from_headers(headers);
        let (other_lang, other_lang_label) = match lang {
            Lang::En => ("ru", "Русский"),
            Lang::Ru => ("en", "English"),
        };
        Self {
            lang: lang.code(),
            t: lang.texts(),
            user: session.map(|s| s.user_name.clone()),
            csrf: session.map(|s| s.csrf_token.clone()).unwrap_or_default(),
            other_lang,
            other_lang_label,
            version: VERSION,
            section: "",
        }
    }

    fn at(mut self, section: &'static str) -> Self {
        self.section = section;
        self
    }
}

fn render(status: StatusCode, template: &impl Template) -> Response {
    match template.render() {
        Ok(html) => (status, Html(html)).into_response(),
        Err(error) => super::errors::ApiError::internal(error).into_response(),
    }
}

/// `?lang=ru` on any page stores the choice in a cookie and reloads without the query.
async fn lang_switch(request: Request, next: Next) -> Response {
    if request.method() == Method::GET
        && let Some(lang) = request
            .uri()
            .query()
            .and_then(|q| url::form_urlencoded::parse(q.as_bytes()).find(|(k, _)| k == "lang"))
            .and_then(|(_, v)| Lang::parse(&v))
    {
        let mut response = Redirect::to(request.uri().path()).into_response();
        let cookie = format!(
            "{LANG_COOKIE}={}; Path=/; Max-Age=31536000; SameSite=Lax",
            lang.code()
        );
        response.headers_mut().append(
            header::SET_COOKIE,
            HeaderValue::from_str(&cookie).expect("ascii"),
        );
        return response;
    }
    next.run(request).await
}

/// A signed-in browser; anything else is sent to the login page.
pub struct DashboardSession {
    pub auth: Auth,
    pub csrf_token: String,
    pub user_name: String,
}

impl FromRequestParts<AppState> for DashboardSession {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let to_login = || Redirect::to("/login").into_response();
        if auth::cookie(&parts.headers, SESSION_COOKIE).is_none() {
            return Err(to_login());
        }
        let Ok(Some(auth)) = Auth::resolve(state, &parts.headers).await else {
            return Err(to_login());
        };
        let Credential::Session { csrf_token, .. } = auth.credential.clone() else {
            return Err(to_login());
        };
        let user = state
            .store
            .accounts()
            .user_by_id(&auth.user_id)
            .await
            .map_err(|_| to_login())?;
        Ok(Self {
            auth,
            csrf_token,
            user_name: user.name,
        })
    }
}

/// A posted form as key/value pairs (checkboxes and repeated keys kept).
type FormPairs = Vec<(String, String)>;

fn field<'a>(form: &'a FormPairs, key: &str) -> &'a str {
    form.iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
        .unwrap_or("")
}

fn has(form: &FormPairs, key: &str) -> bool {
    form.iter().any(|(k, _)| k == key)
}

/// Compares the form's `_csrf` with the session's token in constant time.
/// (`Some` is the refusal to send.)
fn csrf_refusal(
    headers: &HeaderMap,
    session: &DashboardSession,
    form: &FormPairs,
) -> Option<Response> {
    let sent = field(form, "_csrf").as_bytes();
    let expected = session.csrf_token.as_bytes();
    let same = sent.len() == expected.len()
        && sent
            .iter()
            .zip(expected)
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0;
    if same {
        None
    } else {
        let c = Chrome::new(headers, Some(session));
        Some(render(
            StatusCode::FORBIDDEN,
            &MessagePage {
                heading: "403".into(),
                message: c.t.forbidden.into(),
                c,
            },
        ))
    }
}

fn errors_map(errors: &ValidationErrors) -> BTreeMap<String, String> {
    let mut map = BTreeMap::new();
    for e in &errors.0 {
        map.entry(e.field.clone())
            .or_insert_with(|| e.message.clone());
    }
    map
}

#[derive(Template)]
#[template(path = "message.html")]
struct MessagePage {
    c: Chrome,
    heading: String,
    message: String,
}

fn not_found_page(headers: &HeaderMap, session: &DashboardSession) -> Response {
    let c = Chrome::new(headers, Some(session));
    render(
        StatusCode::NOT_FOUND,
        &MessagePage {
            heading: "404".into(),
            message: c.t.not_found.into(),
            c,
        },
    )
}

async fn root(State(state): State<AppState>, headers: HeaderMap) -> Redirect {
    match Auth::resolve(&state, &headers).await {
        Ok(Some(_)) => Redirect::to("/app"),
        _ => Redirect::to("/login"),
    }
}

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    c: Chrome,
    email: String,
    message: Option<&'static str>,
}

async fn login_page(headers: HeaderMap) -> Response {
    render(
        StatusCode::OK,
        &LoginPage {
            c: Chrome::new(&headers, None),
            email: String::new(),
            message: None,
        },
    )
}

fn with_session_cookie(state: &AppState, session: &accounts::IssuedSession, to: &str) -> Response {
    let mut response = Redirect::to(to).into_response();
    response
        .headers_mut()
        .append(header::SET_COOKIE, auth::session_cookie(state, session));
    response
}

async fn login_submit(
    State(state): State<AppState>,
    axum::extract::ConnectInfo(addr): axum::extract::ConnectInfo<std::net::SocketAddr>,
    headers: HeaderMap,
    Form(form): Form<FormPairs>,
) -> Response {
    let c = Chrome::new(&headers, None);
    let email = field(&form, "email").to_owned();
    let ip = addr.ip().to_string();
    if auth::check_login_rate(&state, &ip, &email).is_err() {
        return render(
            StatusCode::TOO_MANY_REQUESTS,
            &LoginPage {
                message: Some(c.t.too_many_attempts),
                c,
                email,
            },
        );
    }
    match accounts::authenticate(&state.store, &email, field(&form, "password")).await {
        Ok(membership) => {
            let ua = headers
                .get(header::USER_AGENT)
                .and_then(|v| v.to_str().ok());
            match accounts::start_session(&state.store, &membership, Some(&ip), ua, state.now())
                .await
            {
                Ok(session) => with_session_cookie(&state, &session, "/app"),
                Err(error) => super::errors::ApiError::from(error).into_response(),
            }
        }
        Err(AccountError::InvalidCredentials) => render(
            StatusCode::UNAUTHORIZED,
            &LoginPage {
                message: Some(c.t.bad_credentials),
                c,
                email,
            },
        ),
        Err(error) => super::errors::ApiError::from(error).into_response(),
    }
}

#[derive(Template)]
#[template(path = "signup.html")]
struct SignupPage {
    c: Chrome,
    name: String,
    email: String,
    workspace_name: String,
    errors: BTreeMap<String, String>,
}

async fn signup_page(headers: HeaderMap) -> Response {
    render(
        StatusCode::OK,
        &SignupPage {
            c: Chrome::new(&headers, None),
            name: String::new(),
            email: String::new(),
            workspace_name: String::new(),
            errors: BTreeMap::new(),
        },
    )
}

async fn signup_submit(
    State(state): State<AppState>,
    axum::extract::ConnectInfo(addr): axum::extract::ConnectInfo<std::net::SocketAddr>,
    headers: HeaderMap,
    Form(form): Form<FormPairs>,
) -> Response {
    let input = SignupInput {
        email: field(&form, "email").to_owned(),
        password: field(&form, "password").to_owned(),
        name: field(&form, "name").to_owned(),
        workspace_name: Some(field(&form, "workspace_name").to_owned()),
    };
    let (status, errors) = match accounts::sign_up(&state.store, &input, state.now()).await {
        Ok(membership) => {
            let ua = headers
                .get(header::USER_AGENT)
                .and_then(|v| v.to_str().ok());
            let ip = addr.ip().to_string();
            return match accounts::start_session(
                &state.store,
                &membership,
                Some(&ip),
                ua,
                state.now(),
            )
            .await
            {
                Ok(session) => with_session_cookie(&state, &session, "/app"),
                Err(error) => super::errors::ApiError::from(error).into_response(),
            };
        }
        Err(AccountError::Invalid(errors)) => (StatusCode::UNPROCESSABLE_ENTITY, errors),
        Err(AccountError::EmailTaken) => (
            StatusCode::CONFLICT,
            ValidationErrors::single("email", "an account with this e-mail already exists"),
        ),
        Err(error) => return super::errors::ApiError::from(error).into_response(),
    };
    let page = SignupPage {
        c: Chrome::new(&headers, None),
        name: input.name,
        email: input.email,
        workspace_name: input.workspace_name.unwrap_or_default(),
        errors: errors_map(&errors),
    };
    render(status, &page)
}

async fn logout_submit(
    State(state): State<AppState>,
    headers: HeaderMap,
    session: DashboardSession,
    Form(form): Form<FormPairs>,
) -> Response {
    if let Some(refused) = csrf_refusal(&headers, &session, &form) {
        return refused;
    }
    if let Credential::Session { digest, .. } = &session.auth.credential
        && let Err(error) = state.store.sessions().delete(digest).await
    {
        return super::errors::ApiError::from(error).into_response();
    }
    let mut response = Redirect::to("/login").into_response();
    response
        .headers_mut()
        .append(header::SET_COOKIE, auth::clear_session_cookie(&state));
    response
}

#[derive(Template)]
#[template(path = "agents.html")]
struct AgentsPage {
    c: Chrome,
    agents: Vec<Agent>,
}

async fn agents_page(
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
        Err(error) => super::errors::ApiError::from(error).into_response(),
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

async fn agent_page(
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

async fn new_agent_page(headers: HeaderMap, session: DashboardSession) -> Response {
    let page = AgentFormPage::new(
        Chrome::new(&headers, Some(&session)),
        None,
        AgentForm::blank(),
        BTreeMap::new(),
    );
    render(StatusCode::OK, &page)
}

async fn edit_agent_page(
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

fn forbidden_role(headers: &HeaderMap, session: &DashboardSession) -> Option<Response> {
    if session.auth.role.can_configure() {
        return None;
    }
    let c = Chrome::new(headers, Some(session));
    Some(render(
        StatusCode::FORBIDDEN,
        &MessagePage {
            heading: "403".into(),
            message: c.t.forbidden.into(),
            c,
        },
    ))
}

async fn create_agent(
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
            Err(error) => super::errors::ApiError::from(error).into_response(),
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

async fn update_agent(
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
                Err(error) => super::errors::ApiError::from(error).into_response(),
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

async fn delete_agent(
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

// The inbox (L3): conversations and leads, read and triaged in the browser.

/// Rows per page in the inbox lists.
const INBOX_PAGE: u32 = 50;
/// Conversation statuses; the API module keeps its own list private.
const CONVERSATION_STATUSES: [&str; 3] = ["open", "handoff", "closed"];
/// The same limit `PATCH /api/v1/leads/{id}` applies to a note.
const MAX_NOTE_CHARS: usize = 4_000;
/// Messages shown in one transcript, as many as the API returns with a conversation.
const MAX_TRANSCRIPT: u32 = 2_000;
/// Agents looked up to name the rows of one page.
const MAX_AGENTS: u32 = 500;

/// A time as shown (`2026-01-31 14:05 UTC`) and as `<time datetime>` carries it; app.js
/// rewrites the shown form into the browser's own time zone.
fn stamp(t: OffsetDateTime) -> (String, String) {
    let t = t.to_offset(time::UtcOffset::UTC);
    let shown = format!(
        "{}-{:02}-{:02} {:02}:{:02} UTC",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute()
    );
    (shown, t.format(&Rfc3339).unwrap_or_default())
}

fn truncate(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let mut cut: String = text.chars().take(max - 1).collect();
    cut.push('…');
    cut
}

/// `shop.example/pricing`: enough to recognise the page in a list row.
fn short_url(raw: &str) -> String {
    let shown = match url::Url::parse(raw) {
        Ok(u) => format!("{}{}", u.host_str().unwrap_or(""), u.path()),
        Err(_) => raw.to_owned(),
    };
    truncate(shown.trim_end_matches('/'), 48)
}

/// The value if it is one of the allowed codes, else nothing (no filter).
fn one_of(value: &str, allowed: &[&str]) -> String {
    if allowed.contains(&value) {
        value.to_owned()
    } else {
        String::new()
    }
}

fn query_pairs(raw: Option<&str>) -> FormPairs {
    url::form_urlencoded::parse(raw.unwrap_or("").as_bytes())
        .into_owned()
        .collect()
}

/// A query string of the non-empty pairs.
fn encode(pairs: &[(&str, &str)]) -> String {
    let mut out = url::form_urlencoded::Serializer::new(String::new());
    for (key, value) in pairs.iter().filter(|(_, v)| !v.is_empty()) {
        out.append_pair(key, value);
    }
    out.finish()
}

/// `?query`, or nothing for an empty query.
fn with_query(path: &str, query: &str) -> String {
    if query.is_empty() {
        path.to_owned()
    } else {
        format!("{path}?{query}")
    }
}

/// Drops the extra row fetched to learn whether another page follows; returns its cursor.
fn next_cursor<T>(rows: &mut Vec<T>, id: impl Fn(&T) -> &str) -> Option<String> {
    if rows.len() <= INBOX_PAGE as usize {
        return None;
    }
    rows.truncate(INBOX_PAGE as usize);
    rows.last().map(|row| id(row).to_owned())
}

/// The workspace's agents as (id, name): names for the rows, choices for the filter.
async fn agent_names(
    state: &AppState,
    workspace_id: &str,
) -> Result<Vec<(String, String)>, StoreError> {
    let agents = state
        .store
        .agents()
        .list(workspace_id, None, MAX_AGENTS)
        .await?;
    Ok(agents
        .into_iter()
        .map(|a| (a.id, a.name.as_str().to_owned()))
        .collect())
}

fn agent_name(agents: &[(String, String)], id: &str) -> String {
    agents
        .iter()
        .find(|(agent_id, _)| agent_id == id)
        .map_or_else(|| id.to_owned(), |(_, name)| name.clone())
}

fn labelled(t: &'static Texts, codes: &[&'static str]) -> Vec<(&'static str, &'static str)> {
    codes.iter().map(|code| (*code, t.label(code))).collect()
}

/// Another workspace's id (or a deleted one) is the 404 page; anything else a 500.
fn store_failure(headers: &HeaderMap, session: &DashboardSession, error: StoreError) -> Response {
    match error {
        StoreError::NotFound => not_found_page(headers, session),
        error => super::errors::ApiError::from(error).into_response(),
    }
}

fn render_loaded<T: Template>(
    headers: &HeaderMap,
    session: &DashboardSession,
    loaded: Result<T, StoreError>,
) -> Response {
    match loaded {
        Ok(page) => render(StatusCode::OK, &page),
        Err(error) => store_failure(headers, session, error),
    }
}

/// The conversation list's filters as its GET form sends them; unknown values are dropped.
#[derive(Default)]
struct ConversationQuery {
    agent_id: String,
    status: String,
    cursor: String,
}

impl ConversationQuery {
    fn parse(raw: Option<&str>) -> Self {
        let pairs = query_pairs(raw);
        let status = field(&pairs, "status");
        Self {
            agent_id: field(&pairs, "agent_id").to_owned(),
            status: one_of(status, &CONVERSATION_STATUSES),
            cursor: field(&pairs, "cursor").to_owned(),
        }
    }

    fn is_set(&self) -> bool {
        !self.agent_id.is_empty() || !self.status.is_empty()
    }

    fn agent_is(&self, id: &str) -> bool {
        self.agent_id == id
    }

    fn status_is(&self, status: &str) -> bool {
        self.status == status
    }

    fn filter(&self) -> ConversationFilter {
        ConversationFilter {
            agent_id: Some(self.agent_id.clone()).filter(|a| !a.is_empty()),
            status: Some(self.status.clone()).filter(|s| !s.is_empty()),
        }
    }

    /// The same filters from another cursor.
    fn page_query(&self, cursor: &str) -> String {
        encode(&[
            ("agent_id", &self.agent_id),
            ("status", &self.status),
            ("cursor", cursor),
        ])
    }
}

struct ConversationRow {
    id: String,
    agent: String,
    status: String,
    status_label: String,
    intent: String,
    language: String,
    when: String,
    when_iso: String,
    page: String,
    page_full: String,
}

impl ConversationRow {
    fn new(c: ConversationRecord, agents: &[(String, String)], t: &'static Texts) -> Self {
        let (when, when_iso) = stamp(c.created_at);
        let page_full = c.page_url.unwrap_or_default();
        Self {
            agent: agent_name(agents, &c.agent_id),
            status_label: t.label(&c.status).to_owned(),
            intent: c
                .intent
                .as_deref()
                .map(|i| t.label(i))
                .unwrap_or("")
                .to_owned(),
            language: c.language.unwrap_or_default(),
            page: short_url(&page_full),
            page_full,
            when,
            when_iso,
            id: c.id,
            status: c.status,
        }
    }
}

#[derive(Template)]
#[template(path = "conversations.html")]
struct ConversationsPage {
    c: Chrome,
    filter: ConversationQuery,
    agents: Vec<(String, String)>,
    statuses: Vec<(&'static str, &'static str)>,
    rows: Vec<ConversationRow>,
    next: Option<String>,
}

async fn conversations_page(
    State(state): State<AppState>,
    headers: HeaderMap,
    session: DashboardSession,
    RawQuery(query): RawQuery,
) -> Response {
    let c = Chrome::new(&headers, Some(&session)).at("conversations");
    let filter = ConversationQuery::parse(query.as_deref());
    let loaded = load_conversations(&state, &session.auth.workspace_id, c, filter).await;
    render_loaded(&headers, &session, loaded)
}

async fn load_conversations(
    state: &AppState,
    workspace_id: &str,
    c: Chrome,
    filter: ConversationQuery,
) -> Result<ConversationsPage, StoreError> {
    let agents = agent_names(state, workspace_id).await?;
    let cursor = Some(filter.cursor.as_str()).filter(|s| !s.is_empty());
    let mut records = state
        .store
        .conversations()
        .list(workspace_id, &filter.filter(), cursor, INBOX_PAGE + 1)
        .await?;
    let next = next_cursor(&mut records, |r| &r.id).map(|id| filter.page_query(&id));
    let rows = records
        .into_iter()
        .map(|r| ConversationRow::new(r, &agents, c.t))
        .collect();
    Ok(ConversationsPage {
        statuses: labelled(c.t, &CONVERSATION_STATUSES),
        c,
        filter,
        agents,
        rows,
        next,
    })
}

struct MessageRow {
    role: String,
    role_label: String,
    text: String,
    sources: String,
    when: String,
    when_iso: String,
}

impl MessageRow {
    fn new(m: MessageRecord, t: &'static Texts) -> Self {
        let (when, when_iso) = stamp(m.created_at);
        let sources = m.sources.0.iter().map(|s| s.title.as_str());
        Self {
            role_label: t.label(&m.role).to_owned(),
            sources: sources.collect::<Vec<_>>().join(", "),
            role: m.role,
            text: m.text,
            when,
            when_iso,
        }
    }
}

#[derive(Template)]
#[template(path = "conversation.html")]
struct ConversationPage {
    c: Chrome,
    agent: String,
    status: String,
    status_label: String,
    lead_id: Option<String>,
    messages: Vec<MessageRow>,
    facts: Vec<Fact>,
}

async fn conversation_page(
    State(state): State<AppState>,
    headers: HeaderMap,
    session: DashboardSession,
    Path(id): Path<String>,
) -> Response {
    let c = Chrome::new(&headers, Some(&session)).at("conversations");
    let loaded = load_conversation(&state, &session.auth.workspace_id, c, &id).await;
    render_loaded(&headers, &session, loaded)
}

async fn load_conversation(
    state: &AppState,
    workspace_id: &str,
    c: Chrome,
    id: &str,
) -> Result<ConversationPage, StoreError> {
    let conversation = state.store.conversations().get(workspace_id, id).await?;
    let messages = state
        .store
        .conversations()
        .messages(workspace_id, id, None, MAX_TRANSCRIPT)
        .await?;
    let lead = state
        .store
        .leads()
        .for_conversation(workspace_id, id)
        .await?;
    let agents = agent_names(state, workspace_id).await?;
    let t = c.t;
    Ok(ConversationPage {
        agent: agent_name(&agents, &conversation.agent_id),
        status_label: t.label(&conversation.status).to_owned(),
        lead_id: lead.map(|l| l.id),
        messages: messages
            .into_iter()
            .map(|m| MessageRow::new(m, t))
            .collect(),
        facts: conversation_facts(t, &conversation),
        status: conversation.status,
        c,
    })
}

/// One line of a details list; a time also carries its exact value for `<time>`.
struct Fact {
    label: &'static str,
    value: String,
    iso: String,
}

fn fact(label: &'static str, value: String) -> Fact {
    Fact {
        label,
        value,
        iso: String::new(),
    }
}

fn time_fact(label: &'static str, t: OffsetDateTime) -> Fact {
    let (value, iso) = stamp(t);
    Fact { label, value, iso }
}

fn conversation_facts(t: &'static Texts, c: &ConversationRecord) -> Vec<Fact> {
    let text = |v: &Option<String>| v.clone().unwrap_or_default();
    let intent = c.intent.as_deref().map_or("", |i| t.label(i));
    vec![
        time_fact(t.started, c.created_at),
        time_fact(t.last_message, c.last_message_at),
        fact(t.page, text(&c.page_url)),
        fact(t.referrer, text(&c.referrer)),
        fact(t.ip_address, text(&c.ip)),
        fact(t.user_agent, text(&c.user_agent)),
        fact(t.intent, intent.to_owned()),
        fact(t.language, text(&c.language)),
        fact(t.status, t.label(&c.status).to_owned()),
    ]
}

/// The lead list's filters as its GET form sends them (dates as `YYYY-MM-DD`); values the
/// API would refuse are dropped, so a hand-edited URL still shows a page.
#[derive(Default)]
struct LeadQuery {
    status: String,
    agent_id: String,
    q: String,
    since: String,
    until: String,
    cursor: String,
}

fn parse_date(raw: &str) -> Option<Date> {
    Date::parse(raw, format_description!("[year]-[month]-[day]")).ok()
}

impl LeadQuery {
    fn parse(raw: Option<&str>) -> Self {
        let pairs = query_pairs(raw);
        let status = field(&pairs, "status");
        let date = |key: &str| {
            let value = field(&pairs, key);
            parse_date(value).map_or_else(String::new, |_| value.to_owned())
        };
        Self {
            status: one_of(status, &STATUSES),
            agent_id: field(&pairs, "agent_id").to_owned(),
            q: field(&pairs, "q").trim().to_owned(),
            since: date("since"),
            until: date("until"),
            cursor: field(&pairs, "cursor").to_owned(),
        }
    }

    fn is_set(&self) -> bool {
        [
            &self.status,
            &self.agent_id,
            &self.q,
            &self.since,
            &self.until,
        ]
        .iter()
        .any(|v| !v.is_empty())
    }

    fn agent_is(&self, id: &str) -> bool {
        self.agent_id == id
    }

    fn status_is(&self, status: &str) -> bool {
        self.status == status
    }

    /// The filters in the API's terms: days become RFC 3339 bounds, and `until` takes in
    /// its whole day.
    fn api_query(&self) -> String {
        let midnight = |d: Date| format!("{d}T00:00:00Z");
        let since = parse_date(&self.since).map(midnight).unwrap_or_default();
        let until = parse_date(&self.until)
            .and_then(Date::next_day)
            .map(midnight)
            .unwrap_or_default();
        encode(&[
            ("status", &self.status),
            ("agent_id", &self.agent_id),
            ("q", &self.q),
            ("since", &since),
            ("until", &until),
        ])
    }

    /// The store filter, parsed by the API's own code so both search alike.
    fn filter(&self) -> LeadFilter {
        lead_filter(Some(&self.api_query())).unwrap_or_default()
    }

    /// The dashboard's query for these filters from a cursor.
    fn page_query(&self, cursor: &str) -> String {
        encode(&[
            ("status", &self.status),
            ("agent_id", &self.agent_id),
            ("q", &self.q),
            ("since", &self.since),
            ("until", &self.until),
            ("cursor", cursor),
        ])
    }
}

struct LeadRow {
    id: String,
    when: String,
    when_iso: String,
    name: String,
    email: String,
    phone: String,
    intent: String,
    score: i64,
    status: String,
    agent: String,
}

impl LeadRow {
    fn new(l: LeadRecord, agents: &[(String, String)], t: &'static Texts) -> Self {
        let (when, when_iso) = stamp(l.created_at);
        Self {
            agent: agent_name(agents, &l.agent_id),
            intent: t.label(&l.intent).to_owned(),
            name: l.name.unwrap_or_default(),
            email: l.email.unwrap_or_default(),
            phone: l.phone.unwrap_or_default(),
            score: l.score,
            status: l.status,
            id: l.id,
            when,
            when_iso,
        }
    }

    fn status_is(&self, status: &str) -> bool {
        self.status == status
    }
}

#[derive(Template)]
#[template(path = "leads.html")]
struct LeadsPage {
    c: Chrome,
    filter: LeadQuery,
    agents: Vec<(String, String)>,
    statuses: Vec<(&'static str, &'static str)>,
    rows: Vec<LeadRow>,
    next: Option<String>,
    /// This page's query, so a row's status form returns here.
    back: String,
    /// `&…` of the filters, appended to the export links.
    export_query: String,
}

async fn leads_page(
    State(state): State<AppState>,
    headers: HeaderMap,
    session: DashboardSession,
    RawQuery(query): RawQuery,
) -> Response {
    let c = Chrome::new(&headers, Some(&session)).at("leads");
    let filter = LeadQuery::parse(query.as_deref());
    let loaded = load_leads(&state, &session.auth.workspace_id, c, filter).await;
    render_loaded(&headers, &session, loaded)
}

async fn load_leads(
    state: &AppState,
    workspace_id: &str,
    c: Chrome,
    filter: LeadQuery,
) -> Result<LeadsPage, StoreError> {
    let agents = agent_names(state, workspace_id).await?;
    let cursor = Some(filter.cursor.as_str()).filter(|s| !s.is_empty());
    let mut records = state
        .store
        .leads()
        .list(workspace_id, &filter.filter(), cursor, INBOX_PAGE + 1)
        .await?;
    let next = next_cursor(&mut records, |r| &r.id).map(|id| filter.page_query(&id));
    let rows = records
        .into_iter()
        .map(|r| LeadRow::new(r, &agents, c.t))
        .collect();
    let api_query = filter.api_query();
    Ok(LeadsPage {
        statuses: labelled(c.t, &STATUSES),
        back: filter.page_query(&filter.cursor),
        export_query: if api_query.is_empty() {
            api_query
        } else {
            format!("&{api_query}")
        },
        c,
        filter,
        agents,
        rows,
        next,
    })
}

/// The status form on each row of the lead list.
async fn update_lead_status(
    State(state): State<AppState>,
    headers: HeaderMap,
    session: DashboardSession,
    Path(id): Path<String>,
    Form(form): Form<FormPairs>,
) -> Response {
    if let Some(refused) = csrf_refusal(&headers, &session, &form) {
        return refused;
    }
    let mut lead = match state
        .store
        .leads()
        .get(&session.auth.workspace_id, &id)
        .await
    {
        Ok(lead) => lead,
        Err(error) => return store_failure(&headers, &session, error),
    };
    let status = field(&form, "status");
    if !STATUSES.contains(&status) {
        let c = Chrome::new(&headers, Some(&session));
        let page = MessagePage {
            heading: "422".into(),
            message: c.t.invalid_status.into(),
            c,
        };
        return render(StatusCode::UNPROCESSABLE_ENTITY, &page);
    }
    lead.status = status.to_owned();
    lead.updated_at = state.now();
    if let Err(error) = state.store.leads().update(&lead).await {
        return store_failure(&headers, &session, error);
    }
    // Rebuilt from parsed filters, so `back` can only ever lead to the lead list.
    let back = LeadQuery::parse(Some(field(&form, "back")));
    Redirect::to(&with_query("/app/leads", &back.page_query(&back.cursor))).into_response()
}

#[derive(Template)]
#[template(path = "lead.html")]
struct LeadPage {
    c: Chrome,
    id: String,
    title: String,
    status: String,
    status_label: String,
    conversation_id: Option<String>,
    facts: Vec<Fact>,
    statuses: Vec<(&'static str, &'static str)>,
    /// The form's values: the stored ones, or what was posted when it is shown again.
    form_status: String,
    note: String,
    errors: BTreeMap<String, String>,
    saved: bool,
}

impl LeadPage {
    fn new(c: Chrome, lead: LeadRecord, agents: &[(String, String)]) -> Self {
        let t = c.t;
        let title = [&lead.name, &lead.email, &lead.phone]
            .into_iter()
            .find_map(|v| v.clone())
            .unwrap_or_default();
        Self {
            facts: lead_facts(t, &lead, agents),
            statuses: labelled(t, &STATUSES),
            status_label: t.label(&lead.status).to_owned(),
            form_status: lead.status.clone(),
            note: lead.note.unwrap_or_default(),
            conversation_id: lead.conversation_id,
            status: lead.status,
            id: lead.id,
            title,
            errors: BTreeMap::new(),
            saved: false,
            c,
        }
    }

    fn status_is(&self, status: &str) -> bool {
        self.form_status == status
    }
}

fn lead_facts(t: &'static Texts, lead: &LeadRecord, agents: &[(String, String)]) -> Vec<Fact> {
    let text = |v: &Option<String>| v.clone().unwrap_or_default();
    vec![
        fact(t.field_name, text(&lead.name)),
        fact(t.field_email, text(&lead.email)),
        fact(t.field_phone, text(&lead.phone)),
        fact(t.intent, t.label(&lead.intent).to_owned()),
        fact(t.score, lead.score.to_string()),
        fact(t.agent, agent_name(agents, &lead.agent_id)),
        fact(t.page, text(&lead.page_url)),
        time_fact(t.created, lead.created_at),
        time_fact(t.updated, lead.updated_at),
    ]
}

async fn load_lead(
    state: &AppState,
    workspace_id: &str,
    c: Chrome,
    id: &str,
) -> Result<LeadPage, StoreError> {
    let lead = state.store.leads().get(workspace_id, id).await?;
    let agents = agent_names(state, workspace_id).await?;
    Ok(LeadPage::new(c, lead, &agents))
}

async fn lead_page(
    State(state): State<AppState>,
    headers: HeaderMap,
    session: DashboardSession,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
) -> Response {
    let c = Chrome::new(&headers, Some(&session)).at("leads");
    let saved = field(&query_pairs(query.as_deref()), "saved") == "1";
    let loaded = load_lead(&state, &session.auth.workspace_id, c, &id)
        .await
        .map(|page| LeadPage { saved, ..page });
    render_loaded(&headers, &session, loaded)
}

/// Checks the detail form; the errors are keyed by field, as the form shows them.
fn lead_form_errors(t: &Texts, status: &str, note: &str) -> BTreeMap<String, String> {
    let mut errors = BTreeMap::new();
    if !STATUSES.contains(&status) {
        errors.insert("status".to_owned(), t.invalid_status.to_owned());
    }
    if note.chars().count() > MAX_NOTE_CHARS {
        errors.insert("note".to_owned(), t.note_too_long.to_owned());
    }
    errors
}

/// The detail page again, with what was posted and why it was refused.
async fn lead_form_again(
    state: &AppState,
    headers: &HeaderMap,
    session: &DashboardSession,
    lead: LeadRecord,
    form: &FormPairs,
    errors: BTreeMap<String, String>,
) -> Response {
    let c = Chrome::new(headers, Some(session)).at("leads");
    match agent_names(state, &lead.workspace_id).await {
        Ok(agents) => {
            let page = LeadPage {
                form_status: field(form, "status").to_owned(),
                note: field(form, "note").to_owned(),
                errors,
                ..LeadPage::new(c, lead, &agents)
            };
            render(StatusCode::UNPROCESSABLE_ENTITY, &page)
        }
        Err(error) => store_failure(headers, session, error),
    }
}

/// The detail page's form: status and note.
async fn update_lead(
    State(state): State<AppState>,
    headers: HeaderMap,
    session: DashboardSession,
    Path(id): Path<String>,
    Form(form): Form<FormPairs>,
) -> Response {
    if let Some(refused) = csrf_refusal(&headers, &session, &form) {
        return refused;
    }
    let mut lead = match state
        .store
        .leads()
        .get(&session.auth.workspace_id, &id)
        .await
    {
        Ok(lead) => lead,
        Err(error) => return store_failure(&headers, &session, error),
    };
    let (status, note) = (field(&form, "status"), field(&form, "note"));
    let errors = lead_form_errors(Lang::from_headers(&headers).texts(), status, note);
    if !errors.is_empty() {
        return lead_form_again(&state, &headers, &session, lead, &form, errors).await;
    }
    lead.status = status.to_owned();
    lead.note = Some(note.trim().to_owned()).filter(|n| !n.is_empty());
    lead.updated_at = state.now();
    match state.store.leads().update(&lead).await {
        Ok(()) => Redirect::to(&format!("/app/leads/{id}?saved=1")).into_response(),
        Err(error) => store_failure(&headers, &session, error),
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

async fn try_agent_page(
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

// The agent's knowledge base: its documents, uploads, and a search to try retrieval.
// Changes go through the JSON API's own handlers, so both paths check the same things.

/// Passages shown for a search on the page.
const SEARCH_LIMIT: u32 = 10;
/// The longest query the search API takes.
const MAX_QUERY_CHARS: usize = 1_000;
/// Every document an agent may have fits on the page.
const MAX_DOCUMENTS_SHOWN: u32 = super::documents::MAX_DOCUMENTS_PER_AGENT as u32;
/// A pasted text may be 5 MiB; form encoding can triple non-ASCII bytes.
const MAX_TEXT_FORM_BYTES: usize = 16 * 1024 * 1024;

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

struct PassageRow {
    title: String,
    heading_path: String,
    page: Option<i64>,
    score: String,
    text: String,
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
        passages = Some(
            hits.into_iter()
                .map(|h| PassageRow {
                    title: h.title,
                    heading_path: h.heading_path,
                    page: h.page,
                    score: score_text(h.score),
                    text: h.text,
                })
                .collect(),
        );
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

async fn documents_page(
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

/// An error from the JSON API's handlers as a dashboard page.
fn api_refusal(
    headers: &HeaderMap,
    session: &DashboardSession,
    error: super::errors::ApiError,
) -> Response {
    match error.status() {
        StatusCode::NOT_FOUND => not_found_page(headers, session),
        StatusCode::FORBIDDEN => {
            let c = Chrome::new(headers, Some(session));
            render(
                StatusCode::FORBIDDEN,
                &MessagePage {
                    heading: "403".into(),
                    message: c.t.forbidden.into(),
                    c,
                },
            )
        }
        _ => error.into_response(),
    }
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

async fn add_text_document(
    state: State<AppState>,
    headers: HeaderMap,
    session: DashboardSession,
    id: Path<String>,
    Form(form): Form<FormPairs>,
) -> Response {
    add_document(state, headers, session, id, form, TextKind::Text).await
}

async fn add_qa_document(
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
    if let Err(error) = state
        .store
        .agents()
        .get(&session.auth.workspace_id, &id)
        .await
    {
        return store_failure(&headers, &session, error);
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
        return super::errors::ApiError::internal("could not build the request").into_response();
    };
    let uploaded = super::documents::upload(
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

async fn delete_document(
    State(state): State<AppState>,
    headers: HeaderMap,
    session: DashboardSession,
    Path((id, doc_id)): Path<(String, String)>,
    Form(form): Form<FormPairs>,
) -> Response {
    if let Some(refused) = csrf_refusal(&headers, &session, &form) {
        return refused;
    }
    let deleted = super::documents::delete(
        State(state),
        session.auth.clone(),
        Path((id.clone(), doc_id)),
    )
    .await;
    match deleted {
        Ok(_) => Redirect::to(&format!(
            "/app/agents/{id}/documents?done=deleted#documents"
        ))
        .into_response(),
        Err(error) => api_refusal(&headers, &session, error),
    }
}

async fn reindex_document(
    State(state): State<AppState>,
    headers: HeaderMap,
    session: DashboardSession,
    Path((id, doc_id)): Path<(String, String)>,
    Form(form): Form<FormPairs>,
) -> Response {
    if let Some(refused) = csrf_refusal(&headers, &session, &form) {
        return refused;
    }
    let reindexed = super::documents::reindex(
        State(state),
        session.auth.clone(),
        Path((id.clone(), doc_id)),
    )
    .await;
    match reindexed {
        Ok(_) => Redirect::to(&format!(
            "/app/agents/{id}/documents?done=reindexed#documents"
        ))
        .into_response(),
        Err(error) => api_refusal(&headers, &session, error),
    }
}

// AI: the workspace's language-model providers, an agent's AI settings, and a playground
// that answers as the widget would without storing anything. Changes go through the JSON
// API's own handlers, so both paths check the same things and neither ever shows a key.

/// Passages the playground retrieves, as many as a visitor's question gets.
const PLAYGROUND_PASSAGES: u32 = 5;

/// The field errors of a refused API call, the first one per field.
fn problem_errors(error: &super::errors::ApiError) -> BTreeMap<String, String> {
    let mut map = BTreeMap::new();
    let problem = error.problem();
    for e in problem.errors {
        map.entry(e.field).or_insert(e.message);
    }
    if map.is_empty()
        && let Some(detail) = problem.detail
    {
        map.insert(String::new(), detail);
    }
    map
}

/// A provider type as the page names it.
fn provider_kind_label(t: &Texts, kind: &str) -> String {
    match kind {
        "openai" => t.kind_openai.to_owned(),
        "anthropic" => t.kind_anthropic.to_owned(),
        other => other.to_owned(),
    }
}

/// How the agent answers, in a few words: the built-in answerer, or mode · provider · model.
async fn ai_summary(state: &AppState, t: &Texts, agent: &Agent) -> Result<String, StoreError> {
    let provider_id = match (&agent.ai.mode, &agent.ai.provider_id) {
        (AiMode::Llm, Some(id)) => id,
        _ => return Ok(t.mode_builtin.to_owned()),
    };
    match state
        .store
        .providers()
        .get(&agent.workspace_id, provider_id)
        .await
    {
        Ok(provider) => {
            let model = agent.ai.model.clone().or(provider.default_model);
            Ok(match model {
                Some(model) => format!("{} · {} · {model}", t.mode_llm, provider.name),
                None => format!("{} · {}", t.mode_llm, provider.name),
            })
        }
        Err(StoreError::NotFound) => Ok(format!("{} ({})", t.mode_builtin, t.provider_missing)),
        Err(error) => Err(error),
    }
}

/// The outcome of "Test connection", shown on the provider's card.
struct ConnectionTest {
    ok: bool,
    detail: String,
}

impl ConnectionTest {
    /// From the API's `{ok, model, latency_ms, error?}`.
    fn from_answer(answer: &serde_json::Value, t: &Texts) -> Self {
        let ok = answer["ok"].as_bool().unwrap_or(false);
        let model = answer["model"].as_str().unwrap_or("");
        let latency = answer["latency_ms"].as_u64().unwrap_or(0);
        let detail = if ok {
            format!("{model} · {latency} {}", t.milliseconds)
        } else {
            let error = answer["error"].as_str().unwrap_or("");
            format!("{model}: {error}")
        };
        Self { ok, detail }
    }
}

/// One provider as the list shows it: never the key, only its hint.
struct ProviderRow {
    id: String,
    name: String,
    kind: String,
    base_url: String,
    default_model: String,
    embedding_model: String,
    key_hint: String,
    test: Option<ConnectionTest>,
}

impl ProviderRow {
    fn new(p: super::providers::ProviderView, t: &Texts) -> Self {
        Self {
            kind: provider_kind_label(t, &p.kind),
            base_url: p.base_url.unwrap_or_default(),
            default_model: p.default_model.unwrap_or_default(),
            embedding_model: p.embedding_model.unwrap_or_default(),
            key_hint: p.api_key_hint.unwrap_or_default(),
            name: p.name,
            id: p.id,
            test: None,
        }
    }
}

/// The add form's values; the key is never sent back to the browser.
#[derive(Default)]
struct ProviderForm {
    kind: String,
    name: String,
    base_url: String,
    default_model: String,
    embedding_model: String,
}

impl ProviderForm {
    fn from_post(form: &FormPairs) -> Self {
        Self {
            kind: field(form, "kind").to_owned(),
            name: field(form, "name").to_owned(),
            base_url: field(form, "base_url").to_owned(),
            default_model: field(form, "default_model").to_owned(),
            embedding_model: field(form, "embedding_model").to_owned(),
        }
    }

    fn is_anthropic(&self) -> bool {
        self.kind == "anthropic"
    }
}

#[derive(Template)]
#[template(path = "providers.html")]
struct ProvidersPage {
    c: Chrome,
    rows: Vec<ProviderRow>,
    can_edit: bool,
    form: ProviderForm,
    errors: BTreeMap<String, String>,
    notice: Option<&'static str>,
}

async fn load_providers(
    state: &AppState,
    session: &DashboardSession,
    c: Chrome,
) -> Result<ProvidersPage, StoreError> {
    let records = state
        .store
        .providers()
        .list(&session.auth.workspace_id)
        .await?;
    let rows = records
        .into_iter()
        .map(|p| ProviderRow::new(p.into(), c.t))
        .collect();
    Ok(ProvidersPage {
        can_edit: session.auth.role.can_configure(),
        c,
        rows,
        form: ProviderForm::default(),
        errors: BTreeMap::new(),
        notice: None,
    })
}

async fn providers_page(
    State(state): State<AppState>,
    headers: HeaderMap,
    session: DashboardSession,
    RawQuery(query): RawQuery,
) -> Response {
    let c = Chrome::new(&headers, Some(&session)).at("providers");
    let notice = match field(&query_pairs(query.as_deref()), "done") {
        "added" => Some(c.t.provider_added),
        "deleted" => Some(c.t.provider_deleted),
        _ => None,
    };
    let loaded = load_providers(&state, &session, c)
        .await
        .map(|page| ProvidersPage { notice, ..page });
    render_loaded(&headers, &session, loaded)
}

/// Posts the add form to `POST /api/v1/providers`.
async fn create_provider(
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
    let body: serde_json::Map<String, serde_json::Value> = [
        "kind",
        "name",
        "base_url",
        "api_key",
        "default_model",
        "embedding_model",
    ]
    .into_iter()
    .map(|key| (key.to_owned(), field(&form, key).into()))
    .collect();
    let created = super::providers::create(
        State(state.clone()),
        session.auth.clone(),
        super::extract::ApiJson(body),
    )
    .await;
    match created {
        Ok(_) => Redirect::to("/app/providers?done=added").into_response(),
        Err(error) if error.status() == StatusCode::UNPROCESSABLE_ENTITY => {
            let c = Chrome::new(&headers, Some(&session)).at("providers");
            match load_providers(&state, &session, c).await {
                Ok(page) => render(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    &ProvidersPage {
                        form: ProviderForm::from_post(&form),
                        errors: problem_errors(&error),
                        ..page
                    },
                ),
                Err(error) => store_failure(&headers, &session, error),
            }
        }
        Err(error) => api_refusal(&headers, &session, error),
    }
}

/// Runs `POST /api/v1/providers/{id}/test` and shows the outcome on the provider's card.
async fn test_provider(
    State(state): State<AppState>,
    headers: HeaderMap,
    session: DashboardSession,
    Path(id): Path<String>,
    Form(form): Form<FormPairs>,
) -> Response {
    if let Some(refused) = csrf_refusal(&headers, &session, &form) {
        return refused;
    }
    let c = Chrome::new(&headers, Some(&session)).at("providers");
    let tested =
        super::providers::test(State(state.clone()), session.auth.clone(), Path(id.clone())).await;
    let outcome = match tested {
        Ok(axum::Json(answer)) => ConnectionTest::from_answer(&answer, c.t),
        // No default model, or a base URL the client cannot use.
        Err(error) if error.status() == StatusCode::UNPROCESSABLE_ENTITY => ConnectionTest {
            ok: false,
            detail: problem_errors(&error)
                .into_values()
                .next()
                .unwrap_or_default(),
        },
        Err(error) => return api_refusal(&headers, &session, error),
    };
    match load_providers(&state, &session, c).await {
        Ok(mut page) => {
            if let Some(row) = page.rows.iter_mut().find(|r| r.id == id) {
                row.test = Some(outcome);
            }
            render(StatusCode::OK, &page)
        }
        Err(error) => store_failure(&headers, &session, error),
    }
}

async fn delete_provider(
    State(state): State<AppState>,
    headers: HeaderMap,
    session: DashboardSession,
    Path(id): Path<String>,
    Form(form): Form<FormPairs>,
) -> Response {
    if let Some(refused) = csrf_refusal(&headers, &session, &form) {
        return refused;
    }
    match super::providers::delete(State(state), session.auth.clone(), Path(id)).await {
        Ok(_) => Redirect::to("/app/providers?done=deleted").into_response(),
        Err(error) => api_refusal(&headers, &session, error),
    }
}

/// The AI settings form's values as the page shows them.
struct AiForm {
    mode: String,
    provider_id: String,
    model: String,
    temperature: String,
    max_tokens: String,
    instructions: String,
    /// Handoff phrases, one per line.
    handoff: String,
    redact: bool,
}

/// An empty field is `None`; a decimal comma is read as a point.
fn optional_number<T: std::str::FromStr>(raw: &str) -> Result<Option<T>, ()> {
    let raw = raw.trim().replace(',', ".");
    if raw.is_empty() {
        return Ok(None);
    }
    raw.parse().map(Some).map_err(|_| ())
}

impl AiForm {
    fn from_agent(agent: &Agent) -> Self {
        let ai = &agent.ai;
        Self {
            mode: match ai.mode {
                AiMode::Builtin => "builtin",
                AiMode::Llm => "llm",
            }
            .to_owned(),
            provider_id: ai.provider_id.clone().unwrap_or_default(),
            model: ai.model.clone().unwrap_or_default(),
            temperature: ai.temperature.map(|t| t.to_string()).unwrap_or_default(),
            max_tokens: ai.max_tokens.map(|m| m.to_string()).unwrap_or_default(),
            instructions: agent.instructions.clone().unwrap_or_default(),
            handoff: ai.handoff_keywords.join("\n"),
            redact: agent.privacy.redact_before_ai,
        }
    }

    fn from_post(form: &FormPairs) -> Self {
        Self {
            mode: field(form, "mode").to_owned(),
            provider_id: field(form, "provider_id").to_owned(),
            model: field(form, "model").to_owned(),
            temperature: field(form, "temperature").to_owned(),
            max_tokens: field(form, "max_tokens").to_owned(),
            instructions: field(form, "instructions").to_owned(),
            handoff: field(form, "handoff_keywords").to_owned(),
            redact: has(form, "redact_before_ai"),
        }
    }

    fn is_llm(&self) -> bool {
        self.mode == "llm"
    }

    /// The same input `PATCH /api/v1/agents/{id}` takes; numbers that cannot be read are
    /// reported under the API's own field names.
    fn to_input(&self, t: &Texts) -> Result<AgentInput, BTreeMap<String, String>> {
        let mut errors = BTreeMap::new();
        let temperature = optional_number::<f32>(&self.temperature).unwrap_or_else(|()| {
            errors.insert("ai.temperature".to_owned(), t.number_invalid.to_owned());
            None
        });
        let max_tokens = optional_number::<u32>(&self.max_tokens).unwrap_or_else(|()| {
            errors.insert("ai.max_tokens".to_owned(), t.number_invalid.to_owned());
            None
        });
        if !errors.is_empty() {
            return Err(errors);
        }
        let text = |v: &str| Some(Some(v.trim().to_owned()).filter(|v| !v.is_empty()));
        Ok(AgentInput {
            instructions: Some(self.instructions.clone()),
            ai: Some(AiInput {
                mode: Some(self.mode.clone()).filter(|m| !m.is_empty()),
                provider_id: text(&self.provider_id),
                model: text(&self.model),
                temperature: Some(temperature),
                max_tokens: Some(max_tokens),
                handoff_keywords: Some(self.handoff.lines().map(str::to_owned).collect()),
            }),
            privacy: Some(PrivacyInput {
                redact_before_ai: Some(self.redact),
            }),
            ..Default::default()
        })
    }
}

/// A provider the agent may choose, with the model it uses by default.
struct ProviderChoice {
    id: String,
    label: String,
    default_model: String,
}

#[derive(Template)]
#[template(path = "agent_ai.html")]
struct AgentAiPage {
    c: Chrome,
    agent_id: String,
    agent_name: String,
    form: AiForm,
    providers: Vec<ProviderChoice>,
    /// The chosen provider's default model, shown in the empty model field.
    model_placeholder: String,
    errors: BTreeMap<String, String>,
    saved: bool,
    can_edit: bool,
}

impl AgentAiPage {
    /// The page for `agent`, its form showing `form` (the stored or the posted values).
    async fn load(
        state: &AppState,
        session: &DashboardSession,
        c: Chrome,
        agent: &Agent,
        form: AiForm,
    ) -> Result<Self, StoreError> {
        let records = state
            .store
            .providers()
            .list(&session.auth.workspace_id)
            .await?;
        let providers: Vec<ProviderChoice> = records
            .into_iter()
            .map(|p| ProviderChoice {
                label: format!("{} ({})", p.name, provider_kind_label(c.t, &p.kind)),
                default_model: p.default_model.unwrap_or_default(),
                id: p.id,
            })
            .collect();
        let model_placeholder = providers
            .iter()
            .find(|p| p.id == form.provider_id)
            .map(|p| p.default_model.clone())
            .unwrap_or_default();
        Ok(Self {
            can_edit: session.auth.role.can_configure(),
            c,
            agent_id: agent.id.clone(),
            agent_name: agent.name.as_str().to_owned(),
            form,
            providers,
            model_placeholder,
            errors: BTreeMap::new(),
            saved: false,
        })
    }
}

async fn agent_ai_page(
    State(state): State<AppState>,
    headers: HeaderMap,
    session: DashboardSession,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
) -> Response {
    let saved = field(&query_pairs(query.as_deref()), "saved") == "1";
    let agent = match state
        .store
        .agents()
        .get(&session.auth.workspace_id, &id)
        .await
    {
        Ok(agent) => agent,
        Err(error) => return store_failure(&headers, &session, error),
    };
    let c = Chrome::new(&headers, Some(&session)).at("agents");
    let loaded = AgentAiPage::load(&state, &session, c, &agent, AiForm::from_agent(&agent))
        .await
        .map(|page| AgentAiPage { saved, ..page });
    render_loaded(&headers, &session, loaded)
}

/// Saves the AI settings through `PATCH /api/v1/agents/{id}`'s handler.
async fn update_agent_ai(
    State(state): State<AppState>,
    headers: HeaderMap,
    session: DashboardSession,
    Path(id): Path<String>,
    Form(form): Form<FormPairs>,
) -> Response {
    if let Some(refused) = csrf_refusal(&headers, &session, &form) {
        return refused;
    }
    let agent = match state
        .store
        .agents()
        .get(&session.auth.workspace_id, &id)
        .await
    {
        Ok(agent) => agent,
        Err(error) => return store_failure(&headers, &session, error),
    };
    if let Some(refused) = forbidden_role(&headers, &session) {
        return refused;
    }
    let posted = AiForm::from_post(&form);
    let errors = match posted.to_input(Lang::from_headers(&headers).texts()) {
        Ok(input) => {
            let updated = super::agents::update(
                State(state.clone()),
                session.auth.clone(),
                Path(id.clone()),
                super::extract::ApiJson(input),
            )
            .await;
            match updated {
                Ok(_) => {
                    return Redirect::to(&format!("/app/agents/{id}/ai?saved=1")).into_response();
                }
                Err(error) if error.status() == StatusCode::UNPROCESSABLE_ENTITY => {
                    problem_errors(&error)
                }
                Err(error) => return api_refusal(&headers, &session, error),
            }
        }
        Err(errors) => errors,
    };
    let c = Chrome::new(&headers, Some(&session)).at("agents");
    match AgentAiPage::load(&state, &session, c, &agent, posted).await {
        Ok(page) => render(
            StatusCode::UNPROCESSABLE_ENTITY,
            &AgentAiPage { errors, ..page },
        ),
        Err(error) => store_failure(&headers, &session, error),
    }
}

/// What the playground found and answered.
struct PlaygroundResult {
    answer: String,
    /// `provider · model`, or the built-in answerer (and why, when it stood in).
    answered_by: String,
    fell_back: bool,
    /// The question as the model received it; `None` when no model was asked.
    sent: Option<String>,
    redacted: bool,
    /// The system prompt sent with it.
    system: String,
    tokens: Option<String>,
    hand_off: bool,
    ask_contact: bool,
    passages: Vec<PassageRow>,
}

#[derive(Template)]
#[template(path = "playground.html")]
struct PlaygroundPage {
    c: Chrome,
    agent: Agent,
    ai_summary: String,
    q: String,
    error: Option<&'static str>,
    result: Option<PlaygroundResult>,
}

/// A sender whose pieces are read and dropped, so an answerer never waits on it and a
/// model stream is not taken for a visitor who left.
fn discarding_sender() -> tokio::sync::mpsc::Sender<String> {
    let (tx, mut rx) = tokio::sync::mpsc::channel::<String>(64);
    tokio::spawn(async move { while rx.recv().await.is_some() {} });
    tx
}

/// Answers `q` the way the widget would (`services::chat`), but stores nothing: no
/// conversation, no messages, no usage, no classification.
async fn run_playground(
    state: &AppState,
    t: &Texts,
    agent: &Agent,
    q: &str,
) -> Result<PlaygroundResult, StoreError> {
    use crate::services::{
        answerer::{self, AnswerRequest, ReplyLanguage},
        chat, knowledge, llm,
    };

    let passages = knowledge::retrieve(
        state,
        &agent.workspace_id,
        &agent.id,
        q,
        PLAYGROUND_PASSAGES,
    )
    .await?;
    let hint = chat::ContactHint::from_text(q);
    let language = chat::reply_language(
        auralix_ai::detect_language(q),
        agent,
        agent.language.as_deref(),
    );
    let request = || AnswerRequest {
        agent,
        question: q,
        language,
        contacts_in_text: !hint.is_empty(),
        passages: &passages,
    };
    let deltas = discarding_sender();
    // As the widget: no model call without passages or instructions to answer from.
    let has_material = !passages.is_empty()
        || agent
            .instructions
            .as_deref()
            .is_some_and(|i| !i.trim().is_empty());
    let wants_model = agent.ai.mode == AiMode::Llm;
    let target = if wants_model && has_material {
        llm::target(state, agent).await?
    } else {
        None
    };
    let builtin = t.mode_builtin;
    let mut sent = None;
    let mut system = String::new();
    let mut tokens = None;
    let (text, ask_contact, mut hand_off, answered_by, fell_back) = match target {
        None => {
            let a = state.answerer.answer(request(), &deltas).await;
            let (by, fell_back) = if !wants_model {
                (builtin.to_owned(), false)
            } else if !has_material {
                (format!("{builtin} ({})", t.no_material), true)
            } else {
                let why = t.provider_unavailable;
                (format!("{builtin} ({}: {why})", t.fallback), true)
            };
            (a.text, a.ask_contact, a.wants_human, by, fell_back)
        }
        Some((client, provider, model)) => {
            let language_name = match language {
                ReplyLanguage::Ru => "Russian",
                ReplyLanguage::En => "English unless the visitor writes another language",
            };
            let protected = llm::protect(agent, q);
            system = llm::system_prompt(agent, &passages, language_name);
            let chat_request = llm::request(
                agent,
                model.clone(),
                system.clone(),
                vec![auralix_ai::llm::ChatMessage::user(protected.clone())],
            );
            sent = Some(protected);
            let by_model = format!("{} · {model}", provider.name);
            match llm::answer(client.as_ref(), chat_request, &deltas).await {
                Ok(a) => {
                    tokens = Some(format!(
                        "{} {} · {} {}",
                        a.input_tokens, t.tokens_in, a.output_tokens, t.tokens_out
                    ));
                    (a.text, !a.knew, false, by_model, false)
                }
                Err((error, partial)) if !partial.trim().is_empty() => {
                    let text = format!("{}…", partial.trim_end());
                    let by = format!("{by_model} ({}: {error})", t.cut_off);
                    (text, false, false, by, true)
                }
                Err((error, _)) => {
                    let a = state.answerer.answer(request(), &deltas).await;
                    let by = format!("{builtin} ({}: {error})", t.fallback);
                    (a.text, a.ask_contact, a.wants_human, by, true)
                }
            }
        }
    };
    // The widget's handoff triggers: asking for a person, or one of the agent's phrases.
    let lowered = q.to_lowercase();
    if answerer::wants_human(q)
        || agent
            .ai
            .handoff_keywords
            .iter()
            .any(|k| lowered.contains(k.as_str()))
    {
        hand_off = true;
    }
    Ok(PlaygroundResult {
        answer: text,
        answered_by,
        fell_back,
        redacted: sent.as_deref().is_some_and(|s| s != q),
        sent,
        system,
        tokens,
        ask_contact: ask_contact || hand_off,
        hand_off,
        passages: passages
            .into_iter()
            .map(|h| PassageRow {
                title: h.title,
                heading_path: h.heading_path,
                page: h.page,
                score: score_text(h.score),
                text: h.text,
            })
            .collect(),
    })
}

async fn playground_page(
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
        Err(error) => return store_failure(&headers, &session, error),
    };
    let c = Chrome::new(&headers, Some(&session)).at("agents");
    let ai_summary = match ai_summary(&state, c.t, &agent).await {
        Ok(summary) => summary,
        Err(error) => return store_failure(&headers, &session, error),
    };
    render(
        StatusCode::OK,
        &PlaygroundPage {
            c,
            agent,
            ai_summary,
            q: String::new(),
            error: None,
            result: None,
        },
    )
}

async fn playground_submit(
    State(state): State<AppState>,
    headers: HeaderMap,
    session: DashboardSession,
    Path(id): Path<String>,
    Form(form): Form<FormPairs>,
) -> Response {
    if let Some(refused) = csrf_refusal(&headers, &session, &form) {
        return refused;
    }
    let agent = match state
        .store
        .agents()
        .get(&session.auth.workspace_id, &id)
        .await
    {
        Ok(agent) => agent,
        Err(error) => return store_failure(&headers, &session, error),
    };
    let c = Chrome::new(&headers, Some(&session)).at("agents");
    let ai_summary = match ai_summary(&state, c.t, &agent).await {
        Ok(summary) => summary,
        Err(error) => return store_failure(&headers, &session, error),
    };
    let q = field(&form, "q").trim().to_owned();
    let error = if q.is_empty() {
        Some(c.t.question_required)
    } else if q.chars().count() > super::widget::MAX_MESSAGE_CHARS {
        Some(c.t.question_too_long)
    } else {
        None
    };
    let (status, result) = if error.is_some() {
        (StatusCode::UNPROCESSABLE_ENTITY, None)
    } else {
        match run_playground(&state, c.t, &agent, &q).await {
            Ok(result) => (StatusCode::OK, Some(result)),
            Err(error) => return store_failure(&headers, &session, error),
        }
    };
    render(
        status,
        &PlaygroundPage {
            c,
            agent,
            ai_summary,
            q,
            error,
            result,
        },
    )
}
