//! Authentication: who is calling, and the account endpoints (signup, login, logout,
//! tokens, me).
//!
//! Two credentials are accepted: `Authorization: Bearer <api token>` (bound to one
//! workspace) and the `auralix_session` cookie (a server-side session in the user's
//! current workspace). Only SHA-256 digests of either are stored.

use std::net::SocketAddr;

use auralix_core::Role;
use auralix_store::Membership;
use axum::{
    Json,
    extract::{ConnectInfo, FromRequestParts, State},
    http::{HeaderMap, HeaderValue, StatusCode, header, request::Parts},
    response::{IntoResponse, Response},
};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::{
    errors::{ApiError, ApiResult},
    extract::ApiJson,
};
use crate::{
    services::accounts::{self, AccountError, IssuedSession, SignupInput},
    state::AppState,
};

pub const SESSION_COOKIE: &str = "auralix_session";

/// How the caller proved who they are.
#[derive(Debug, Clone)]
pub enum Credential {
    Bearer,
    /// A browser session: its token digest and the CSRF token bound to it.
    Session {
        digest: String,
        csrf_token: String,
    },
}

/// An authenticated caller acting inside one workspace.
#[derive(Debug, Clone)]
pub struct Auth {
    pub user_id: String,
    pub workspace_id: String,
    pub role: Role,
    pub credential: Credential,
}

impl Auth {
    /// Refuses members whose role may not change configuration.
    pub fn require_configure(&self) -> ApiResult<()> {
        if self.role.can_configure() {
            Ok(())
        } else {
            Err(ApiError::forbidden("your role may not change this"))
        }
    }
}

/// The value of one cookie in the request.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

fn bearer(headers: &HeaderMap) -> Option<Result<&str, ()>> {
    let value = headers.get(header::AUTHORIZATION)?;
    let value = value.to_str().map_err(|_| ());
    Some(value.and_then(|v| {
        v.strip_prefix("Bearer ")
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .ok_or(())
    }))
}

impl Auth {
    /// Resolves the caller from headers; `Ok(None)` when no credential was sent.
    pub async fn resolve(state: &AppState, headers: &HeaderMap) -> ApiResult<Option<Auth>> {
        let now = state.now();
        if let Some(token) = bearer(headers) {
            let token = token.map_err(|_| ApiError::unauthorized())?;
            let record = state
                .store
                .sessions()
                .find_api_token(&accounts::digest(token), now)
                .await?;
            let Some(record) = record else {
                return Err(ApiError::unauthorized());
            };
            return Self::for_member(
                state,
                &record.user_id,
                &record.workspace_id,
                Credential::Bearer,
            )
            .await
            .map(Some);
        }
        let Some(token) = cookie(headers, SESSION_COOKIE) else {
            return Ok(None);
        };
        let digest = accounts::digest(token);
        let Some(session) = state.store.sessions().find(&digest, now).await? else {
            return Ok(None);
        };
        let credential = Credential::Session {
            digest,
            csrf_token: session.csrf_token,
        };
        Self::for_member(state, &session.user_id, &session.workspace_id, credential)
            .await
            .map(Some)
    }

    async fn for_member(
        state: &AppState,
        user_id: &str,
        workspace_id: &str,
        credential: Credential,
    ) -> ApiResult<Auth> {
        // A removed membership invalidates the credential at once.
        let membership = state
            .store
            .accounts()
            .membership(user_id, workspace_id)
            .await
            .map_err(|e| match e {
                auralix_store::StoreError::NotFound => ApiError::unauthorized(),
                other => other.into(),
            })?;
        Ok(Auth {
            user_id: membership.user.id,
            workspace_id: membership.workspace.id,
            role: membership.role,
            credential,
        })
    }
}

impl FromRequestParts<AppState> for Auth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        Auth::resolve(state, &parts.headers)
            .await?
            .ok_or_else(ApiError::unauthorized)
    }
}

/// The client's IP as the socket saw it.
pub fn client_ip(parts_ext: &axum::http::Extensions) -> String {
    parts_ext
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(addr)| addr.ip().to_string())
        .unwrap_or_else(|| "unknown".to_owned())
}

