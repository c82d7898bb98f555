"""The bot: one class for both states, dispatching on the ticket's state."""

from __future__ import annotations

from baton_sdk import Bot, Ctx, Event, Outcome, Reason, Ticket

from . import open as open_state
from . import states, triaged


class SuggestionBot(Bot):
    metaservice = "feedback"
    ticket_type = "suggestion"
    states = (states.OPEN, states.TRIAGED)

    def proceed_ticket(self, ctx: Ctx, ticket: Ticket, reason: Reason) -> None:
        if ticket.state.code == states.OPEN:
            open_state.proceed(ctx, ticket, reason)
        else:
            triaged.proceed(ctx, ticket, reason)

    def on_event(self, ctx: Ctx, ticket: Ticket, event: Event) -> Outcome:
        if ticket.state.code == states.TRIAGED:
            return triaged.on_event(ctx, ticket, event)
        # Nobody presses anything in `open`: whatever comes is Baton's to log.
        return Outcome.UNHANDLED
