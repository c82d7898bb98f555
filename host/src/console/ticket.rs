//! The ticket page (details, what it waits for, the state diagram, the
//! metadata, the playground, stakeholders, comments and timeline), and the
//! playground's posts: a comment, an action, accepting.
//!
//! A ticket the user may not see answers exactly like one that does not
//! exist. Every post checks the session's CSRF token, then goes through the
//! same engine calls as the API, which check the same permissions.

use std::collections::HashMap;

use askama::Template;
use axum::extract::{Form, Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};

use super::Console;
use super::forms::{Field, fields_of, payload_of};
use super::pages::{Me, failure, forbidden_form, message, not_found, render};
use super::session::{Signed, same};
use super::tickets::viewer_of;
use crate::engine::{ChangeError, Involvement};
use crate::model::{Status, Ticket, TicketId, rfc3339};

pub struct ActionForm {
    pub name: String,
    pub description: String,
    pub fields: Vec<Field>,
}

pub struct Line {
    pub when: String,
    pub who: String,
    pub what: String,
}

/// A child ticket as the page lists it.
pub struct Child {
    pub id: TicketId,
    pub title: String,
    pub state: String,
    pub closed: bool,
}

/// Child tickets a page lists (the oldest).
const CHILDREN: u32 = 50;

pub struct Change {
    pub field: String,
    pub old: String,
    pub new: String,
}

#[derive(Template)]
#[template(path = "console/ticket.html")]
struct Page {
    me: Option<Me>,
    csrf: String,
    id: TicketId,
    title: String,
    kind: String,
    state: String,
    open: bool,
    created: String,
    parent: Option<TicketId>,
    waits: Vec<String>,
    diagram: String,
    changes: Vec<Change>,
    metadata: String,
    actions: Vec<ActionForm>,
    can_accept: bool,
    can_comment: bool,
    acting: Vec<(i64, String)>,
    people: Vec<String>,
    comments: Vec<Line>,
    timeline: Vec<Line>,
    children: Vec<Child>,
}

/// The ticket, if the signed-in user may see it.
async fn visible(console: &Console, signed: &Signed, id: TicketId) -> Result<Ticket, Response> {
    let store = &console.engine.store;
    match store.can_see(viewer_of(signed), id).await {
        Ok(true) => {}
        Ok(false) => return Err(not_found().await),
        Err(e) => return Err(failure(&e.to_string())),
    }
    match store.ticket(id).await {
        Ok(Some(ticket)) => Ok(ticket),
        Ok(None) => Err(not_found().await),
        Err(e) => Err(failure(&e.to_string())),
    }
}

pub async fn page(
    State(console): State<Console>,
    signed: Signed,
    Path(id): Path<TicketId>,
) -> Response {
    let ticket = match visible(&console, &signed, id).await {
        Ok(t) => t,
        Err(page) => return page,
    };
    match build(&console, &signed, ticket).await {
        Ok(page) => render(StatusCode::OK, &page),
        Err(e) => failure(&e),
    }
}

