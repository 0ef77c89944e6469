//! Signing in and out: the login and signup pages and their forms, logout, and the root
//! redirect to whichever of the app or the login page fits.

use std::collections::BTreeMap;

use askama::Template;
use auralix_core::ValidationErrors;
use auralix_store::Membership;
use axum::{
    Form,
    extract::State,
    http::{HeaderMap, StatusCode, header},
    response::{IntoResponse, Redirect, Response},
};

use super::{Chrome, DashboardSession, FormPairs, csrf_refusal, errors_map, field, render};
use crate::{
    http::auth::{self, Auth, Credential},
    services::accounts::{self, AccountError, SignupInput},
    state::AppState,
};

pub(super) async fn root(State(state): State<AppState>, headers: HeaderMap) -> Redirect {
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

pub(super) async fn login_page(headers: HeaderMap) -> Response {
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

/// Starts a session for a member who just signed in or up, and sends them to the app.
async fn signed_in(
    state: &AppState,
    headers: &HeaderMap,
    membership: &Membership,
    ip: &str,
) -> Response {
    let ua = headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok());
    match accounts::start_session(&state.store, membership, Some(ip), ua, state.now()).await {
        Ok(session) => with_session_cookie(state, &session, "/app"),
        Err(error) => crate::http::errors::ApiError::from(error).into_response(),
    }
}

pub(super) async fn login_submit(
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
        Ok(membership) => signed_in(&state, &headers, &membership, &ip).await,
        Err(AccountError::InvalidCredentials) => render(
            StatusCode::UNAUTHORIZED,
            &LoginPage {
                message: Some(c.t.bad_credentials),
                c,
                email,
            },
        ),
        Err(error) => crate::http::errors::ApiError::from(error).into_response(),
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

pub(super) async fn signup_page(headers: HeaderMap) -> Response {
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

pub(super) async fn signup_submit(
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
            return signed_in(&state, &headers, &membership, &addr.ip().to_string()).await;
        }
        Err(AccountError::Invalid(errors)) => (StatusCode::UNPROCESSABLE_ENTITY, errors),
        Err(AccountError::EmailTaken) => (
            StatusCode::CONFLICT,
            ValidationErrors::single("email", "an account with this e-mail already exists"),
        ),
        Err(error) => return crate::http::errors::ApiError::from(error).into_response(),
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

pub(super) async fn logout_submit(
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
        return crate::http::errors::ApiError::from(error).into_response();
    }
    let mut response = Redirect::to("/login").into_response();
    response
        .headers_mut()
        .append(header::SET_COOKIE, auth::clear_session_cookie(&state));
    response
}
