//! One bot step of a stepper ticket, as the engine's dispatcher runs it for
//! an event (`engine/dispatch.rs`, `attempt`): a `Session` on the ticket,
//! the invocation (the component through `Runtime::invoke`, or the same
//! bot logic compiled in, through `adapter.rs`), the commit built from its
//! effects, and `Engine::commit` (the engine's one write path: the store's
//! group commit, then publishing and waking) on a real SQLite store. The
//! engine's dispatcher is not running; the benchmark is the dispatcher.
//!
//! Left out, the same for both ways of running the bot: the queue (the
//! claim, and the event each commit would consume; the `entered` event of
//! the next state is still written), the read of the ticket before each
//! step (the benchmark keeps it in memory, with the version the commit
//! gave it), and the closing notices (a stepper ticket has no
//! stakeholders to tell).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use anyhow::{Context, bail};
use baton_host::engine::Engine;
use baton_host::model::{Actor, BotName, Metaservice, Status, Ticket, TicketId};
use baton_host::runtime::bench::NativeCalls;
use baton_host::runtime::{Call, Change, Effects, Limits, LoadedBot, Runtime, Session};
use baton_host::store::{Commit, EventKind, NewEvent, NewLog, TicketUpdate};
use baton_sdk::Reason;
use fixture_stepper::Stepper;
use serde_json::json;

use crate::{adapter, setup};

/// How a step's bot runs: one entry per state, by state code − 1.
pub enum Runner<'a> {
    Wasm {
        runtime: &'a Runtime,
        bots: &'a [Arc<LoadedBot>],
    },
    Native {
        calls: &'a mut [NativeCalls],
    },
}

/// A stepper workflow on one engine's store.
pub struct Flow {
    pub engine: Arc<Engine>,
    pub ms: Arc<Metaservice>,
    /// The bot of each state, by state code − 1.
    pub names: Vec<BotName>,
    pub limits: Limits,
}

impl Flow {
    /// One step of `ticket`; returns it as the commit left it.
    pub async fn step(&self, ticket: Ticket, runner: &mut Runner<'_>) -> anyhow::Result<Ticket> {
        let (id, state) = (ticket.id, ticket.state_code);
        let index = (state as usize)
            .checked_sub(1)
            .filter(|i| *i < self.names.len())
            .with_context(|| format!("ticket {id} is in state {state}, which has no bot"))?;
        let name = &self.names[index];
        let now = setup::now();
        let session = Session::new(
            name.clone(),
            self.ms.clone(),
            self.engine.store.clone(),
            now,
            self.limits,
            ticket,
        );
        let invoked = match runner {
            Runner::Wasm { runtime, bots } => {
                runtime.invoke(&bots[index], session, Call::Entered).await
            }
            Runner::Native { calls } => {
                adapter::proceed::<Stepper>(&mut calls[index], session, Reason::Entered)
            }
        };
        let effects = invoked.with_context(|| format!("{name} on ticket {id}"))?;
        let mut after = effects
            .tickets
            .get(&id)
            .cloned()
            .with_context(|| format!("{name} did not change ticket {id}"))?;
        let mut commit = build(&effects, &Actor::Bot(name.clone()), &self.ms, now)?;
        // As the dispatcher does for a committed proceed-ticket.
        commit.proceeded.push((id, state));
        self.engine.commit(&commit, now).await?;
        // What the guarded update wrote.
        after.version += 1;
        after.updated_at = now;
        Ok(after)
    }
}

/// The commit of a step's effects, as `engine::commit::build` makes it
/// (that function is private to the engine) for the only changes a
/// stepper asks for: a log line and a move. Any other change is refused
/// rather than committed differently from the engine.
fn build(effects: &Effects, actor: &Actor, ms: &Metaservice, now: i64) -> anyhow::Result<Commit> {
    let mut commit = Commit::default();
    let mut arrived = BTreeSet::new();
    for change in &effects.changes {
        match change {
            Change::Logged { id, message, data } => {
                commit
                    .logs
                    .push(log(*id, actor, "log", None, message.clone(), data.clone()));
            }
            Change::Moved { id, from, to } => {
                arrived.insert(*id);
                let message = format!(
                    "{} → {}",
                    label(ms, &effects.tickets, *id, *from),
                    label(ms, &effects.tickets, *id, *to)
                );
                let moved = Some((*from, *to));
                commit
                    .logs
                    .push(log(*id, actor, "state_changed", moved, message, None));
            }
            other => bail!("the benchmark commits only logs and moves, not {other:?}"),
        }
    }
    for (id, ticket) in &effects.tickets {
        let Some(version) = effects.read_versions.get(id) else {
            bail!("the benchmark's bots create no tickets");
        };
        commit.updates.push(TicketUpdate {
            id: *id,
            expected_version: *version,
            title: None,
            state: Some((ticket.state_code, ticket.status)),
            metadata: Some(ticket.metadata.clone()),
        });
        if arrived.contains(id) && ticket.status == Status::Open && !ms.builtin {
            commit.events.push(NewEvent {
                ticket_id: *id,
                state_code: ticket.state_code,
                kind: EventKind::Entered,
                payload: json!({}),
                available_at: now,
            });
            let settings = ms
                .ticket_types
                .get(&ticket.ticket_type)
                .map(|tt| tt.settings_in(ticket.state_code))
                .unwrap_or_default();
            if settings.lifetime.is_some() || settings.notify_every.is_some() {
                bail!("the benchmark's workflow has no lifetimes or reminders");
            }
        }
    }
    Ok(commit)
}

fn log(
    ticket_id: TicketId,
    actor: &Actor,
    action: &'static str,
    moved: Option<(u32, u32)>,
    message: String,
    data: Option<serde_json::Value>,
) -> NewLog {
    NewLog {
        ticket_id,
        actor: actor.clone(),
        action,
        from_state: moved.map(|m| m.0),
        to_state: moved.map(|m| m.1),
        message,
        data,
        acting_stakeholder: None,
    }
}

/// `2 b`: a state's code and name, as the engine's move log says it.
fn label(
    ms: &Metaservice,
    tickets: &BTreeMap<TicketId, Ticket>,
    id: TicketId,
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
