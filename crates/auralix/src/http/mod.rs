//! The HTTP surface: routes, and the layers every request passes through.

pub mod agents;
pub mod auth;
pub mod conversations;
pub mod dashboard;
pub mod documents;
pub mod errors;
pub mod export;
pub mod extract;
pub mod leads;
pub mod middleware;
pub mod openapi;
pub mod ops;
pub mod providers;
pub mod widget;

use axum::{
    Router,
    extract::DefaultBodyLimit,
    http::HeaderName,
    middleware::{from_fn, from_fn_with_state},
    routing::{get, post},
};
use tower::ServiceBuilder;
use tower_http::{
    request_id::{PropagateRequestIdLayer, SetRequestIdLayer},
    trace::TraceLayer,
};

use crate::state::AppState;

/// `GET /api/v1/usage`: messages and tokens per agent and day (A7).
async fn usage(
    axum::extract::State(state): axum::extract::State<AppState>,
    auth: auth::Auth,
) -> errors::ApiResult<axum::Json<serde_json::Value>> {
    let rows = state.store.providers().usage(&auth.workspace_id).await?;
    let items: Vec<serde_json::Value> = rows
        .into_iter()
        .map(|(agent_id, day, messages, input_tokens, output_tokens)| {
            serde_json::json!({"agent_id": agent_id, "day": day, "messages": messages,
                               "input_tokens": input_tokens, "output_tokens": output_tokens})
        })
        .collect();
    Ok(axum::Json(serde_json::json!({"items": items})))
}

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

pub fn router(state: AppState) -> Router {
    let api = Router::new()
        .route("/auth/signup", post(auth::signup))
        .route("/auth/login", post(auth::login))
        .route("/auth/logout", post(auth::logout))
        .route("/auth/token", post(auth::token))
        .route("/me", get(auth::me))
        .route("/agents", get(agents::list).post(agents::create))
        .route(
            "/agents/{id}",
            get(agents::get)
                .patch(agents::update)
                .delete(agents::delete),
        )
        .route(
            "/agents/{id}/documents",
            get(documents::list)
                .post(documents::upload)
                .layer(DefaultBodyLimit::disable()),
        )
        .route(
            "/agents/{id}/documents/{doc_id}",
            get(documents::get).delete(documents::delete),
        )
        .route(
            "/agents/{id}/documents/{doc_id}/reindex",
            post(documents::reindex),
        )
        .route("/agents/{id}/search", get(documents::search))
        .route("/providers", get(providers::list).post(providers::create))
        .route(
            "/providers/{id}",
            get(providers::get)
                .patch(providers::update)
                .delete(providers::delete),
        )
        .route("/providers/{id}/test", post(providers::test))
        .route("/usage", get(usage))
        .route("/leads", get(leads::list))
        .route("/leads/export", get(leads::export))
        .route(
            "/leads/{id}",
            get(leads::get).patch(leads::update).delete(leads::delete),
        )
        .route("/conversations", get(conversations::list))
        .route("/conversations/export", get(conversations::export))
        .route(
            "/conversations/{id}",
            get(conversations::get).delete(conversations::delete),
        )
        .layer(from_fn_with_state(
            state.clone(),
            middleware::csrf_origin_check,
        ));

    Router::new()
        .nest("/api/v1", api)
        .merge(dashboard::routes(state.clone()))
        .merge(widget::routes(state.clone()))
        .route("/api/openapi.json", get(openapi::openapi))
        .route("/healthz", get(ops::healthz))
        .route("/readyz", get(ops::readyz))
        .fallback(middleware::not_found)
        .layer(DefaultBodyLimit::max(state.settings.max_body_bytes))
        .layer(
            ServiceBuilder::new()
                .layer(SetRequestIdLayer::new(REQUEST_ID, middleware::MakeId))
                .layer(TraceLayer::new_for_http().make_span_with(|request: &axum::http::Request<_>| {
                    let request_id = request
                        .headers()
                        .get(REQUEST_ID)
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or("-");
                    // The path only: queries may carry personal data.
                    tracing::info_span!("request", method = %request.method(), path = %request.uri().path(), request_id)
                }))
                .layer(PropagateRequestIdLayer::new(REQUEST_ID))
                .layer(from_fn(middleware::security_headers))
                .layer(from_fn(middleware::problem_for_framework_errors)),
        )
        .with_state(state)
}
