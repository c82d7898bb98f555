//! State 1 `open`: check the request before anyone spends time on it.

use baton_sdk::{Ctx, Result, Ticket};

use crate::request::{self, EditPersonRequest, Review};
use crate::states;

pub fn proceed(ctx: &Ctx, ticket: &Ticket) -> Result<()> {
    let mut req: EditPersonRequest = ticket.metadata()?;
    let today = request::date_of(ticket.created_at);
    let problems = request::problems(&req, &today);
    if problems.is_empty() {
        let fields: Vec<&str> = req.changes.keys().map(String::as_str).collect();
        ctx.log_with(
            ticket.id,
            &format!("requested changes are valid: {}", fields.join(", ")),
            &fields,
        )?;
        ctx.send_ticket(ticket.id)?;
        return Ok(());
    }
    ctx.log_with(
        ticket.id,
        &format!("request rejected: {}", problems.join("; ")),
        &problems,
    )?;
    req.review = Some(Review {
        problems,
        ..Review::default()
    });
    ctx.set_metadata(ticket.id, &req)?;
    ctx.send_ticket_to(ticket.id, states::REJECTED)?;
    Ok(())
}
