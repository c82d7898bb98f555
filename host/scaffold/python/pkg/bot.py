"""The bot of `{{name}}/request` in state `open`: it reads the request,
logs what it saw and sends the ticket on to `done`."""

from __future__ import annotations

from baton_sdk import Bot, Ctx, Reason, Ticket


class Open(Bot):
    metaservice = "{{name}}"
    ticket_type = "request"
    states = (1,)

    def proceed_ticket(self, ctx: Ctx, ticket: Ticket, reason: Reason) -> None:
        text = ticket.metadata().get("text", "")
        ctx.log(ticket.id, f"received: {text!r}")
        ctx.send_ticket(ticket.id)
