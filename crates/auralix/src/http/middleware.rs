//! Cross-cutting request handling: CSRF origin checks, problem+json for the framework's
//! own rejections, security headers, request ids.

use axum::{
    body::Body,
    extract::{Request, State},
    http::{HeaderMap, HeaderValue, Method, StatusCode, header},
    middleware::Next,
    response::{IntoResponse, Response},
};
use tower_http::request_id::{MakeRequestId, RequestId};

use super::errors::{ApiError, PROBLEM_JSON, code_for_status, problem};
use crate::state::AppState;

/// Request ids look like every other id: `req_…`.
#[derive(Clone, Default)]
pub struct MakeId;

impl MakeRequestId for MakeId {
    fn make_request_id<B>(&mut self, _: &axum::http::Request<B>) -> Option<RequestId> {
        HeaderValue::from_str(&auralix_core::new_id("req"))
            .ok()
            .map(RequestId::new)
    }
}

fn is_unsafe(method: &Method) -> bool {
    !matches!(
        *method,
        Method::GET | Method::HEAD | Method::OPTIONS | Method::TRACE
    )
}

/// Whether a browser request comes from another site, per `Sec-Fetch-Site` and `Origin`.
/// Requests with neither header (non-browser clients) pass.
pub fn is_cross_site(headers: &HeaderMap, own_origin: &str) -> bool {
    if let Some(site) = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok())
        && site != "same-origin"
        && site != "none"
    {
        return true;
    }
    if let Some(origin) = headers.get(header::ORIGIN) {
        let origin = origin.to_str().unwrap_or("null");
        let host_origin = headers
            .get(header::HOST)
            .and_then(|h| h.to_str().ok())
            .map(|h| [format!("http://{h}"), format!("https://{h}")]);
        let same = origin == own_origin
            || host_origin.is_some_and(|candidates| candidates.iter().any(|c| c == origin));
        return !same;
    }
    false
}

/// Refuses unsafe requests from other sites unless they carry a bearer token (which a
/// browser never attaches on its own, so it cannot be forged cross-site).
pub async fn csrf_origin_check(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let bearer = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("Bearer "));
    if is_unsafe(request.method())
        && !bearer
        && is_cross_site(request.headers(), &state.settings.public_origin())
    {
        return ApiError::forbidden("cross-site request refused").into_response();
    }
    next.run(request).await
}

/// Rewrites the framework's plain-text rejections (unknown route, wrong method, body
/// limit, bad path or query) into problem+json, and strips any body from a 5xx.
pub async fn problem_for_framework_errors(request: Request, next: Next) -> Response {
    let response = next.run(request).await;
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return response;
    }
    let content_type = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if content_type.starts_with(PROBLEM_JSON) || content_type.starts_with("text/html") {
        return response;
    }
    let (parts, body) = response.into_parts();
    let detail = if status.is_client_error() {
        let bytes = axum::body::to_bytes(body, 4096).await.unwrap_or_default();
        let text = String::from_utf8_lossy(&bytes).trim().to_owned();
        Some(if text.is_empty() {
            status.canonical_reason().unwrap_or("error").to_lowercase()
        } else {
            text
        })
    } else {
        None
    };
    let problem = problem(status, code_for_status(status), detail, Vec::new());
    let mut rebuilt = Response::from_parts(
        parts,
        Body::from(serde_json::to_vec(&problem).unwrap_or_default()),
    );
    rebuilt
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
    rebuilt.headers_mut().remove(header::CONTENT_LENGTH);
    rebuilt
}

/// Headers every response carries; HTML pages also get a strict CSP.
pub async fn security_headers(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let is_html = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/html"));
    let headers = response.headers_mut();
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("strict-origin-when-cross-origin"),
    );
    if is_html {
        // A page that embeds the widget sets its own policy (with a nonce); keep it.
        headers
            .entry(header::CONTENT_SECURITY_POLICY)
            .or_insert(HeaderValue::from_static(
                "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
             connect-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
            ));
        headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
        headers
            .entry(header::CACHE_CONTROL)
            .or_insert(HeaderValue::from_static("no-store"));
    }
    response
}

/// The fallback for unknown routes.
pub async fn not_found() -> impl IntoResponse {
    (
        StatusCode::NOT_FOUND,
        ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such resource"),
    )
}
