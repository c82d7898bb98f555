//! Live pages: an open ticket page, ticket list or inbox holds one
//! server-sent event stream (`GET /console/live?ticket=ID`,
//! `?page=tickets`, `?page=inbox`) that says `changed` when what it shows
//! may have changed. The page's script then fetches the page again and
//! swaps in its live parts (`assets/console.js`); only that fetch, with its
//! usual permission checks, carries content, so the stream tells nobody
//! anything but "look again".
//!
//! Streams count against the user's limit of open event streams (shared
//! with the API's), end when the server stops, and end when their session
//! does (re-checked every 30 s).

use std::collections::BTreeSet;
use std::time::Duration;

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use tokio::sync::broadcast::error::RecvError;

use super::Console;
use super::pages::{failure, message, not_found};
use super::session::Signed;
use super::tickets::viewer_of;
use crate::engine::Changed;
use crate::model::TicketId;
use crate::store::Viewer;

/// How often a stream checks that its session still stands.
const SESSION_RECHECK: Duration = Duration::from_secs(30);

/// How often the ticket list's stream looks at what changed: a busy
/// installation commits thousands of times a second, and a list is not
/// worth a visibility check for each.
const LIST_EVERY: Duration = Duration::from_secs(1);

/// Tickets checked for visibility per list pass; past that, a user who
/// sees none of them gets no `changed` (their list is quiet anyway).
const LIST_CHECKS: usize = 64;

#[derive(Deserialize)]
pub struct Follow {
    ticket: Option<TicketId>,
    page: Option<String>,
}

#[derive(Clone, Copy)]
enum What {
    Ticket(TicketId),
    Tickets,
    Inbox,
}

pub async fn stream(
    State(console): State<Console>,
    signed: Signed,
    Query(follow): Query<Follow>,
) -> Response {
    let what = match (follow.ticket, follow.page.as_deref()) {
        (Some(id), None) => What::Ticket(id),
        (None, Some("tickets")) => What::Tickets,
        (None, Some("inbox")) => What::Inbox,
        _ => {
            return message(
                StatusCode::BAD_REQUEST,
                None,
                "Bad request",
                "Follow one ticket (?ticket=ID) or one page (?page=tickets or ?page=inbox).",
            );
        }
    };
    let engine = console.engine.clone();
    let viewer = viewer_of(&signed);
    if let What::Ticket(id) = what {
        match engine.store.can_see(viewer, id).await {
            Ok(true) => {}
            Ok(false) => return not_found().await,
            Err(e) => return failure(&e.to_string()),
        }
    }
    let Some(slot) = engine.streams.open(signed.user.id) else {
        return message(
            StatusCode::TOO_MANY_REQUESTS,
            None,
            "Too many live pages",
            "Close a tab or two of the console: each open page holds a stream.",
        );
    };
    let changes = engine.watch_tickets();
    let notes = engine.subscribe();
    let events = crate::api::notifications::async_stream(move |tx| async move {
        let _slot = slot;
        let watch = Watch {
            console,
            signed,
            viewer,
            what,
        };
        watch.run(changes, notes, tx).await;
    });
    Sse::new(events)
        .keep_alive(KeepAlive::default())
        .into_response()
}

impl What {
    /// The `changed` event's data. (A browser drops an event whose data
    /// is empty, so it says what changed.)
    fn name(self) -> &'static str {
        match self {
            What::Ticket(_) => "ticket",
            What::Tickets => "tickets",
            What::Inbox => "inbox",
        }
    }
}

struct Watch {
    console: Console,
    signed: Signed,
    viewer: Viewer,
    what: What,
}

type Sender = tokio::sync::mpsc::Sender<Event>;

impl Watch {
    async fn run(
        self,
        mut changes: tokio::sync::broadcast::Receiver<Changed>,
        mut notes: tokio::sync::broadcast::Receiver<crate::store::Notification>,
        tx: Sender,
    ) {
        let engine = self.console.engine.clone();
        let stopping = engine.stopped();
        tokio::pin!(stopping);
        let mut recheck = tokio::time::interval(SESSION_RECHECK);
        recheck.tick().await;
        let mut list = tokio::time::interval(LIST_EVERY);
        // Tickets changed since the list last looked; `None`: look anyway.
        let mut pending: Option<BTreeSet<TicketId>> = Some(BTreeSet::new());
        loop {
            let changed = tokio::select! {
                () = &mut stopping => break,
                _ = recheck.tick() => {
                    if !self.session_stands().await {
                        let _ = tx.send(Event::default().event("ended").data("session")).await;
                        break;
                    }
                    false
                }
                got = changes.recv() => match (got, self.what) {
                    (Ok(change), What::Ticket(id)) => change.touches(id),
                    (Ok(Changed::Tickets(ids)), What::Tickets) => {
                        if let Some(p) = pending.as_mut() { p.extend(ids.iter().copied()) }
                        false
                    }
                    (Ok(Changed::All), What::Tickets) | (Err(RecvError::Lagged(_)), What::Tickets) => {
                        pending = None;
                        false
                    }
                    (Ok(_), What::Inbox) => false,
                    (Err(RecvError::Lagged(_)), _) => true,
                    (Err(RecvError::Closed), _) => break,
                },
                got = notes.recv() => match got {
                    Ok(n) => matches!(self.what, What::Inbox) && n.user_id == self.signed.user.id,
                    Err(RecvError::Lagged(_)) => matches!(self.what, What::Inbox),
                    Err(RecvError::Closed) => break,
                },
                _ = list.tick(), if matches!(self.what, What::Tickets) => {
                    let seen = self.any_visible(pending.as_ref()).await;
                    pending = Some(BTreeSet::new());
                    seen
                }
            };
            if changed
                && tx
                    .send(Event::default().event("changed").data(self.what.name()))
                    .await
                    .is_err()
            {
                // The page was closed.
                break;
            }
        }
    }

    /// Whether the signed-in user's session is still live. A database
    /// that cannot answer keeps the stream (the page's own fetches will
    /// tell).
    async fn session_stands(&self) -> bool {
        let engine = &self.console.engine;
        let now = engine.clock.now();
        !matches!(
            engine.store.session(&self.signed.id_hash, now).await,
            Ok(None)
        )
    }

    /// Whether the viewer sees any of `ids` (`None`: changes were missed,
    /// so yes).
    async fn any_visible(&self, ids: Option<&BTreeSet<TicketId>>) -> bool {
        let Some(ids) = ids else { return true };
        if ids.is_empty() {
            return false;
        }
        if self.viewer == Viewer::Admin {
            return true;
        }
        for &id in ids.iter().take(LIST_CHECKS) {
            if let Ok(true) = self.console.engine.store.can_see(self.viewer, id).await {
                return true;
            }
        }
        false
    }
}
