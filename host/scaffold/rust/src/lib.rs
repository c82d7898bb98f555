//! The bot of `{{name}}/request` in state `open`: it reads the request,
//! logs what it saw and sends the ticket on to `done`.

use baton_sdk::{Bot, Ctx, Reason, Result, Ticket};
use serde::Deserialize;

/// The ticket's metadata (see the manifest's schema, if it has one).
#[derive(Deserialize, Default)]
#[serde(default)]
struct Request {
    text: String,
}

pub struct Open;

impl Bot for Open {
    const METASERVICE: &'static str = "{{name}}";
    const TICKET_TYPE: &'static str = "request";
    const STATES: &'static [u32] = &[1];

    fn proceed_ticket(ctx: &Ctx, ticket: Ticket, _reason: Reason) -> Result<()> {
        let request: Request = ticket.metadata()?;
        ctx.log(ticket.id, &format!("received: {:?}", request.text))?;
        ctx.send_ticket(ticket.id)?;
        Ok(())
    }
}

baton_sdk::export_bot!(Open);
