//! The `wca` metaservice's `anonymization` bot (`wca-anonymization-1-open`).
//!
//! A person asks that their account, or their account and their WCA
//! profile, be anonymized. The request is assigned to the review group of
//! the manifest's `[config]`; the member who accepts it anonymizes the
//! account with the `anonymize_account` button. For "account & profile" the
//! bot then opens an `anonymize_profile` child ticket (the script run, which
//! goes to the same person) and waits until it is closed. `mark_as_completed`
//! closes the request once every part is done.
//!
//! # Layout
//! - `request.rs`: the ticket's metadata.
//! - `lib.rs`: the steps, by reason and by event.

pub mod request;

use baton_sdk::{Bot, Ctx, Event, Outcome, Reason, Result, Ticket};
use serde::Deserialize;

use request::{Anonymization, Scope};

/// State codes of `anonymization`, as in `wca.metaservice.toml`.
pub mod states {
    pub const OPEN: u32 = 1;
    pub const COMPLETED: u32 = 2;
    pub const REJECTED: u32 = 3;
}

/// The `wca` manifest's `[config]`.
#[derive(Deserialize)]
struct WcaConfig {
    review_group: String,
}

pub struct AnonymizationBot;

impl Bot for AnonymizationBot {
    const METASERVICE: &'static str = "wca";
    const TICKET_TYPE: &'static str = "anonymization";
    const STATES: &'static [u32] = &[states::OPEN];

    fn proceed_ticket(ctx: &Ctx, ticket: Ticket, reason: Reason) -> Result<()> {
        match reason {
            Reason::Entered | Reason::Sweep => received(ctx, &ticket),
            Reason::TicketClosed(child) => profile_done(ctx, &ticket, child),
            Reason::TicketGone(child) => {
                let what = format!(
                    "the profile ticket {child} is gone; the profile part must be redone by hand"
                );
                ctx.report_error(ticket.id, &what)?;
                ctx.log(ticket.id, &what)
            }
            Reason::Reminder(n) => ctx.log(
                ticket.id,
                &format!("reminder {n}: {}", progress(&ticket.metadata()?)),
            ),
            Reason::WaitEnded => Ok(()),
        }
    }

    fn on_event(ctx: &Ctx, ticket: Ticket, event: Event) -> Result<Outcome> {
        handle_event(ctx, ticket, event).map(|()| Outcome::Handled)
    }
}

/// The bot's `on_event`: every event is handled here.
fn handle_event(ctx: &Ctx, ticket: Ticket, event: Event) -> Result<()> {
    match event {
        Event::Accepted(user) => accepted(ctx, &ticket, user),
        Event::Action(action) => match action.name.as_str() {
            "anonymize_account" => anonymize_account(ctx, &ticket, action.user_id),
            "mark_as_completed" => complete(ctx, &ticket, action.user_id),
            "reject" => {
                let rejection: Rejection = action.payload()?;
                let line = format!("rejected: {}", rejection.reason);
                ctx.log(ticket.id, &line)?;
                tell_requester(
                    ctx,
                    &ticket,
                    &format!(
                        "Your anonymization request (ticket {}) was {line}",
                        ticket.id
                    ),
                )?;
                ctx.send_ticket_to(ticket.id, states::REJECTED)?;
                Ok(())
            }
            other => ctx.log(ticket.id, &format!("action {other:?} is not known here")),
        },
        other => ctx.log(ticket.id, &format!("{} noted", other.describe())),
    }
}

#[derive(Deserialize)]
struct Rejection {
    reason: String,
}

/// The seed's first comment and e-mail: say what was asked, to whom it went.
fn received(ctx: &Ctx, ticket: &Ticket) -> Result<()> {
    let req: Anonymization = ticket.metadata()?;
    let config: WcaConfig = ctx.config()?;
    ctx.log(
        ticket.id,
        &format!(
            "Received anonymization request from user with user ID {}. The anonymization request is \"{}\".",
            req.user_id,
            req.scope.label()
        ),
    )?;
    ctx.request_acceptance(ticket.id, &config.review_group)?;
    tell_requester(
        ctx,
        ticket,
        &format!(
            "We received anonymization request for your details in WCA profile (ticket {}). WCA Results Team will work on this request soon.",
            ticket.id
        ),
    )
}

