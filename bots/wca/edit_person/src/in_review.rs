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
    ctx.log(
        ticket.id,
        "waiting for the WCA Results Team to approve or reject",
    )
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
