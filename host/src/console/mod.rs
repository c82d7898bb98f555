//! The staff console: server-rendered pages under `/console` for the
//! people who work tickets, on the same permissions as the API (the same
//! engine calls: visibility, involvement, actions, acceptance).
//!
//! Pages are rendered by `askama` templates (`host/templates/console/`,
//! checked at compile time) and work without JavaScript; the stylesheet
//! is embedded in the binary. Sign-in is by password and a session cookie
//! (`session.rs`); every form carries a CSRF token.
//!
//! # Layout
//! - `session.rs`: passwords, the session cookie, CSRF, the sign-in limit.
//! - `pages.rs`: rendering, the error pages, sign-in and sign-out.
//! - `account.rs`: changing one's own password.
//! - `admin.rs`: the administration panel: ticket types' settings.
//! - `people.rs`: the panel's users, groups and members.
//! - `tokens.rs`: a user's page: their API tokens, new and revoked.
//! - `desk.rs`: the inbox, and the bots with their restart button.
//! - `tickets.rs`: the ticket list with its filters.
//! - `ticket.rs`: the ticket page and what its playground posts.
//! - `errors.rs`: open error tickets, their parked events, Retry and Resolve.
//! - `live.rs`: the event stream that keeps an open page up to date.
//! - `diagram.rs`: a ticket type's state machine as SVG.
//! - `forms.rs`: form fields from an action's payload JSON Schema.

mod account;
mod admin;
mod desk;
mod diagram;
mod errors;
mod forms;
mod live;
mod pages;
mod people;
pub mod session;
mod ticket;
mod tickets;
mod tokens;

use std::sync::Arc;

use axum::Router;
use axum::http::header;
use axum::routing::{get, post};

use crate::engine::Engine;

pub use session::{MIN_PASSWORD, hash_password};

/// What every console handler gets.
#[derive(Clone)]
pub struct Console {
    pub engine: Arc<Engine>,
    limiter: Arc<session::Limiter>,
    /// Cookies are `Secure` when people reach Baton over HTTPS.
    secure: bool,
}

/// The console's routes, to be nested under `/console`.
pub fn router(engine: Arc<Engine>, secure_cookies: bool) -> Router {
    let console = Console {
        engine,
        limiter: Arc::default(),
        secure: secure_cookies,
    };
    Router::new()
        .route("/", get(tickets::list))
        .route("/sign-in", get(pages::sign_in_form).post(pages::sign_in))
        .route("/sign-out", post(pages::sign_out))
        .route("/account", get(account::form).post(account::change))
        .route("/inbox", get(desk::inbox))
        .route("/inbox/{id}/read", post(desk::mark_read))
        .route("/bots", get(desk::bots))
        .route("/errors", get(errors::errors))
        .route("/admin", get(admin::page))
        .route("/admin/settings/{ms}/{tt}", post(admin::settings))
        .route("/admin/people", get(people::page))
        .route("/admin/people/users", post(people::create_user))
        .route("/admin/people/groups", post(people::create_group))
        .route("/admin/people/members", post(people::membership))
        .route("/admin/people/{id}", get(tokens::page))
        .route("/admin/people/{id}/tokens", post(tokens::create))
        .route("/admin/tokens/{id}/revoke", post(tokens::revoke))
        .route("/bots/{name}/restart", post(desk::restart))
        .route("/tickets/{id}", get(ticket::page))
        .route("/tickets/{id}/comments", post(ticket::comment))
        .route("/tickets/{id}/actions/{name}", post(ticket::act))
        .route("/tickets/{id}/accept", post(ticket::accept))
        .route("/live", get(live::stream))
        .route("/assets/console.css", get(stylesheet))
        .route("/assets/console.js", get(script))
        .fallback(pages::not_found)
        .with_state(console)
        .layer(axum::middleware::map_response(guarded))
}

/// Headers on every console response. The policy allows only this
/// origin's stylesheet and script (none inline), forms posted back here,
/// and no framing (clickjacking); `style-src` allows the inline SVG
/// diagram's attributes.
async fn guarded(mut response: axum::response::Response) -> axum::response::Response {
    let headers = response.headers_mut();
    let set = [
        (
            header::CONTENT_SECURITY_POLICY,
            "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
             img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        ),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::REFERRER_POLICY, "same-origin"),
        (header::X_FRAME_OPTIONS, "DENY"),
    ];
    for (name, value) in set {
        headers.insert(name, header::HeaderValue::from_static(value));
    }
    response
}

async fn stylesheet() -> impl axum::response::IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        include_str!("../../assets/console.css"),
    )
}

async fn script() -> impl axum::response::IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        include_str!("../../assets/console.js"),
    )
}