#[derive(Serialize)]
pub struct UserView {
    pub id: String,
    pub email: String,
    pub name: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

#[derive(Serialize)]
pub struct WorkspaceView {
    pub id: String,
    pub name: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

#[derive(Serialize)]
pub struct AccountView {
    pub user: UserView,
    pub workspace: WorkspaceView,
    pub role: Role,
}

impl From<Membership> for AccountView {
    fn from(m: Membership) -> Self {
        Self {
            user: UserView {
                id: m.user.id,
                email: m.user.email,
                name: m.user.name,
                created_at: m.user.created_at,
            },
            workspace: WorkspaceView {
                id: m.workspace.id,
                name: m.workspace.name,
                created_at: m.workspace.created_at,
            },
            role: m.role,
        }
    }
}

impl From<AccountError> for ApiError {
    fn from(error: AccountError) -> Self {
        match error {
            AccountError::Invalid(errors) => ApiError::validation(errors),
            AccountError::EmailTaken => {
                ApiError::conflict("email", "an account with this e-mail already exists")
            }
            AccountError::InvalidCredentials => ApiError::invalid_credentials(),
            AccountError::Store(e) => e.into(),
            AccountError::Hashing(e) => ApiError::internal(e),
        }
    }
}

/// `Set-Cookie` for a new session.
pub fn session_cookie(state: &AppState, session: &IssuedSession) -> HeaderValue {
    let secure = if state.settings.https() {
        "; Secure"
    } else {
        ""
    };
    let max_age = (session.expires_at - state.now()).whole_seconds().max(0);
    HeaderValue::from_str(&format!(
        "{SESSION_COOKIE}={}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age}{secure}",
        session.token
    ))
    .expect("token is url-safe")
}

pub fn clear_session_cookie(state: &AppState) -> HeaderValue {
    let secure = if state.settings.https() {
        "; Secure"
    } else {
        ""
    };
    HeaderValue::from_str(&format!(
        "{SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0{secure}"
    ))
    .expect("static")
}

/// Refuses the attempt when the IP or the e-mail has tried too often.
pub fn check_login_rate(state: &AppState, ip: &str, email: &str) -> ApiResult<()> {
    state
        .login_limiter
        .check(ip, email)
        .map_err(|wait| ApiError::rate_limited(wait.as_secs_f64().ceil() as u64))
}

fn user_agent(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
}

/// Starts a session and answers with its cookie.
async fn respond_with_session(
    state: &AppState,
    headers: &HeaderMap,
    ip: &str,
    status: StatusCode,
    membership: Membership,
) -> ApiResult<Response> {
    let session = accounts::start_session(
        &state.store,
        &membership,
        Some(ip),
        user_agent(headers),
        state.now(),
    )
    .await?;
    let mut response = (status, Json(AccountView::from(membership))).into_response();
    response
        .headers_mut()
        .append(header::SET_COOKIE, session_cookie(state, &session));
    Ok(response)
}

pub async fn signup(
    State(state): State<AppState>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    ApiJson(input): ApiJson<SignupInput>,
) -> ApiResult<Response> {
    let membership = accounts::sign_up(&state.store, &input, state.now()).await?;
    tracing::info!(user_id = %membership.user.id, workspace_id = %membership.workspace.id, "account created");
    respond_with_session(
        &state,
        &headers,
        &addr.ip().to_string(),
        StatusCode::CREATED,
        membership,
    )
    .await
}

#[derive(Deserialize)]
pub struct LoginInput {
    pub email: String,
    pub password: String,
}

pub async fn login(
    State(state): State<AppState>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    ApiJson(input): ApiJson<LoginInput>,
) -> ApiResult<Response> {
    let ip = addr.ip().to_string();
    check_login_rate(&state, &ip, &input.email)?;
    let membership = accounts::authenticate(&state.store, &input.email, &input.password).await?;
    respond_with_session(&state, &headers, &ip, StatusCode::OK, membership).await
}

/// Revokes the browser session (the row is deleted) and clears the cookie.
pub async fn logout(State(state): State<AppState>, headers: HeaderMap) -> ApiResult<Response> {
    if let Some(token) = cookie(&headers, SESSION_COOKIE) {
        state
            .store
            .sessions()
            .delete(&accounts::digest(token))
            .await?;
    }
    let mut response = StatusCode::NO_CONTENT.into_response();
    response
        .headers_mut()
        .append(header::SET_COOKIE, clear_session_cookie(&state));
    Ok(response)
}

#[derive(Deserialize)]
pub struct TokenInput {
    pub email: String,
    pub password: String,
    pub name: Option<String>,
}

#[derive(Serialize)]
pub struct TokenView {
    pub token: String,
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
}

pub async fn token(
    State(state): State<AppState>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    ApiJson(input): ApiJson<TokenInput>,
) -> ApiResult<(StatusCode, Json<TokenView>)> {
    check_login_rate(&state, &addr.ip().to_string(), &input.email)?;
    let name = match input
        .name
        .as_deref()
        .map(str::trim)
        .filter(|n| !n.is_empty())
    {
        Some(n) if n.chars().count() > 100 => {
            return Err(ApiError::invalid_field(
                "name",
                "must be at most 100 characters",
            ));
        }
        Some(n) => n.to_owned(),
        None => "API token".to_owned(),
    };
    let membership = accounts::authenticate(&state.store, &input.email, &input.password).await?;
    let (token, expires_at) =
        accounts::issue_api_token(&state.store, &membership, &name, state.now()).await?;
    Ok((StatusCode::CREATED, Json(TokenView { token, expires_at })))
}

pub async fn me(State(state): State<AppState>, auth: Auth) -> ApiResult<Json<AccountView>> {
    let membership = state
        .store
        .accounts()
        .membership(&auth.user_id, &auth.workspace_id)
        .await?;
    Ok(Json(membership.into()))
}
