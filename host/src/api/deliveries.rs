//! Deliveries beyond the inbox: their state on each notification (see
//! `notifications.rs`), and `POST /deliveries/{id}/resend` for an admin
//! once one has failed.

use axum::extract::State;
use axum::http::StatusCode;
use serde::Serialize;

use super::AppState;
use super::auth::Caller;
use super::error::{AppError, ProblemKind};
use super::extract::PathParam;
use super::views::time;
use crate::store::DeliveryState;

/// One channel's delivery of a notification.
#[derive(Serialize, utoipa::ToSchema)]
pub struct DeliveryView {
    pub id: i64,
    /// `webhook` or `email`.
    pub channel: String,
    /// The webhook's name, or the address.
    pub target: String,
    /// `pending` (being tried), `sent`, or `failed` (gave up; an admin may
    /// resend it).
    pub state: String,
    pub attempts: u32,
    pub last_error: Option<String>,
    /// When the next attempt is due, while pending.
    pub next_attempt_at: Option<String>,
    pub sent_at: Option<String>,
}

pub fn delivery_view(d: DeliveryState) -> DeliveryView {
    let pending = d.state == "pending";
    DeliveryView {
        id: d.id,
        channel: d.channel,
        target: d.target,
        state: d.state,
        attempts: d.attempts,
        last_error: d.last_error,
        next_attempt_at: pending.then(|| time(d.next_at)),
        sent_at: d.sent_at.map(time),
    }
}

#[utoipa::path(post, path = "/deliveries/{id}/resend", tag = "notifications", params(("id" = i64, Path)), responses((status = 202, description = "Queued again, its attempts reset"), (status = 401, description = "No valid token", body = super::error::Problem), (status = 403, body = super::error::Problem), (status = 404, description = "No failed delivery with this id", body = super::error::Problem)), security(("bearer" = [])))]
pub async fn resend(
    State(state): State<AppState>,
    caller: Caller,
    PathParam(id): PathParam<i64>,
) -> Result<StatusCode, AppError> {
    caller.require_admin()?;
    let engine = &state.engine;
    if engine.store.resend_delivery(id, engine.clock.now()).await? {
        tracing::info!(by = caller.user.id, delivery = id, "delivery queued again");
        engine.wake_outbox();
        Ok(StatusCode::ACCEPTED)
    } else {
        Err(AppError::new(
            ProblemKind::NotFound,
            format!("no failed delivery {id}"),
        ))
    }
}
