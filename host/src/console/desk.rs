//! The inbox (the signed-in user's notifications, unread first, each
//! marked read with a button) and the bots page (every bot of every
//! metaservice: status, version, load time, restarts, last error,
//! invocations and failures in this process; a restart button for admins).

use std::collections::HashMap;

use askama::Template;
use axum::extract::{Form, Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};

use super::Console;
use super::pages::{Me, failure, forbidden_form, message, render};
use super::session::{Signed, same};
use crate::model::{BotName, rfc3339};

pub struct Note {
    pub id: i64,
    pub when: String,
    pub kind: String,
    pub text: String,
    pub ticket: Option<i64>,
    pub read: bool,
}

#[derive(Template)]
#[template(path = "console/inbox.html")]
struct Inbox {
    me: Option<Me>,
    csrf: String,
    notes: Vec<Note>,
}

pub async fn inbox(State(console): State<Console>, signed: Signed) -> Response {
    let notes = match console
        .engine
        .store
        .notifications(signed.user.id, None, 200)
        .await
    {
        Ok(n) => n,
        Err(e) => return failure(&e.to_string()),
    };
    let notes = notes
        .into_iter()
        .map(|n| Note {
            id: n.id,
            when: rfc3339(n.created_at),
            kind: n.kind,
            text: n.text,
            ticket: n.ticket_id,
            read: n.read_at.is_some(),
        })
        .collect();
    let page = Inbox {
        me: Me::of(&signed),
        csrf: signed.csrf.clone(),
        notes,
    };
    render(StatusCode::OK, &page)
}

fn csrf_ok(signed: &Signed, form: &HashMap<String, String>) -> bool {
    form.get("csrf").is_some_and(|c| same(c, &signed.csrf))
}

pub async fn mark_read(
    State(console): State<Console>,
    signed: Signed,
    Path(id): Path<i64>,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    if !csrf_ok(&signed, &form) {
        return forbidden_form(&signed);
    }
    let engine = &console.engine;
    match engine
        .store
        .mark_read(signed.user.id, id, engine.clock.now())
        .await
    {
        Ok(true) => Redirect::to("/console/inbox").into_response(),
        Ok(false) => message(
            StatusCode::NOT_FOUND,
            Me::of(&signed),
            "Not found",
            "You have no such notification.",
        ),
        Err(e) => failure(&e.to_string()),
    }
}

pub struct BotRow {
    pub name: String,
    pub status: String,
    pub version: String,
    pub loaded_at: String,
    pub restarts: u32,
    pub toolchain: String,
    pub last_error: String,
    pub ok: u64,
    pub failed: u64,
}

#[derive(Template)]
#[template(path = "console/bots.html")]
struct Bots {
    me: Option<Me>,
    csrf: String,
    admin: bool,
    bots: Vec<BotRow>,
    /// Manifest files refused, or not in force until a restart: (file, why).
    manifests: Vec<(String, String)>,
}

pub async fn bots(State(console): State<Console>, signed: Signed) -> Response {
    let engine = &console.engine;
    let bots = engine
        .registry
        .snapshot()
        .into_iter()
        .map(|slot| {
            let name = slot.name.to_string();
            let (ok, failed) = engine.metrics.invocations_of(&name);
            BotRow {
                status: slot.status.as_str().to_string(),
                version: slot
                    .loaded
                    .as_ref()
                    .map(|b| b.sha256.chars().take(12).collect())
                    .unwrap_or_default(),
                loaded_at: slot.loaded_at.map(rfc3339).unwrap_or_default(),
                restarts: slot.restarts,
                toolchain: slot
                    .loaded
                    .as_ref()
                    .map(|b| b.toolchain.clone())
                    .unwrap_or_default(),
                last_error: slot.last_error.unwrap_or_default(),
                ok,
                failed,
                name,
            }
        })
        .collect();
    let page = Bots {
        me: Me::of(&signed),
        csrf: signed.csrf.clone(),
        admin: signed.user.is_admin,
        bots,
        manifests: engine.refused_manifests(),
    };
    render(StatusCode::OK, &page)
}

pub async fn restart(
    State(console): State<Console>,
    signed: Signed,
    Path(name): Path<String>,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    if !csrf_ok(&signed, &form) {
        return forbidden_form(&signed);
    }
    if !signed.user.is_admin {
        return message(
            StatusCode::FORBIDDEN,
            Me::of(&signed),
            "Not done",
            "Only administrators restart bots.",
        );
    }
    let Ok(name) = BotName::parse(&name) else {
        return message(
            StatusCode::NOT_FOUND,
            Me::of(&signed),
            "Not found",
            "There is no such bot.",
        );
    };
    match console.engine.restart_bot(&name).await {
        Ok(()) => {
            tracing::info!(by = signed.user.id, bot = %name, "bot restarted from the console");
            Redirect::to("/console/bots").into_response()
        }
        Err(e) => message(
            StatusCode::CONFLICT,
            Me::of(&signed),
            "Not restarted",
            &e.to_string(),
        ),
    }
}
