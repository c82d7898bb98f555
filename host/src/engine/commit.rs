//! From an invocation's [`Effects`] to one [`Commit`]: ticket updates
//! guarded by the versions read, the new tickets, a log row for every
//! change (signed by the bot), and an `entered` event for every ticket that
//! arrived in a state that has a bot.

use std::collections::BTreeSet;

use serde_json::json;

use super::errors::{ErrorReport, error_rows};
use crate::model::{Actor, Metaservice, Status, Ticket};
use crate::runtime::{Change, Effects, Until};
use crate::store::{
    Commit, EventId, EventKind, NewEvent, NewLog, NewNotification, NewStakeholder, NewTicket,
    NewTimer, Principal, StakeholderUpdate, TicketUpdate, TimerKind,
};

pub fn build(
    effects: Effects,
    consumes: EventId,
    actor: &Actor,
    ms: &Metaservice,
    now: i64,
) -> Commit {
    let mut commit = Commit {
        consumes: Some(consumes),
        ..Commit::default()
    };
    let mut created = BTreeSet::new();
    let mut arrived = BTreeSet::new();
    for change in &effects.changes {
        match change {
            Change::Created { id } => {
                created.insert(*id);
                arrived.insert(*id);
                if let Some(child) = effects.tickets.get(id) {
                    commit.logs.push(log(
                        *id,
                        actor,
                        "created",
                        None,
                        Some(child.state_code),
                        format!(
                            "created by {actor} as a child of ticket {}",
                            child.parent_id.unwrap_or_default()
                        ),
                        None,
                    ));
                    if let Some(parent) = child.parent_id {
                        commit.logs.push(log(
                            parent,
                            actor,
                            "child_created",
                            None,
                            None,
                            format!("created child ticket {id} ({})", child.ticket_type),
                            Some(json!({"child_id": id})),
                        ));
                    }
                }
            }
            Change::Moved { id, from, to } => {
                arrived.insert(*id);
                let message = format!(
                    "{} → {}",
                    state_label(ms, &effects.tickets, *id, *from),
                    state_label(ms, &effects.tickets, *id, *to)
                );
                commit.logs.push(log(
                    *id,
                    actor,
                    "state_changed",
                    Some(*from),
                    Some(*to),
                    message,
                    None,
                ));
            }
            Change::MetadataSet { id, old, new } => {
                commit.logs.push(log(
                    *id,
                    actor,
                    "metadata_changed",
                    None,
                    None,
                    "metadata changed".into(),
                    Some(json!({"old": old, "new": new})),
                ));
            }
            Change::Waits {
                id,
                state,
                until: Until::Gone(other),
            } => {
                commit.events.push(NewEvent {
                    ticket_id: *id,
                    state_code: *state,
                    kind: EventKind::TicketGone,
                    payload: json!({"other": other}),
                    available_at: now,
                });
                commit.logs.push(log(
                    *id,
                    actor,
                    "waiting",
                    None,
                    None,
                    format!("waiting for ticket {other} to close"),
                    None,
                ));
            }
            Change::Waits { id, state, until } => {
                let (kind, due_at, other, message) = match until {
                    Until::Time(at) => (
                        TimerKind::Wait,
                        Some(*at),
                        None,
                        format!("waiting until {}", iso(*at)),
                    ),
                    Until::Ticket(other) | Until::Gone(other) => (
                        TimerKind::WaitTicket,
                        None,
                        Some(*other),
                        format!("waiting for ticket {other} to close"),
                    ),
                };
                commit.timers.push(NewTimer {
                    ticket_id: *id,
                    state_code: *state,
                    kind,
                    due_at,
                    base_at: now,
                    other_ticket: other,
                    repeats_left: 0,
                });
                commit
                    .logs
                    .push(log(*id, actor, "waiting", None, None, message, None));
            }
            Change::Proceeded { id, state } => commit.proceeded.push((*id, *state)),
            Change::BotNotified { id, state, text } => commit.events.push(NewEvent {
                ticket_id: *id,
                state_code: *state,
                kind: EventKind::Notification,
                payload: json!({"from": sender(actor), "text": text}),
                available_at: now,
            }),
            Change::Notified { id, user_id, text } => {
                commit.notifications.push(NewNotification {
                    user_id: *user_id,
                    ticket_id: Some(*id),
                    kind: "bot",
                    text: text.clone(),
                });
            }
            Change::ErrorReported {
                id,
                error_ticket,
                message,
            } => {
                let bot = match actor {
                    Actor::Bot(name) => Some(name.to_string()),
                    _ => None,
                };
                let report = ErrorReport {
                    metaservice: ms.name.clone(),
                    failed_ticket: Some(*id),
                    bot,
                    bot_version: None,
                    message: message.clone(),
                    cause: None,
                };
                error_rows(&mut commit, *error_ticket, &report, &ms.error_group);
            }
            Change::StakeholderAdded { .. }
            | Change::StakeholderDeactivated { .. }
            | Change::AcceptanceRequested { .. }
            | Change::UserAssigned { .. } => {
                people_rows(&mut commit, change, actor, &effects.tickets);
            }
            Change::Logged { id, message, data } => {
                commit.logs.push(log(
                    *id,
                    actor,
                    "log",
                    None,
                    None,
                    message.clone(),
                    data.clone(),
                ));
            }
        }
    }
    for (id, ticket) in &effects.tickets {
        if created.contains(id) {
            commit.inserts.push(NewTicket::of(ticket, Vec::new()));
        } else if let Some(version) = effects.read_versions.get(id) {
            commit.updates.push(TicketUpdate {
                id: *id,
                expected_version: *version,
                title: None,
                state: Some((ticket.state_code, ticket.status)),
                metadata: Some(ticket.metadata.clone()),
            });
        }
        if arrived.contains(id) && ticket.status == Status::Open && !ms.builtin {
            commit.events.push(entered(ticket, now));
            commit.timers.extend(state_timers(ms, ticket, now));
        }
    }
    // A wait asked for before its ticket moved on (or closed) in the same
    // invocation belongs to the state the ticket left: it goes, as every
    // timer of that state does when a ticket moves.
    commit.timers.retain(|t| {
        effects
            .tickets
            .get(&t.ticket_id)
            .is_none_or(|now| now.state_code == t.state_code && now.status == Status::Open)
    });
    commit
}

