//! The `wca` metaservice's `anonymize_profile` bot
//! (`wca-anonymize_profile-1-open`): the profile part of an "account &
//! profile" anonymization, opened by the request's bot.
//!
//! It goes to whoever took the parent request (assigned directly, checked
//! by Baton to be a member of the review group), or to the whole review
//! group when nobody has; the person who asked for the anonymization
//! follows it as a `cc` requester. `mark_as_completed` closes it, which
//! wakes the parent.

use baton_sdk::{Bot, Connection, Ctx, Event, Outcome, Principal, Reason, Result, Role, Ticket};
use serde::Deserialize;

pub struct AnonymizeProfile;

/// The `wca` manifest's `[config]`.
#[derive(Deserialize)]
struct WcaConfig {
    review_group: String,
}

#[derive(Deserialize)]
struct Job {
    wca_id: String,
}

impl Bot for AnonymizeProfile {
    const METASERVICE: &'static str = "wca";
    const TICKET_TYPE: &'static str = "anonymize_profile";
    const STATES: &'static [u32] = &[1];

    fn proceed_ticket(ctx: &Ctx, ticket: Ticket, reason: Reason) -> Result<()> {
        match reason {
            Reason::Entered | Reason::Sweep => assign(ctx, &ticket),
            other => ctx.log(ticket.id, &format!("nothing to do on {other:?}")),
        }
    }

    fn on_event(ctx: &Ctx, ticket: Ticket, event: Event) -> Result<Outcome> {
        handle_event(ctx, ticket, event).map(|()| Outcome::Handled)
    }
}

/// The bot's `on_event`: every event is handled here.
fn handle_event(ctx: &Ctx, ticket: Ticket, event: Event) -> Result<()> {
    match event {
        Event::Action(a) if a.name == "mark_as_completed" => {
            let job: Job = ticket.metadata()?;
            ctx.log(
                ticket.id,
                &format!("profile {} anonymized by user {}", job.wca_id, a.user_id),
            )?;
            ctx.send_ticket(ticket.id)?;
            Ok(())
        }
        other => ctx.log(ticket.id, &format!("{} noted", other.describe())),
    }
}

fn assign(ctx: &Ctx, ticket: &Ticket) -> Result<()> {
    let job: Job = ticket.metadata()?;
    let config: WcaConfig = ctx.config()?;
    ctx.request_acceptance(ticket.id, &config.review_group)?;
    let mut line = format!("run the anonymization script for profile {}", job.wca_id);
    if let Some(parent) = ticket.parent_id {
        if let Some(reviewer) = ctx.assigned_user(parent)? {
            ctx.assign_user(ticket.id, reviewer)?;
            line.push_str(&format!(
                "; assigned to user {reviewer}, who took request {parent}"
            ));
        }
        if let Some(requester) = ctx.get_ticket(parent)?.created_by {
            ctx.add_stakeholder(
                ticket.id,
                Principal::User(requester),
                Connection::Cc,
                Role::Requester,
            )?;
        }
    }
    ctx.log(ticket.id, &line)
}

baton_sdk::export_bot!(AnonymizeProfile);
