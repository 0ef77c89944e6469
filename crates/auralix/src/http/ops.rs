//! Liveness and readiness.

use axum::{Json, extract::State};
use serde_json::{Value, json};

use super::errors::{ApiError, ApiResult};
use crate::state::AppState;

/// 200 as soon as the server accepts requests.
pub async fn healthz() -> Json<Value> {
    Json(json!({"status": "ok"}))
}

/// 200 only while the database (and Redis, when configured) answer.
pub async fn readyz(State(state): State<AppState>) -> ApiResult<Json<Value>> {
    match tokio::time::timeout(std::time::Duration::from_secs(2), state.store.ping()).await {
        Ok(Ok(())) => {}
        Ok(Err(error)) => {
            tracing::warn!(%error, "readiness: database check failed");
            return Err(ApiError::unavailable("the database does not answer"));
        }
        Err(_) => {
            return Err(ApiError::unavailable(
                "the database does not answer in time",
            ));
        }
    }
    let redis = match &state.settings.redis_url {
        None => "not configured",
        Some(url) => match crate::redis_ping::ping(url).await {
            Ok(()) => "ok",
            Err(reason) => {
                tracing::warn!(%reason, "readiness: Redis check failed");
                return Err(ApiError::unavailable("Redis does not answer"));
            }
        },
    };
    Ok(Json(
        json!({"status": "ready", "database": "ok", "redis": redis}),
    ))
}
