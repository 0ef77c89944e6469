//! Liveness and readiness.

use axum::{Json, extract::State};
use serde_json::{Value, json};

use super::errors::{ApiError, ApiResult};
use crate::state::AppState;

/// 200 as soon as the server accepts requests.
pub async fn healthz() -> Json<Value> {
    Json(json!({"status": "ok"}))
}

/// 200 only while the database answers.
pub async fn readyz(State(state): State<AppState>) -> ApiResult<Json<Value>> {
    match tokio::time::timeout(std::time::Duration::from_secs(2), state.store.ping()).await {
        Ok(Ok(())) => Ok(Json(json!({"status": "ready", "database": "ok"}))),
        Ok(Err(error)) => {
            tracing::warn!(%error, "readiness: database check failed");
            Err(ApiError::unavailable("the database does not answer"))
        }
        Err(_) => Err(ApiError::unavailable(
            "the database does not answer in time",
        )),
    }
}
