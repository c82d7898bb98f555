//! Running one invocation: a fresh instance from the bot's pre-linked
//! component, the call, and the sorting of what went wrong.

use std::sync::Arc;
use std::time::Duration;

use thiserror::Error;
use wasmtime::component::ResourceTable;
use wasmtime::{Store, StoreLimitsBuilder, Trap, UpdateDeadline};
use wasmtime_wasi::WasiCtxBuilder;

use wasmtime_wasi_http::WasiHttpCtx;

use super::bindings::{Bot, types};
use super::egress::Egress;
use super::output::BotOutput;
use super::pacing::Pacing;
use super::{BotState, EPOCH_TICK, Effects, Limits, LoadedBot, Runtime, Session};
use crate::model::egress::EgressRule;

/// What the host asks of the bot.
#[derive(Debug, Clone, PartialEq)]
pub enum Call {
    /// `proceed-ticket(entered)`.
    Entered,
    /// `proceed-ticket(sweep)`.
    Sweep,
    /// `on-event(action)`.
    Action {
        name: String,
        payload: String,
        user_id: i64,
    },
    /// `on-event(comment)`.
    Comment { id: i64, body: String, user_id: i64 },
    /// `proceed-ticket(wait-ended)`.
    WaitEnded,
    /// `proceed-ticket(ticket-closed(other))`.
    TicketClosed(i64),
    /// `proceed-ticket(ticket-gone(other))`.
    TicketGone(i64),
    /// `ticket-timeout`.
    Timeout,
    /// `on-event(accepted(user))`.
    Accepted(i64),
    /// `on-event(notification)` from another bot.
    Notification { from: String, text: String },
    /// `proceed-ticket(reminder(n))`, after the host sent reminder `n`.
    Reminded(u32),
}

/// Why an invocation failed; none of its changes are committed.
#[derive(Debug, Clone, Error, PartialEq, Eq)]
pub enum InvokeError {
    /// The bot returned an error of its own.
    #[error("the bot returned an error: {0}")]
    Bot(String),
    /// The bot ran past its deadline.
    #[error("the bot ran past its deadline of {0} ms")]
    Timeout(u64),
    /// The bot trapped (a panic, an out-of-bounds access, memory exhausted).
    #[error("the bot trapped: {0}")]
    Trap(String),
    /// The bot crossed a per-invocation limit.
    #[error("limit exceeded: {0}")]
    Limit(String),
    /// The host could not do its part (e.g. the database failed).
    #[error("host failure: {0}")]
    Host(String),
}

impl Runtime {
    /// A fresh store for one instance of `bot`.
    pub(super) fn new_store(
        &self,
        bot: &LoadedBot,
        session: Option<Session>,
        describe_limits: Limits,
    ) -> (Store<BotState>, [BotOutput; 2]) {
        let name = bot.label.clone();
        // The session's limits and egress list; for `describe()`, the
        // limits the bot will run under and no egress.
        let (limits, allowed): (Limits, Arc<[EgressRule]>) = match &session {
            Some(s) => (s.limits, s.metaservice.egress.clone().into()),
            None => (describe_limits, Arc::from(Vec::new())),
        };
        let budget = limits.max_output_bytes / 2;
        let out = BotOutput::new(name.clone(), "stdout", budget);
        let err = BotOutput::new(name.clone(), "stderr", budget);
        let name_for_egress = name;
        // No preopens, no env, no args, and socket addresses all denied:
        // the builder's defaults, spelled out by what is *not* called here.
        let wasi = WasiCtxBuilder::new()
            .stdout(out.clone())
            .stderr(err.clone())
            .build();
        let store_limits = StoreLimitsBuilder::new()
            .memory_size(limits.memory_mib as usize * 1024 * 1024)
            // A refused `memory.grow` returns -1 to the guest, whose
            // allocator then aborts: a clean trap, attributed to the bot.
            .trap_on_grow_failure(false)
            .build();
        let state = BotState {
            wasi,
            table: ResourceTable::new(),
            http: WasiHttpCtx::new(),
            egress: Egress::new(name_for_egress, allowed),
            limits: super::memory::Metered::new(store_limits),
            pacing: Pacing::new(self.long_runners.clone()),
            session,
        };
        let mut store = Store::new(&self.engine, state);
        store.limiter(|s| &mut s.limits);
        // Every tick the guest gives way (see `pacing.rs`): a bot that
        // spins holds no worker thread, long runners share all cores but
        // one, and the timeout around the call ends it at its deadline.
        store.set_epoch_deadline(1);
        store.epoch_deadline_callback(|mut cx| {
            Ok(UpdateDeadline::YieldCustom(
                1,
                cx.data_mut().pacing.at_tick(),
            ))
        });
        (store, [out, err])
    }

