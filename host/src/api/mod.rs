//! The REST API (`/api/v1`, JSON) and the operational endpoints.
//!
//! # Layout
//! - `error.rs`: [`AppError`], every failure as `application/problem+json`.
//! - `extract.rs`: body and path extractors that reject with problems.
//! - `views.rs`: the JSON shapes of tickets, logs and bots.
//! - `auth.rs`: bearer tokens and the [`auth::Caller`] extractor.
//! - `tickets.rs`: `/tickets`: create, read, edit, list, logs.
//! - `stakeholders.rs`, `comments.rs` (with actions): a ticket's people.
//! - `people.rs`: users, tokens, groups, `/me`.
//! - `notifications.rs`: the inbox and its event stream.
//! - `admin.rs`: metaservices, ticket types, the settings panel.
//! - `bots.rs`: `/bots` and `/bots/{name}/restart`.
//! - `health.rs`: `/healthz`.
//!
//! Every `/api/v1` route needs `Authorization: Bearer <token>`.

mod admin;
pub mod auth;
mod bots;
mod comments;
mod error;
mod extract;
mod health;
mod notifications;
mod people;
mod stakeholders;
mod tickets;
mod views;

use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{delete, get, patch, post, put};
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
        .route("/tickets", post(tickets::create).get(tickets::list))
        .route("/tickets/{id}", get(tickets::get).patch(tickets::patch))
        .route("/tickets/{id}/logs", get(tickets::logs))
        .route(
            "/tickets/{id}/stakeholders",
            get(stakeholders::list).post(stakeholders::add),
        )
        .route(
            "/tickets/{id}/stakeholders/{sid}",
            patch(stakeholders::change),
        )
        .route(
            "/tickets/{id}/comments",
            get(comments::list).post(comments::create),
        )
        .route("/tickets/{id}/actions/{name}", post(comments::act))
        .route("/notifications", get(notifications::list))
        .route("/notifications/stream", get(notifications::stream))
        .route("/notifications/{id}/read", post(notifications::read))
        .route("/users", post(people::create_user).get(people::list_users))
        .route("/users/{id}/tokens", post(people::create_token))
        .route("/tokens/{id}", delete(people::revoke_token))
        .route(
            "/groups",
            post(people::create_group).get(people::list_groups),
        )
        .route(
            "/groups/{name}/members/{user_id}",
            put(people::add_member).delete(people::remove_member),
        )
        .route("/me", get(people::me))
        .route("/metaservices", get(admin::metaservices))
        .route("/metaservices/{ms}/ticket-types", get(admin::ticket_types))
        .route(
            "/metaservices/{ms}/ticket-types/{tt}/settings",
            patch(admin::set_settings),
        )
        .route("/bots", get(bots::list))
        .route("/bots/{name}/restart", post(bots::restart))
        .fallback(|| async { AppError::new(ProblemKind::NotFound, "no such route") });
    let state = AppState { engine };
    let api = api.layer(axum::middleware::from_fn_with_state(
        state.clone(),
        auth::require_token,
    ));
    Router::new()
        .nest("/api/v1", api)
        .route("/healthz", get(health::healthz))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}
