//! The [`Bot`] trait: what a bot author implements.

use crate::{Ctx, Event, Reason, Result, Ticket};

/// A bot serves the tickets of one ticket type while they are in one of
/// [`Bot::STATES`].
///
/// Only [`Bot::proceed_ticket`] is required. The host creates a fresh
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
    /// The default writes a log line saying the event was not handled, so
    /// that a button nobody implemented does not vanish silently.
    fn on_event(ctx: &Ctx, ticket: Ticket, event: Event) -> Result<()> {
        ctx.log(
            ticket.id,
            &format!("event {} is not handled in this state", event.describe()),
        )
    }

    /// The ticket outlived its state's `lifetime`. The default does what
    /// the lifetime is for: it tells the person who created the ticket that
    /// it is out of service, and files an error ticket so that someone
    /// handles it by hand.
    fn ticket_timeout(ctx: &Ctx, ticket: Ticket) -> Result<()> {
        let what = format!(
            "ticket {} ({}) is out of service: nothing moved it out of state {} {} in time",
            ticket.id, ticket.title, ticket.state.code, ticket.state.name
        );
        if let Some(creator) = ticket.created_by {
            ctx.notify_user(ticket.id, creator, &what)?;
        }
        ctx.report_error(ticket.id, &what)?;
        ctx.log(ticket.id, &what)
    }
}

/// Runs `f` if the ticket is one the bot's code serves. If it is not (the
/// database holds the ticket in a state this build does not list, or of
/// another type), the code and the database do not match: retrying cannot
/// help, so the bot files an error ticket for a person and logs it, and
/// the invocation succeeds.
pub(crate) fn guarded<B: Bot>(
    ctx: &Ctx,
    ticket: Ticket,
    f: impl FnOnce(&Ctx, Ticket) -> Result<()>,
) -> Result<()> {
    let ours = ticket.metaservice == B::METASERVICE
        && ticket.ticket_type == B::TICKET_TYPE
        && B::STATES.contains(&ticket.state.code);
    if ours {
        return f(ctx, ticket);
    }
    let what = format!(
        "code and database don't match: this bot serves {}/{} in states {:?}, \
         but ticket {} is {}/{} in state {} {}",
        B::METASERVICE,
        B::TICKET_TYPE,
        B::STATES,
        ticket.id,
        ticket.metaservice,
        ticket.ticket_type,
        ticket.state.code,
        ticket.state.name
    );
    ctx.report_error(ticket.id, &what)?;
    ctx.log(ticket.id, &what)
}
