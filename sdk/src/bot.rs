//! The [`Bot`] trait: what a bot author implements, and the [`Outcome`]
//! of the calls for which Baton has a default.

use crate::{Ctx, Event, Reason, Result, Ticket};

/// A bot serves the tickets of one ticket type while they are in one of
/// [`Bot::STATES`].
///
/// Only [`Bot::proceed_ticket`] is required. What the platform does for
/// every bot (the timeout's out-of-service message and error ticket,
/// logging events nobody handles, refusing a file whose states do not
/// match its name, parking tickets in states the manifest no longer
/// declares) happens in Baton itself, whatever language a bot is written
/// in; this trait only chooses, call by call, whether to leave it to Baton. The host creates a fresh
/// instance of the component for every invocation, so a bot keeps no state
/// in memory between calls: what must last goes into the ticket's metadata.
pub trait Bot {
    /// The metaservice the bot belongs to, as named in its manifest.
    const METASERVICE: &'static str;
    /// The ticket type the bot serves.
    const TICKET_TYPE: &'static str;
    /// The state codes this component can serve. It is deployed once per
    /// state, under that state's name.
    const STATES: &'static [u32];

    /// The main step: the ticket entered the bot's state, or the sweep
    /// found it unprocessed. Returning `Err` discards every change the
    /// invocation asked for; the host retries later and files an error
    /// ticket if it keeps failing.
    fn proceed_ticket(ctx: &Ctx, ticket: Ticket, reason: Reason) -> Result<()>;

    /// Something happened to a ticket in the bot's state, e.g. a person
    /// pressed one of the state's action buttons.
    ///
    /// The default leaves it to Baton ([`Outcome::Unhandled`]), which logs
    /// that the event is not handled in this state, so that a button
    /// nobody implemented does not vanish silently.
    fn on_event(ctx: &Ctx, ticket: Ticket, event: Event) -> Result<Outcome> {
        let _ = (ctx, ticket, event);
        Ok(Outcome::Unhandled)
    }

    /// The ticket outlived its state's `lifetime`. The default leaves it to
    /// Baton ([`Outcome::Unhandled`]), which does what the lifetime is for:
    /// it tells the person who created the ticket that it is out of
    /// service, and files an error ticket so that someone handles it by
    /// hand. Override it to do something else (and return
    /// [`Outcome::Handled`]), or to do something first (and return
    /// [`Outcome::Unhandled`] to have the default too).
    fn ticket_timeout(ctx: &Ctx, ticket: Ticket) -> Result<Outcome> {
        let _ = (ctx, ticket);
        Ok(Outcome::Unhandled)
    }
}

/// What a bot did with an event or a timeout, for which Baton has a
/// default. Whatever the bot asked for is committed either way.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The bot dealt with it; Baton adds nothing.
    Handled,
    /// Baton applies its default, in the same commit as the bot's changes.
    Unhandled,
}
