"""State 1 ``open``: is there something to triage?"""

from __future__ import annotations

from baton_sdk import Ctx, Entered, Reason, Sweep, Ticket

from . import states
from .suggestion import Suggestion, decided


def proceed(ctx: Ctx, ticket: Ticket, reason: Reason) -> None:
    if not isinstance(reason, (Entered, Sweep)):
        return  # reminders and the like: the check below runs once, on entry
    metadata = ticket.metadata()
    suggestion = ticket.metadata(Suggestion)
    if suggestion.is_empty():
        ctx.log(ticket.id, "declined: the suggestion has no text")
        ctx.set_metadata(ticket.id, decided(metadata, "declined", "the suggestion has no text", None))
        ctx.send_ticket_to(ticket.id, states.DECLINED)
        if ticket.created_by is not None:
            ctx.notify_user(
                ticket.id, ticket.created_by,
                f"Your suggestion \"{ticket.title}\" was declined: it has no text.",
            )
        return
    ctx.log(
        ticket.id,
        f"checked: a suggestion {suggestion.summary()}; on to triage",
        {"area": suggestion.area, "length": len(suggestion.text)},
    )
    ctx.send_ticket(ticket.id)
