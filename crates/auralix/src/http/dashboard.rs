use crate::state::AppState;
use axum::Router;
pub fn routes(_s: AppState) -> Router<AppState> {
    Router::new()
}
