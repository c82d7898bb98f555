//! `/healthz` and `/readyz`.
//!
//! `/healthz`: the process answers and its database does (a round trip to
//! it, not a ticket read). `/readyz`: this node should be given work; 503
//! with a JSON body naming each problem otherwise. Today its one check is
//! the database; a load balancer takes a node out while its database is
//! out of reach, and back when it reconnects (by itself: every call opens
//! a new connection if the old one died).

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde_json::{Value, json};

use super::AppState;

/// How long a check waits for the database: a probe must answer in time
/// even while connections to a database that is down are being retried.
const PING_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(2);

/// A round trip to the database, in [`PING_TIMEOUT`].
async fn ping(state: &AppState) -> Result<(), String> {
    match tokio::time::timeout(PING_TIMEOUT, state.engine.store.ping()).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) => Err(e.to_string()),
        Err(_) => Err(format!("no answer within {PING_TIMEOUT:?}")),
    }
}

pub async fn healthz(State(state): State<AppState>) -> (StatusCode, Json<Value>) {
    match ping(&state).await {
        Ok(()) => (StatusCode::OK, Json(json!({"status": "ok"}))),
        Err(e) => {
            tracing::error!("health check: database: {e}");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(json!({"status": "error", "detail": "database unavailable"})),
            )
        }
    }
}

pub async fn readyz(State(state): State<AppState>) -> (StatusCode, Json<Value>) {
    let mut problems = Vec::new();
    if let Err(e) = ping(&state).await {
        // Anyone may ask: the driver's words (hosts, ports) stay in the log.
        tracing::error!("readiness: database: {e}");
        problems.push(json!({"check": "database", "detail": "database unavailable"}));
    }
    let node = state.engine.store.node_id().to_string();
    if problems.is_empty() {
        (
            StatusCode::OK,
            Json(json!({"status": "ready", "node": node, "problems": []})),
        )
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({"status": "not_ready", "node": node, "problems": problems})),
        )
    }
}
