//! What Baton does for every bot, whatever language it is written in,
//! when the bot leaves a call to the platform (it returns
//! `outcome::unhandled`, which is what each SDK's default does):
//!
//! - `ticket-timeout`: the ticket outlived its state's lifetime. The person
//!   who created it is told it is out of service, an error ticket is filed
//!   for the metaservice's error group, and the ticket's log says so.
//! - `on-event`: the log says the event is not handled in this state, so
//!   that a button nobody implemented does not vanish silently.
//!
//! The default joins whatever the bot asked for in the same commit. It is
//! the platform's own doing: it does not count against the bot's limits.
//! (The other platform duties live where they happen: a file whose states
//! do not match its name is refused at load, `loader.rs`; a ticket in a
//! state its manifest no longer declares is parked with an error ticket by
//! the engine.)

use super::invoke::Call;
use super::session::{Change, Session};
use crate::model::Actor;

/// Applies the default for `call` to the session's effects.
pub(super) async fn default_for(call: &Call, session: &mut Session) -> Result<(), String> {
    match call {
        Call::Timeout => timed_out(session).await,
        Call::Action { .. }
        | Call::Comment { .. }
        | Call::Accepted(_)
        | Call::Notification { .. } => {
            let id = session.invoked;
            let message = format!("event {} is not handled in this state", event_of(call));
            session.record(Change::Logged {
                id,
                message,
                data: None,
            });
            Ok(())
        }
        // `proceed-ticket` has no default: a bot must say what a step does.
        Call::Entered
        | Call::Sweep
        | Call::WaitEnded
        | Call::TicketClosed(_)
        | Call::TicketGone(_)
        | Call::Reminded(_) => Ok(()),
    }
}

/// The event, as people read it in the log.
fn event_of(call: &Call) -> String {
    match call {
        Call::Action { name, .. } => format!("action {name:?}"),
        Call::Comment { id, .. } => format!("comment {id}"),
        Call::Accepted(user) => format!("acceptance by user {user}"),
        Call::Notification { from, .. } => format!("notification from {from}"),
        _ => "?".into(),
    }
}

/// The lifetime's default: tell the creator, file an error ticket, log.
async fn timed_out(session: &mut Session) -> Result<(), String> {
    let id = session.invoked;
    let Some(ticket) = session.seen.get(&id).cloned() else {
        return Err(format!("ticket {id} was not read"));
    };
    let state = session
        .metaservice
        .ticket_types
        .get(&ticket.ticket_type)
        .and_then(|tt| tt.state(ticket.state_code))
        .map_or_else(
            || ticket.state_code.to_string(),
            |s| format!("{} {}", s.code, s.name),
        );
    let what = format!(
        "ticket {id} ({}) is out of service: nothing moved it out of state {state} in time",
        ticket.title
    );
    if let Actor::User(creator) = ticket.created_by {
        session.record(Change::Notified {
            id,
            user_id: creator,
            text: what.clone(),
        });
    }
    let error_ticket = session
        .store
        .next_ticket_id()
        .await
        .map_err(|e| format!("allocating a ticket id: {e}"))?;
    session.record(Change::ErrorReported {
        id,
        error_ticket,
        message: what.clone(),
    });
    session.record(Change::Logged {
        id,
        message: what,
        data: None,
    });
    Ok(())
}
