//! The dashboard: server-rendered HTML with a little JS, in English and Russian.
//!
//! Every form post that changes something carries the session's CSRF token (`_csrf`);
//! the same Origin / `Sec-Fetch-Site` check as the API applies on top, and `SameSite=Lax`
//! cookies are the third layer.

mod accounts;
mod agents;
mod ai;
mod inbox;
mod knowledge;

use std::collections::BTreeMap;

use askama::Template;
use auralix_core::{Agent, ValidationErrors};
use auralix_store::StoreError;
use axum::{
    Router,
    extract::{DefaultBodyLimit, FromRequestParts, Request},
    http::{HeaderMap, HeaderValue, Method, StatusCode, header, request::Parts},
    middleware::{Next, from_fn, from_fn_with_state},
    response::{Html, IntoResponse, Redirect, Response},
    routing::{get, post},
};
use time::{OffsetDateTime, format_description::well_known::Rfc3339};

use self::{
    accounts::{login_page, login_submit, logout_submit, root, signup_page, signup_submit},
    agents::{
        agent_page, agents_page, create_agent, delete_agent, edit_agent_page, new_agent_page,
        try_agent_page, update_agent,
    },
    ai::{
        agent_ai_page, create_provider, delete_provider, playground_page, playground_submit,
        providers_page, test_provider, update_agent_ai,
    },
    inbox::{
        conversation_page, conversations_page, lead_page, leads_page, update_lead,
        update_lead_status,
    },
    knowledge::{
        MAX_TEXT_FORM_BYTES, add_qa_document, add_text_document, delete_document, documents_page,
        reindex_document,
    },
};
use super::{
    auth::{self, Auth, Credential, SESSION_COOKIE},
    middleware::csrf_origin_check,
};
use crate::{
    i18n::{LANG_COOKIE, Lang, Texts},
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
                    include_str!("../../../static/app.css"),
                )
            }),
        )
        .route(
            "/static/app.js",
            get(|| async {
                static_file(
                    "text/javascript; charset=utf-8",
                    include_str!("../../../static/app.js"),
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
        Some(forbidden_page(headers, session))
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

/// The 403 page: a form without its token, a role that may not configure, or an API refusal.
fn forbidden_page(headers: &HeaderMap, session: &DashboardSession) -> Response {
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

/// Refuses a change to a member whose role may not configure the workspace.
/// (`Some` is the refusal to send.)
fn forbidden_role(headers: &HeaderMap, session: &DashboardSession) -> Option<Response> {
    if session.auth.role.can_configure() {
        return None;
    }
    Some(forbidden_page(headers, session))
}

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

fn query_pairs(raw: Option<&str>) -> FormPairs {
    url::form_urlencoded::parse(raw.unwrap_or("").as_bytes())
        .into_owned()
        .collect()
}

/// Another workspace's id (or a deleted one) is the 404 page; anything else a 500.
fn store_failure(headers: &HeaderMap, session: &DashboardSession, error: StoreError) -> Response {
    match error {
        StoreError::NotFound => not_found_page(headers, session),
        error => super::errors::ApiError::from(error).into_response(),
    }
}

/// The workspace's agent `id`, or the page to send instead (see [`store_failure`]).
async fn load_agent(
    state: &AppState,
    headers: &HeaderMap,
    session: &DashboardSession,
    id: &str,
) -> Result<Agent, Response> {
    state
        .store
        .agents()
        .get(&session.auth.workspace_id, id)
        .await
        .map_err(|error| store_failure(headers, session, error))
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

/// An error from the JSON API's handlers as a dashboard page.
fn api_refusal(
    headers: &HeaderMap,
    session: &DashboardSession,
    error: super::errors::ApiError,
) -> Response {
    match error.status() {
        StatusCode::NOT_FOUND => not_found_page(headers, session),
        StatusCode::FORBIDDEN => forbidden_page(headers, session),
        _ => error.into_response(),
    }
}