/// The rows of a bot's change of people: stakeholders, their log lines and
/// the notifications they call for.
fn people_rows(
    commit: &mut Commit,
    change: &Change,
    actor: &Actor,
    tickets: &std::collections::BTreeMap<i64, Ticket>,
) {
    let about = |id: i64| {
        let title = tickets.get(&id).map(|t| t.title.as_str()).unwrap_or("");
        format!("ticket {id} ({title})")
    };
    match change {
        Change::StakeholderAdded {
            id,
            principal,
            connection,
            role,
        } => {
            let who = match principal {
                Principal::User(u) => format!("user {u}"),
                Principal::Group(g) => format!("group {g}"),
            };
            commit.stakeholders.push((
                *id,
                NewStakeholder {
                    principal: principal.clone(),
                    connection,
                    role,
                },
            ));
            commit.logs.push(log(
                *id,
                actor,
                "stakeholder_added",
                None,
                None,
                format!("{who} added as {connection} {role}"),
                Some(json!({"connection": connection, "role": role})),
            ));
        }
        Change::StakeholderDeactivated { id, stakeholder_id } => {
            commit.stakeholder_updates.push(StakeholderUpdate {
                id: *stakeholder_id,
                ticket_id: *id,
                connection: None,
                is_active: Some(false),
            });
            commit.logs.push(log(
                *id,
                actor,
                "stakeholder_changed",
                None,
                None,
                format!("stakeholder {stakeholder_id} is no longer assigned"),
                Some(json!({"stakeholder_id": stakeholder_id, "new": {"is_active": false}})),
            ));
        }
        Change::AcceptanceRequested { id, group, members } => {
            let text = format!(
                "{} is assigned to group {group}: accept it to take it",
                about(*id)
            );
            for member in members {
                commit.notifications.push(NewNotification {
                    user_id: *member,
                    ticket_id: Some(*id),
                    kind: "acceptance",
                    text: text.clone(),
                });
            }
            commit.logs.push(log(
                *id,
                actor,
                "acceptance_requested",
                None,
                None,
                format!(
                    "acceptance requested from group {group} ({} members)",
                    members.len()
                ),
                Some(json!({"group": group, "members": members})),
            ));
        }
        Change::UserAssigned { id, user_id, group } => {
            commit.notifications.push(NewNotification {
                user_id: *user_id,
                ticket_id: Some(*id),
                kind: "assigned",
                text: format!("{} was assigned to you for group {group}", about(*id)),
            });
            commit.logs.push(log(
                *id,
                actor,
                "assigned",
                None,
                None,
                format!("assigned to user {user_id} of group {group}"),
                Some(json!({"user_id": user_id, "group": group})),
            ));
        }
        _ => {}
    }
}

