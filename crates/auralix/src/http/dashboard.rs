//! The dashboard: server-rendered HTML with a little JS, in English and Russian.
//!
//! Every form post that changes something carries the session's CSRF token (`_csrf`);
//! the same Origin / `Sec-Fetch-Site` check as the API applies on top, and `SameSite=Lax`
//! cookies are the third layer.

use std::collections::BTreeMap;

use askama::Template;
use auralix_core::{
    Agent, AgentDraft, AgentInput, AgentPatch, AppearanceInput, LeadCaptureInput, LeadField,
    ValidationErrors, WidgetPosition,
};
use axum::{
    Form, Router,
    extract::{FromRequestParts, Path, Request, State},
    http::{HeaderMap, HeaderValue, Method, StatusCode, header, request::Parts},
    middleware::{Next, from_fn, from_fn_with_state},
    response::{Html, IntoResponse, Redirect, Response},
    routing::{get, post},
};

use super::{
    agents::embed_snippet,
    auth::{self, Auth, Credential, SESSION_COOKIE},
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
        }
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
                c: Chrome::new(&headers, Some(&session)),
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
            render(
                StatusCode::OK,
                &AgentPage {
                    c: Chrome::new(&headers, Some(&session)),
                    agent,
                    snippet,
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
