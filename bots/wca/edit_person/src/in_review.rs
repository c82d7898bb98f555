//! State 2 `in_review`: the WCA Results Team decides; the bot decides alone
//! only where there is nothing to judge.

use baton_sdk::{Ctx, Event, Result, Ticket};
use serde::Deserialize;

use crate::request::{self, EditPersonRequest, Review};
use crate::states;

pub fn proceed(ctx: &Ctx, ticket: &Ticket) -> Result<()> {
    let mut req: EditPersonRequest = ticket.metadata()?;
    if request::is_cosmetic_name_fix(&req) {
        ctx.log(
            ticket.id,
            "approved without review: only the letter case or spacing of the name changes",
        )?;
        req.review.get_or_insert_with(Review::default).auto_approved = Some(true);
        ctx.set_metadata(ticket.id, &req)?;
        ctx.send_ticket(ticket.id)?;
        return Ok(());
    }
    let config: crate::WcaConfig = ctx.config()?;
    ctx.request_acceptance(ticket.id, &config.review_group)?;
    ctx.log(
        ticket.id,
        &format!(
            "assigned to group {}: waiting for a member to accept, then approve or reject",
            config.review_group
        ),
    )
}

/// The host has reminded the assigned people; say where the ticket stands,
/// and on the last reminder say that the lifetime will end it.
pub fn reminded(ctx: &Ctx, ticket: &Ticket, number: u32) -> Result<()> {
    let who = match ctx.assigned_user(ticket.id)? {
        Some(user) => format!("user {user} has the review"),
        None => "nobody has accepted the review".to_string(),
    };
    let settings = ctx.settings();
    let last = number >= settings.notify_repeats;
    let mut line = format!(
        "reminder {number} of {} sent; {who}",
        settings.notify_repeats
    );
    if last && let Some(lifetime) = settings.lifetime {
        line.push_str(&format!(
            "; that was the last one: the request times out {} h after it entered review",
            lifetime.as_secs() / 3600
        ));
    }
    ctx.log(ticket.id, &line)
}

/// The payload of the `reject` action.
#[derive(Deserialize)]
struct Rejection {
    reason: String,
}

pub fn on_event(ctx: &Ctx, ticket: &Ticket, event: Event) -> Result<()> {
    let action = match event {
        Event::Action(action) => action,
        // Reviewers discuss in comments; the decision is an action. The
        // log keeps the discussion next to the decisions.
        Event::Notification { from, text } => {
            return ctx.log(ticket.id, &format!("{from} noted: {text}"));
        }
        Event::Accepted(user) => {
            return ctx.log(ticket.id, &format!("user {user} took the review"));
        }
        Event::Comment(c) => {
            return ctx.log(
                ticket.id,
                &format!(
                    "comment {} from user {} noted for the review",
                    c.id, c.user_id
                ),
            );
        }
    };
    match action.name.as_str() {
        "approve" => {
            ctx.log(ticket.id, "approved by the WCA Results Team")?;
            ctx.send_ticket(ticket.id)?;
        }
        "reject" => {
            let rejection: Rejection = action.payload()?;
            ctx.log(
                ticket.id,
                &format!("rejected by the WCA Results Team: {}", rejection.reason),
            )?;
            ctx.send_ticket_to(ticket.id, states::REJECTED)?;
        }
        other => ctx.log(ticket.id, &format!("action {other:?} is not known here"))?,
    }
    Ok(())
}