/// The timers of the state a ticket just entered: its lifetime and its
/// first reminder, as its type's settings say.
pub fn state_timers(ms: &Metaservice, ticket: &Ticket, now: i64) -> Vec<NewTimer> {
    let Some(settings) = ms
        .ticket_types
        .get(&ticket.ticket_type)
        .map(|tt| tt.settings_in(ticket.state_code))
    else {
        return Vec::new();
    };
    let timer = |kind, after: std::time::Duration, repeats_left| NewTimer {
        ticket_id: ticket.id,
        state_code: ticket.state_code,
        kind,
        due_at: Some(now.saturating_add(crate::model::duration::millis(after))),
        base_at: now,
        other_ticket: None,
        repeats_left,
    };
    let mut timers = Vec::new();
    if let Some(lifetime) = settings.lifetime {
        timers.push(timer(TimerKind::Lifetime, lifetime, 0));
    }
    if let Some(every) = settings.notify_every
        && settings.notify_repeats > 0
    {
        timers.push(timer(
            TimerKind::Reminder,
            every,
            settings.notify_repeats - 1,
        ));
    }
    timers
}

fn iso(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
        .unwrap_or_else(|| ms.to_string())
}

/// Who a bot message is from: the bot's name.
fn sender(actor: &Actor) -> String {
    match actor {
        Actor::Bot(name) => name.to_string(),
        other => other.to_string(),
    }
}

/// The event that runs the bot of the state a ticket just entered.
pub fn entered(ticket: &Ticket, now: i64) -> NewEvent {
    NewEvent {
        ticket_id: ticket.id,
        state_code: ticket.state_code,
        kind: EventKind::Entered,
        payload: json!({}),
        available_at: now,
    }
}

pub fn log(
    ticket_id: i64,
    actor: &Actor,
    action: &'static str,
    from_state: Option<u32>,
    to_state: Option<u32>,
    message: String,
    data: Option<serde_json::Value>,
) -> NewLog {
    NewLog {
        ticket_id,
        actor: actor.clone(),
        action,
        from_state,
        to_state,
        message,
        data,
        acting_stakeholder: None,
    }
}

fn state_label(
    ms: &Metaservice,
    tickets: &std::collections::BTreeMap<i64, Ticket>,
    id: i64,
    code: u32,
) -> String {
    let name = tickets
        .get(&id)
        .and_then(|t| ms.ticket_types.get(&t.ticket_type))
        .and_then(|tt| tt.state(code))
        .map(|s| s.name.as_str())
        .unwrap_or("?");
    format!("{code} {name}")
}