    /// Runs `call` for the session's ticket on a fresh instance of `bot`.
    pub async fn invoke(
        &self,
        bot: &LoadedBot,
        session: Session,
        call: Call,
    ) -> Result<Effects, InvokeError> {
        let ticket = super::convert::to_wit(&session.metaservice, &session.seen[&session.invoked]);
        let deadline_ms = session.limits.deadline_ms;
        let (mut store, outputs) = self.new_store(bot, Some(session), self.limits);
        let deadline = Duration::from_millis(deadline_ms);
        // Epoch interruption stops guest code; this also bounds time spent
        // waiting in host calls.
        let run = async {
            let instance = bot.pre.instantiate_async(&mut store).await?;
            call_bot(&instance, &mut store, &ticket, &call).await
        };
        let outcome = tokio::time::timeout(deadline + EPOCH_TICK * 5, run).await;
        for o in &outputs {
            o.flush_rest();
        }
        let state = store.into_data();
        let session = state
            .session
            .ok_or_else(|| InvokeError::Host("the session was lost".into()))?;
        match outcome {
            Err(_) => Err(InvokeError::Timeout(deadline_ms)),
            Ok(Err(e)) => Err(classify(e, session.fatal, deadline_ms)),
            Ok(Ok(_)) if session.fatal.is_some() => {
                Err(InvokeError::Limit(session.fatal.unwrap_or_default()))
            }
            Ok(Ok(Err(message))) => Err(InvokeError::Bot(bounded(message))),
            Ok(Ok(Ok(types::Outcome::Handled))) => Ok(session.into_effects()),
            Ok(Ok(Ok(types::Outcome::Unhandled))) => {
                let mut session = session;
                super::platform::default_for(&call, &mut session)
                    .await
                    .map_err(InvokeError::Host)?;
                Ok(session.into_effects())
            }
        }
    }
}

/// Calls the export `call` names on `instance`. `proceed-ticket` has no
/// outcome of its own: it counts as handled.
async fn call_bot(
    instance: &Bot,
    store: &mut wasmtime::Store<BotState>,
    ticket: &types::Ticket,
    call: &Call,
) -> wasmtime::Result<Result<types::Outcome, String>> {
    let reason = match call {
        Call::Entered => types::Reason::Entered,
        Call::Sweep => types::Reason::Sweep,
        Call::WaitEnded => types::Reason::WaitEnded,
        Call::TicketClosed(other) => types::Reason::TicketClosed(*other as u64),
        Call::TicketGone(other) => types::Reason::TicketGone(*other as u64),
        Call::Reminded(n) => types::Reason::Reminder(*n),
        Call::Timeout => return instance.call_ticket_timeout(&mut *store, ticket).await,
        Call::Action {
            name,
            payload,
            user_id,
        } => {
            let action = types::Event::Action(types::Action {
                name: name.clone(),
                payload: payload.clone(),
                user_id: *user_id as u64,
            });
            return instance.call_on_event(&mut *store, ticket, &action).await;
        }
        Call::Notification { from, text } => {
            let message = types::Event::Notification(types::BotMessage {
                sender: from.clone(),
                text: text.clone(),
            });
            return instance.call_on_event(&mut *store, ticket, &message).await;
        }
        Call::Accepted(user) => {
            let accepted = types::Event::Accepted(*user as u64);
            return instance.call_on_event(&mut *store, ticket, &accepted).await;
        }
        Call::Comment { id, body, user_id } => {
            let comment = types::Event::Comment(types::Comment {
                id: *id as u64,
                body: body.clone(),
                user_id: *user_id as u64,
            });
            return instance.call_on_event(&mut *store, ticket, &comment).await;
        }
    };
    let done = instance
        .call_proceed_ticket(&mut *store, ticket, reason)
        .await?;
    Ok(done.map(|()| types::Outcome::Handled))
}

/// The longest error message of a bot that Baton keeps: it is stored with
/// the event, in the error ticket and in `/api/v1/bots`, and shown to
/// people, so a bot cannot make it a payload.
pub const MAX_ERROR_BYTES: usize = 2048;

/// `message`, cut to [`MAX_ERROR_BYTES`] on a character boundary.
pub fn bounded(mut message: String) -> String {
    if message.len() <= MAX_ERROR_BYTES {
        return message;
    }
    let total = message.len();
    let mut cut = MAX_ERROR_BYTES;
    while !message.is_char_boundary(cut) {
        cut -= 1;
    }
    message.truncate(cut);
    message.push_str(&format!("… ({total} bytes, cut)"));
    message
}

/// Sorts a wasmtime error: a deadline, a limit, a host failure or a trap.
pub(super) fn classify(e: wasmtime::Error, fatal: Option<String>, deadline_ms: u64) -> InvokeError {
    if let Some(limit) = fatal {
        return InvokeError::Limit(limit);
    }
    if let Some(failure) = e.downcast_ref::<HostFailure>() {
        return InvokeError::Host(failure.0.clone());
    }
    // `exit()` from the guest (a WASI call) ends the bot, not the host.
    if let Some(exit) = e.downcast_ref::<wasmtime_wasi::I32Exit>() {
        return InvokeError::Trap(format!(
            "the bot called exit({}) instead of returning",
            exit.0
        ));
    }
    match e.downcast_ref::<Trap>() {
        Some(Trap::Interrupt) => InvokeError::Timeout(deadline_ms),
        Some(trap) => InvokeError::Trap(bounded(trap.to_string())),
        // Neither: instantiation failed, which is the host's side.
        None => InvokeError::Host(format!("{e:#}")),
    }
}

/// A host call that could not be served; it fails the invocation without
/// blaming the bot.
#[derive(Debug, Error)]
#[error("{0}")]
pub struct HostFailure(pub String);

impl HostFailure {
    pub fn error(message: String) -> wasmtime::Error {
        wasmtime::Error::new(HostFailure(message))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_errors_are_cut_on_a_character_boundary() {
        let short = "fine".to_string();
        assert_eq!(bounded(short.clone()), short);
        let long = "é".repeat(MAX_ERROR_BYTES);
        let cut = bounded(long);
        assert!(cut.len() < MAX_ERROR_BYTES + 40, "{}", cut.len());
        assert!(cut.ends_with("bytes, cut)"));
    }
}