async fn build(console: &Console, signed: &Signed, ticket: Ticket) -> Result<Page, String> {
    let engine = &console.engine;
    let store = &engine.store;
    let text = |e: crate::store::StoreError| e.to_string();
    // The log first, then the ticket again: the page never shows a move
    // that its header does not (a bot may commit while this runs).
    let logs = store.logs(ticket.id).await.map_err(text)?;
    let ticket = store
        .ticket(ticket.id)
        .await
        .map_err(text)?
        .unwrap_or(ticket);
    let catalog = engine.catalog();
    let tt = catalog.ticket_type(&ticket.metaservice, &ticket.ticket_type);
    let state_name = |code: u32| {
        tt.and_then(|t| t.state(code))
            .map_or_else(|| format!("state {code}"), |s| s.name.clone())
    };
    let involvement = engine
        .involvement(&signed.user, ticket.id)
        .await
        .map_err(text)?;
    let rows = store.stakeholders(ticket.id).await.map_err(text)?;
    let names: HashMap<i64, String> = store
        .users()
        .await
        .map_err(text)?
        .into_iter()
        .map(|u| (u.id, u.name))
        .collect();
    let who = |id: i64| {
        names
            .get(&id)
            .cloned()
            .unwrap_or_else(|| format!("user {id}"))
    };
    let open = ticket.status == Status::Open;
    let state = tt.and_then(|t| t.state(ticket.state_code));
    let actions = match (state, open) {
        (Some(s), true) => s
            .actions
            .iter()
            .filter(|a| involvement.may_act(&a.allowed))
            .map(|a| ActionForm {
                name: a.name.clone(),
                description: a.description.clone(),
                fields: fields_of(&a.payload_schema),
            })
            .collect(),
        _ => Vec::new(),
    };
    let path = path_taken(&logs.iter().filter_map(|l| l.to_state).collect::<Vec<_>>());
    let timeline = logs
        .into_iter()
        .map(|l| {
            let moved = match (l.from_state, l.to_state) {
                (Some(f), Some(t)) => format!(" ({} → {})", state_name(f), state_name(t)),
                (None, Some(t)) => format!(" (→ {})", state_name(t)),
                _ => String::new(),
            };
            let actor = match &l.actor {
                crate::model::Actor::User(id) => who(*id),
                other => other.to_string(),
            };
            Line {
                when: rfc3339(l.created_at),
                who: actor,
                what: format!("{}{moved}: {}", l.action, l.message),
            }
        })
        .collect();
    let comments = store
        .comments(ticket.id)
        .await
        .map_err(text)?
        .into_iter()
        .map(|c| Line {
            when: rfc3339(c.created_at),
            who: who(c.acting_user_id),
            what: c.body,
        })
        .collect();
    let waits = store
        .timers_of(ticket.id)
        .await
        .map_err(text)?
        .into_iter()
        .map(|t| match (t.kind.as_str(), t.due_at, t.other_ticket) {
            ("wait_ticket", _, Some(other)) => format!("ticket {other} to close"),
            ("lifetime", Some(at), _) => format!("the state's deadline, {}", rfc3339(at)),
            ("reminder", Some(at), _) => format!("the next reminder, {}", rfc3339(at)),
            (_, Some(at), _) => format!("a wait until {}", rfc3339(at)),
            (kind, None, _) => kind.to_string(),
        })
        .chain(waiting_for_people(&rows, &who))
        .filter(|_| ticket.status == Status::Open)
        .collect();
    let people = rows
        .iter()
        .map(|s| {
            let principal = match (&s.user_id, &s.group) {
                (Some(id), _) => who(*id),
                (None, Some(g)) => format!("group {g}"),
                _ => s.principal_kind.clone(),
            };
            let inactive = if s.is_active { "" } else { ", inactive" };
            format!("{principal}: {} ({}{inactive})", s.role, s.connection)
        })
        .collect();
    let acting = acting_choices(&involvement, &rows, &who);
    let children = store
        .children(viewer_of(signed), ticket.id, CHILDREN)
        .await
        .map_err(text)?
        .into_iter()
        .map(|c| Child {
            state: catalog
                .ticket_type(&c.metaservice, &c.ticket_type)
                .and_then(|t| t.state(c.state_code))
                .map_or_else(|| c.state_code.to_string(), |s| s.name.clone()),
            closed: c.status == Status::Closed,
            id: c.id,
            title: c.title,
        })
        .collect();
    let doc = ticket
        .metadata
        .to_value()
        .map_err(|e| format!("metadata of ticket {}: {e}", ticket.id))?;
    Ok(Page {
        me: Me::of(signed),
        csrf: signed.csrf.clone(),
        id: ticket.id,
        title: ticket.title.clone(),
        kind: format!("{}/{}", ticket.metaservice, ticket.ticket_type),
        state: state_name(ticket.state_code),
        open,
        created: rfc3339(ticket.created_at),
        parent: ticket.parent_id,
        waits,
        diagram: tt
            .map(|t| super::diagram::svg(t, ticket.state_code, &path))
            .unwrap_or_default(),
        changes: changes_of(&doc),
        metadata: serde_json::to_string_pretty(&doc).unwrap_or_default(),
        can_accept: open && may_accept(&involvement, &rows),
        can_comment: open,
        actions,
        acting,
        people,
        comments,
        timeline,
        children,
    })
}

/// The states a ticket went through, in order (from its log's moves).
fn path_taken(codes: &[u32]) -> Vec<u32> {
    let mut path: Vec<u32> = Vec::new();
    for c in codes {
        if path.last() != Some(c) {
            path.push(*c);
        }
    }
    path
}

/// Who must accept it: an assigned group nobody accepted yet.
fn waiting_for_people(
    rows: &[crate::store::Stakeholder],
    who: &dyn Fn(i64) -> String,
) -> Vec<String> {
    let assigned: Vec<_> = rows
        .iter()
        .filter(|s| s.is_active && s.connection == "assigned")
        .collect();
    if assigned.iter().any(|s| s.user_id.is_some()) {
        return assigned
            .iter()
            .filter_map(|s| s.user_id)
            .map(|id| format!("{} (assigned) to act", who(id)))
            .collect();
    }
    assigned
        .iter()
        .filter_map(|s| s.group.as_ref())
        .map(|g| format!("a member of group {g} to accept it"))
        .collect()
}

fn may_accept(involvement: &Involvement, rows: &[crate::store::Stakeholder]) -> bool {
    let taken = rows
        .iter()
        .any(|s| s.is_active && s.connection == "assigned" && s.user_id.is_some());
    let requester = rows
        .iter()
        .any(|s| s.user_id == Some(involvement.user_id) && s.role == "requester");
    let member_of_assigned = involvement
        .rows
        .iter()
        .any(|s| s.is_active && s.connection == "assigned" && s.group.is_some());
    !taken && member_of_assigned && (involvement.admin || !requester)
}

