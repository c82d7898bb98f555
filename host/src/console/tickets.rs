//! The ticket list: the tickets the signed-in user may see, newest first,
//! filtered by metaservice, type, state, open or closed, "mine", "my
//! groups'", "waiting for me" and words in the title, a page at a time,
//! with the count of each state among all the matching tickets (the
//! newest 10,000 of them). The page follows changes
//! live (`live.rs`).

use std::collections::BTreeMap;

use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;

use super::Console;
use super::pages::{Me, failure, render};
use super::session::Signed;
use crate::model::Status;
use crate::store::{TicketFilter, Viewer};

/// Tickets per page.
const PAGE: u32 = 50;

/// The counts per state look at the newest this many matching tickets, so
/// that a list over a million tickets costs a bounded read.
const COUNTED: u32 = 10_000;

#[derive(Deserialize, Default)]
pub struct Filters {
    metaservice: Option<String>,
    ticket_type: Option<String>,
    state: Option<String>,
    status: Option<String>,
    mine: Option<String>,
    groups: Option<String>,
    waiting: Option<String>,
    q: Option<String>,
    before: Option<String>,
}

pub struct Row {
    pub id: i64,
    pub title: String,
    pub kind: String,
    pub state: String,
    pub closed: bool,
    pub updated: String,
}

#[derive(Template)]
#[template(path = "console/tickets.html")]
struct List {
    me: Option<Me>,
    rows: Vec<Row>,
    counts: Vec<(String, i64)>,
    /// The counts stopped at [`COUNTED`] tickets.
    capped: bool,
    metaservice: String,
    ticket_type: String,
    state: String,
    status: String,
    mine: bool,
    groups: bool,
    waiting: bool,
    q: String,
    next: Option<String>,
}

pub fn viewer_of(signed: &Signed) -> Viewer {
    if signed.user.is_admin {
        Viewer::Admin
    } else {
        Viewer::User(signed.user.id)
    }
}

fn some(s: &Option<String>) -> Option<String> {
    s.as_ref()
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty())
}

pub async fn list(
    State(console): State<Console>,
    signed: Signed,
    Query(f): Query<Filters>,
) -> Response {
    let engine = &console.engine;
    let catalog = engine.catalog();
    let mine = f.mine.as_deref() == Some("on");
    let groups = f.groups.as_deref() == Some("on");
    let waiting = f.waiting.as_deref() == Some("on");
    let q = some(&f.q).unwrap_or_default();
    let status = match f.status.as_deref() {
        Some("closed") => Some(Status::Closed),
        Some("all") => None,
        _ => Some(Status::Open),
    };
    let filter = TicketFilter {
        metaservice: some(&f.metaservice),
        ticket_type: some(&f.ticket_type),
        state: some(&f.state).and_then(|s| s.parse().ok()),
        status,
        mine: mine.then_some(signed.user.id),
        my_groups: groups.then_some(signed.user.id),
        waiting_for: waiting.then_some(signed.user.id),
        title_contains: (!q.is_empty()).then(|| q.clone()),
        before: some(&f.before).and_then(|s| s.parse().ok()),
        limit: PAGE + 1,
        ..TicketFilter::default()
    };
    let mut tickets = match engine.store.list_tickets(viewer_of(&signed), &filter).await {
        Ok(t) => t,
        Err(e) => return failure(&e.to_string()),
    };
    let counted = match engine
        .store
        .count_tickets(
            viewer_of(&signed),
            &TicketFilter {
                limit: COUNTED,
                ..filter.clone()
            },
        )
        .await
    {
        Ok(c) => c,
        Err(e) => return failure(&e.to_string()),
    };
    let more = tickets.len() > PAGE as usize;
    tickets.truncate(PAGE as usize);
    let name_of = |ms: &str, tt: &str, code: u32| {
        catalog
            .ticket_type(ms, tt)
            .and_then(|t| t.state(code))
            .map_or_else(|| code.to_string(), |s| s.name.clone())
    };
    let mut counts: BTreeMap<String, i64> = BTreeMap::new();
    for c in &counted {
        *counts
            .entry(name_of(&c.metaservice, &c.ticket_type, c.state_code))
            .or_default() += c.count;
    }
    let capped = counted.iter().map(|c| c.count).sum::<i64>() >= i64::from(COUNTED);
    let rows: Vec<Row> = tickets
        .iter()
        .map(|t| {
            let state = name_of(&t.metaservice, &t.ticket_type, t.state_code);
            Row {
                id: t.id,
                title: t.title.clone(),
                kind: format!("{}/{}", t.metaservice, t.ticket_type),
                state,
                closed: t.status == Status::Closed,
                updated: crate::model::rfc3339(t.updated_at),
            }
        })
        .collect();
    let next = more.then(|| {
        let last = tickets.last().map_or(0, |t| t.id);
        let mut query = vec![format!("before={last}")];
        for (k, v) in [
            ("metaservice", &f.metaservice),
            ("ticket_type", &f.ticket_type),
            ("state", &f.state),
            ("status", &f.status),
            ("q", &f.q),
        ] {
            if let Some(v) = some(v) {
                query.push(format!("{k}={}", super::session::url_escape(&v)));
            }
        }
        for (flag, on) in [("mine", mine), ("groups", groups), ("waiting", waiting)] {
            if on {
                query.push(format!("{flag}=on"));
            }
        }
        format!("/console/?{}", query.join("&"))
    });
    let page = List {
        me: Me::of(&signed),
        rows,
        counts: counts.into_iter().collect(),
        capped,
        metaservice: some(&f.metaservice).unwrap_or_default(),
        ticket_type: some(&f.ticket_type).unwrap_or_default(),
        state: some(&f.state).unwrap_or_default(),
        status: f.status.clone().unwrap_or_else(|| "open".into()),
        mine,
        groups,
        waiting,
        q,
        next,
    };
    render(StatusCode::OK, &page)
}
