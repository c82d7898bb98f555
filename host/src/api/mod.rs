//! The REST API (`/api/v1`, JSON) and the operational endpoints.
//!
//! # Layout
//! - `error.rs`: [`AppError`], every failure as `application/problem+json`.
//! - `extract.rs`: body and path extractors that reject with problems.
//! - `views.rs`: the JSON shapes of tickets, logs and bots.
//! - `auth.rs`: bearer tokens and the [`auth::Caller`] extractor.
//! - `tickets.rs`: `/tickets`: create, read, edit, list, logs.
//! - `stakeholders.rs`, `comments.rs` (with actions and accept): a
//!   ticket's people; `handover.rs`: handing a ticket over, giving it back.
//! - `people.rs`: users, tokens, groups, `/me`.
//! - `notifications.rs`: the inbox and its event stream.
//! - `deliveries.rs`: notifications' deliveries beyond the inbox.
//! - `admin.rs`: metaservices, ticket types, the settings panel.
//! - `bots.rs`: `/bots` and `/bots/{name}/restart`.
//! - `health.rs`: `/healthz`, `/readyz`.
//! - `metrics.rs`: `/metrics`, and the layer that counts every request.
//! - `openapi/`: the finishing pass over the OpenAPI document (errors,
//!   operationIds, summaries, examples).
//!
//! Every `/api/v1` route needs `Authorization: Bearer <token>`.

mod admin;
pub mod auth;
mod bots;
mod comments;
mod deliveries;
mod error;
mod extract;
mod handover;
mod health;
mod metrics;
pub(crate) mod notifications;
mod openapi;
mod people;
mod stakeholders;
mod tickets;
mod views;

use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::get;
use tower_http::trace::TraceLayer;

pub use error::{AppError, ProblemKind};
pub use people::check_new_user;

use crate::engine::Engine;

/// Request bodies above this are refused with 413. Tickets carry metadata,
/// not attachments; a megabyte is far above any honest request.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// What every handler gets.
#[derive(Clone)]
pub struct AppState {
    pub engine: Arc<Engine>,
}

/// The OpenAPI document's frame; the paths come from the routes.
#[derive(utoipa::OpenApi)]
#[openapi(
    info(title = "Baton", description = "A ticket lifecycle engine whose states are served by WebAssembly bots."),
    servers((url = "/api/v1")),
    modifiers(&BearerAuth),
    tags(
        (name = "tickets", description = "Tickets, their logs, stakeholders, comments and actions"),
        (name = "people", description = "Users, tokens and groups"),
        (name = "notifications", description = "The caller's inbox"),
        (name = "admin", description = "Metaservices and the settings panel"),
        (name = "bots", description = "The bots and their status"),
    )
)]
struct ApiDoc;

struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// The `/api/v1` routes and their OpenAPI document, from one registration:
/// a route cannot exist without its documentation, nor the reverse.
fn api() -> (Router<AppState>, utoipa::openapi::OpenApi) {
    use utoipa::{Modify, OpenApi};
    use utoipa_axum::{router::OpenApiRouter, routes};
    let (router, mut doc) = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(tickets::create, tickets::list))
        .routes(routes!(tickets::get, tickets::patch))
        .routes(routes!(tickets::logs))
        .routes(routes!(stakeholders::list, stakeholders::add))
        .routes(routes!(stakeholders::change))
        .routes(routes!(comments::list, comments::create))
        .routes(routes!(comments::act))
        .routes(routes!(comments::accept))
        .routes(routes!(handover::handover))
        .routes(routes!(handover::release))
        .routes(routes!(notifications::list))
        .routes(routes!(notifications::stream))
        .routes(routes!(notifications::read))
        .routes(routes!(people::create_user, people::list_users))
        .routes(routes!(people::create_token))
        .routes(routes!(people::revoke_token))
        .routes(routes!(people::create_group, people::list_groups))
        .routes(routes!(people::add_member, people::remove_member))
        .routes(routes!(people::me, people::patch_me))
        .routes(routes!(deliveries::resend))
        .routes(routes!(admin::metaservices))
        .routes(routes!(admin::ticket_types))
        .routes(routes!(admin::set_settings))
        .routes(routes!(admin::archived))
        .routes(routes!(bots::list))
        .routes(routes!(bots::restart))
        .split_for_parts();
    // Run once the routes are in: it documents their operations.
    openapi::Contract.modify(&mut doc);
    (router, doc)
}

/// The OpenAPI 3.1 document of `/api/v1`.
pub fn openapi() -> utoipa::openapi::OpenApi {
    api().1
}

/// Every unknown path, inside `/api/v1` or not, is a problem too.
async fn not_found() -> AppError {
    AppError::new(ProblemKind::NotFound, "no such route")
}

async fn method_not_allowed() -> AppError {
    AppError::new(
        ProblemKind::MethodNotAllowed,
        "this route does not take that method; see /api/v1/openapi.json",
    )
}

/// How the HTTP surface is served.
#[derive(Debug, Clone, Copy, Default)]
pub struct Options {
    /// Console cookies only over HTTPS (`delivery.public_url` is https).
    pub secure_cookies: bool,
}

/// The whole HTTP surface, ready to serve (or to drive with `oneshot`).
pub fn app(engine: Arc<Engine>) -> Router {
    app_with(engine, Options::default())
}

/// [`app`] with its options.
pub fn app_with(engine: Arc<Engine>, options: Options) -> Router {
    let console = crate::console::router(engine.clone(), options.secure_cookies);
    let state = AppState { engine };
    let (api, doc) = api();
    let doc = Arc::new(
        doc.to_pretty_json()
            .unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}")),
    );
    // Every route registered above needs a token; the document and the
    // fallback, added after the layer, do not.
    let api = api
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            auth::require_token,
        ))
        .route(
            "/openapi.json",
            get(move || {
                let doc = doc.clone();
                async move {
                    (
                        [(axum::http::header::CONTENT_TYPE, "application/json")],
                        (*doc).clone(),
                    )
                }
            }),
        )
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed);
    Router::new()
        .nest("/api/v1", api)
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route("/metrics", get(metrics::metrics))
        .nest_service("/console", console)
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            metrics::count_request,
        ))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}