/// The stakeholders the user may act for (their own rows and their
/// groups' active rows).
fn acting_choices(
    involvement: &Involvement,
    rows: &[crate::store::Stakeholder],
    who: &dyn Fn(i64) -> String,
) -> Vec<(i64, String)> {
    rows.iter()
        .filter(|s| involvement.acts_for(s.id))
        .map(|s| {
            let principal = match (&s.user_id, &s.group) {
                (Some(id), _) => who(*id),
                (None, Some(g)) => format!("group {g}"),
                _ => s.principal_kind.clone(),
            };
            (s.id, format!("{principal} ({})", s.role))
        })
        .collect()
}

/// `{"changes": {"name": {"old": …, "new": …}}}` shown as old → new.
fn changes_of(metadata: &serde_json::Value) -> Vec<Change> {
    let show = |v: &serde_json::Value| match v {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    metadata["changes"]
        .as_object()
        .map(|all| {
            all.iter()
                .map(|(field, c)| Change {
                    field: field.clone(),
                    old: show(&c["old"]),
                    new: show(&c["new"]),
                })
                .collect()
        })
        .unwrap_or_default()
}

/// What a post did, as the page the user returns to.
async fn after(
    console: &Console,
    signed: &Signed,
    id: TicketId,
    done: Result<(), ChangeError>,
) -> Response {
    let _ = console;
    match done {
        Ok(()) => Redirect::to(&format!("/console/tickets/{id}")).into_response(),
        Err(e) => {
            let status = match e {
                ChangeError::Forbidden(_) | ChangeError::NotYours(_) => StatusCode::FORBIDDEN,
                ChangeError::NotFound(_) => StatusCode::NOT_FOUND,
                ChangeError::Conflict(_) | ChangeError::Precondition(_) => StatusCode::CONFLICT,
                ChangeError::Store(_) => return failure(&e.to_string()),
                _ => StatusCode::UNPROCESSABLE_ENTITY,
            };
            message(status, Me::of(signed), "Not done", &e.to_string())
        }
    }
}

fn csrf_ok(signed: &Signed, form: &HashMap<String, String>) -> bool {
    form.get("csrf").is_some_and(|c| same(c, &signed.csrf))
}

/// What every post checks first: its CSRF token, and that the user sees
/// the ticket.
async fn posted(
    console: &Console,
    signed: &Signed,
    id: TicketId,
    form: &HashMap<String, String>,
) -> Result<Ticket, Response> {
    if !csrf_ok(signed, form) {
        return Err(forbidden_form(signed));
    }
    visible(console, signed, id).await
}

/// The user's involvement in ticket `id`, or the failure page.
async fn involvement_in(
    console: &Console,
    signed: &Signed,
    id: TicketId,
) -> Result<Involvement, Response> {
    console
        .engine
        .involvement(&signed.user, id)
        .await
        .map_err(|e| failure(&e.to_string()))
}

fn acting_of(form: &HashMap<String, String>) -> Option<i64> {
    form.get("acting_stakeholder_id")
        .and_then(|v| v.parse().ok())
}

pub async fn comment(
    State(console): State<Console>,
    signed: Signed,
    Path(id): Path<TicketId>,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let ticket = match posted(&console, &signed, id, &form).await {
        Ok(t) => t,
        Err(page) => return page,
    };
    let engine = &console.engine;
    let involvement = match involvement_in(&console, &signed, id).await {
        Ok(i) => i,
        Err(page) => return page,
    };
    let body = form.get("body").cloned().unwrap_or_default();
    let done = engine
        .comment(&ticket, &signed.user, &involvement, body, acting_of(&form))
        .await
        .map(|_| ());
    after(&console, &signed, id, done).await
}

pub async fn act(
    State(console): State<Console>,
    signed: Signed,
    Path((id, name)): Path<(TicketId, String)>,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let ticket = match posted(&console, &signed, id, &form).await {
        Ok(t) => t,
        Err(page) => return page,
    };
    let engine = &console.engine;
    let catalog = engine.catalog();
    let schema = catalog
        .ticket_type(&ticket.metaservice, &ticket.ticket_type)
        .and_then(|tt| tt.state(ticket.state_code))
        .and_then(|s| s.actions.iter().find(|a| a.name == name))
        .map(|a| a.payload_schema.clone())
        .unwrap_or_default();
    let payload = match payload_of(&schema, &form) {
        Ok(p) => p,
        Err(why) => {
            return message(
                StatusCode::UNPROCESSABLE_ENTITY,
                Me::of(&signed),
                "Not done",
                &why,
            );
        }
    };
    let involvement = match involvement_in(&console, &signed, id).await {
        Ok(i) => i,
        Err(page) => return page,
    };
    let done = engine
        .act(
            &ticket,
            &signed.user,
            &involvement,
            &name,
            payload,
            acting_of(&form),
        )
        .await;
    after(&console, &signed, id, done).await
}

pub async fn accept(
    State(console): State<Console>,
    signed: Signed,
    Path(id): Path<TicketId>,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let ticket = match posted(&console, &signed, id, &form).await {
        Ok(t) => t,
        Err(page) => return page,
    };
    let done = console.engine.accept(&ticket, &signed.user).await;
    after(&console, &signed, id, done).await
}
