//! `/healthz`: the process is up and its database answers.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde_json::{Value, json};

use super::AppState;

pub async fn healthz(State(state): State<AppState>) -> (StatusCode, Json<Value>) {
    // A ticket read that finds nothing still proves the database answers.
    match state.engine.store.ticket(0).await {
        Ok(_) => (StatusCode::OK, Json(json!({"status": "ok"}))),
        Err(e) => {
            tracing::error!("health check: database: {e}");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(json!({"status": "error", "detail": "database unavailable"})),
            )
        }
    }
}