/// Someone of the review group took the request: the profile part, if
/// any, becomes a child ticket for them, and the request waits for it.
fn accepted(ctx: &Ctx, ticket: &Ticket, user: u64) -> Result<()> {
    let mut req: Anonymization = ticket.metadata()?;
    ctx.log(ticket.id, &format!("user {user} took the request"))?;
    if req.scope != Scope::AccountAndProfile || req.profile_ticket.is_some() {
        return Ok(());
    }
    // The schema requires it for this scope; a request without it is not
    // one the bot can act on.
    let Some(wca_id) = req.wca_id.clone() else {
        return Err(baton_sdk::Error::msg(
            "an \"account & profile\" request has no wca_id",
        ));
    };
    let job = ProfileJob {
        wca_id: &wca_id,
        user_id: req.user_id,
    };
    let child = ctx.create_ticket(
        "anonymize_profile",
        &format!("Anonymize profile {wca_id}"),
        &job,
    )?;
    req.profile_ticket = Some(child);
    ctx.set_metadata(ticket.id, &req)?;
    ctx.log(
        ticket.id,
        &format!("profile part opened as ticket {child}; waiting for it"),
    )?;
    ctx.wait_until_ticket(ticket.id, child)
}

/// The metadata of the `anonymize_profile` child.
#[derive(serde::Serialize)]
struct ProfileJob<'a> {
    wca_id: &'a str,
    user_id: u64,
}

fn profile_done(ctx: &Ctx, ticket: &Ticket, child: u64) -> Result<()> {
    let mut req: Anonymization = ticket.metadata()?;
    if req.profile_ticket != Some(child) {
        return ctx.log(
            ticket.id,
            &format!("ticket {child} closed; it is not this request's profile part"),
        );
    }
    req.profile_anonymized = Some(true);
    ctx.set_metadata(ticket.id, &req)?;
    ctx.log(
        ticket.id,
        &format!("profile anonymized (ticket {child}); {}", progress(&req)),
    )
}

fn anonymize_account(ctx: &Ctx, ticket: &Ticket, user: u64) -> Result<()> {
    let mut req: Anonymization = ticket.metadata()?;
    if req.account_anonymized == Some(true) {
        return ctx.log(ticket.id, "the account is already anonymized");
    }
    req.account_anonymized = Some(true);
    ctx.set_metadata(ticket.id, &req)?;
    ctx.log(
        ticket.id,
        &format!(
            "account of user {} anonymized by user {user}; {}",
            req.user_id,
            progress(&req)
        ),
    )
}

fn complete(ctx: &Ctx, ticket: &Ticket, user: u64) -> Result<()> {
    let req: Anonymization = ticket.metadata()?;
    if let Some(missing) = req.missing() {
        let line = format!("cannot mark as completed yet: {missing}");
        ctx.notify_user(ticket.id, user, &format!("Ticket {}: {line}", ticket.id))?;
        return ctx.log(ticket.id, &line);
    }
    ctx.log(ticket.id, &format!("marked as completed by user {user}"))?;
    tell_requester(
        ctx,
        ticket,
        &format!(
            "Your anonymization request (ticket {}) is completed.",
            ticket.id
        ),
    )?;
    ctx.send_ticket(ticket.id)?;
    Ok(())
}

fn progress(req: &Anonymization) -> String {
    match req.missing() {
        Some(missing) => format!("still to do: {missing}"),
        None => "everything is done: ready to be marked as completed".into(),
    }
}

/// The person who filed the request, if a person did.
fn tell_requester(ctx: &Ctx, ticket: &Ticket, text: &str) -> Result<()> {
    match ticket.created_by {
        Some(user) => ctx.notify_user(ticket.id, user, text),
        None => Ok(()),
    }
}

baton_sdk::export_bot!(AnonymizationBot);
