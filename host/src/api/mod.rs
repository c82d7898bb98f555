//! The REST API (`/api/v1`, JSON) and the operational endpoints.
//!
//! # Layout
//! - `error.rs`: [`AppError`], every failure as `application/problem+json`.
//! - `extract.rs`: body and path extractors that reject with problems.
//! - `views.rs`: the JSON shapes of tickets, logs and bots.
//! - `tickets.rs`: `/tickets` and its sub-resources.
//! - `bots.rs`: `/bots` and `/bots/{name}/restart`.
//! - `health.rs`: `/healthz`.
//!
//! Until authentication lands, the API is unauthenticated and `baton
//! serve` refuses to listen anywhere but loopback.

mod bots;
mod error;
mod extract;
mod health;
mod tickets;
mod views;

use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use tower_http::trace::TraceLayer;

pub use error::{AppError, ProblemKind};

use crate::engine::Engine;

/// Request bodies above this are refused with 413. Tickets carry metadata,
/// not attachments; a megabyte is far above any honest request.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// What every handler gets.
#[derive(Clone)]
pub struct AppState {
    pub engine: Arc<Engine>,
}

/// The whole HTTP surface, ready to serve (or to drive with `oneshot`).
pub fn app(engine: Arc<Engine>) -> Router {
    let api = Router::new()
        .route("/tickets", post(tickets::create))
        .route("/tickets/{id}", get(tickets::get))
        .route("/tickets/{id}/logs", get(tickets::logs))
        .route("/bots", get(bots::list))
        .route("/bots/{name}/restart", post(bots::restart))
        .fallback(|| async { AppError::new(ProblemKind::NotFound, "no such route") });
    Router::new()
        .nest("/api/v1", api)
        .route("/healthz", get(health::healthz))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(TraceLayer::new_for_http())
        .with_state(AppState { engine })
}
