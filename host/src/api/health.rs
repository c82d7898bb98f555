//! `/healthz` and `/readyz`, for load balancers, orchestrators and
//! monitoring. Neither needs a token.
//!
//! `/healthz`: the process can serve: it answers, and its database does (a
//! round trip, not a ticket read). Point load balancers and liveness
//! probes here.
//!
//! `/readyz`: the supervisor's verdict (`engine/supervisor.rs`): 200 when
//! this node does its whole job, 503 with a JSON body naming each problem
//! (a missing, refused or crashing bot, a refused manifest, a stale queue,
//! parked events, overdue timers, the database). Some problems (parked
//! events) are the whole cluster's, not one node's, so a load balancer
//! that followed `/readyz` could take every node out at once: it is for
//! monitoring (`baton health`, Zabbix) and for holding back a rolling
//! update.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde_json::{Value, json};

use super::AppState;
use crate::engine::supervisor::PING_TIMEOUT;

pub async fn healthz(State(state): State<AppState>) -> (StatusCode, Json<Value>) {
    let ping = tokio::time::timeout(PING_TIMEOUT, state.engine.store.ping()).await;
    match ping {
        Ok(Ok(())) => (StatusCode::OK, Json(json!({"status": "ok"}))),
        Ok(Err(e)) => {
            tracing::error!("health check: database: {e}");
            unavailable()
        }
        Err(_) => {
            tracing::error!("health check: database: no answer within {PING_TIMEOUT:?}");
            unavailable()
        }
    }
}

fn unavailable() -> (StatusCode, Json<Value>) {
    (
        StatusCode::SERVICE_UNAVAILABLE,
        Json(json!({"status": "error", "detail": "database unavailable"})),
    )
}

pub async fn readyz(State(state): State<AppState>) -> (StatusCode, Json<Value>) {
    let report = state.engine.supervise().await;
    let node = state.engine.store.node_id().to_string();
    let (code, status) = if report.ready() {
        (StatusCode::OK, "ready")
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "not_ready")
    };
    let backlog = report.backlog.map(|b| {
        json!({
            "events_due": b.events_due,
            "oldest_queued_at": b.oldest_queued_at,
            "parked": b.parked,
            "timers_pending": b.timers_pending,
            "next_timer_at": b.next_timer_at,
        })
    });
    (
        code,
        Json(json!({
            "status": status,
            "node": node,
            "problems": report.problems,
            "warnings": report.warnings,
            "backlog": backlog,
        })),
    )
}
