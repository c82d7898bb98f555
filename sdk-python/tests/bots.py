"""Small bots the SDK's tests run: one per behaviour under test."""

from __future__ import annotations

from datetime import timedelta

from baton_sdk import (
    Accepted, Action, Bot, BotError, Ctx, Event, Group, HostError, HostErrorKind, Outcome,
    Reason, Reminder, Ticket,
)


class Mover(Bot):
    """Moves on; an empty title goes to the alternative, 3."""

    metaservice = "demo"
    ticket_type = "request"
    states = (1,)

    def proceed_ticket(self, ctx: Ctx, ticket: Ticket, reason: Reason) -> None:
        if isinstance(reason, Reminder):
            ctx.log(ticket.id, f"reminder {reason.number}")
            return
        if not ticket.title:
            ctx.send_ticket_to(ticket.id, 3)
            return
        ctx.log(ticket.id, "moving on", {"title": ticket.title})
        ctx.send_ticket(ticket.id)


class Failing(Bot):
    """Does some work, then fails the way the metadata says."""

    metaservice = "demo"
    ticket_type = "request"
    states = (1,)

    def proceed_ticket(self, ctx: Ctx, ticket: Ticket, reason: Reason) -> None:
        ctx.log(ticket.id, "about to fail")
        ctx.set_metadata(ticket.id, {"touched": True})
        ctx.send_ticket(ticket.id)
        how = ticket.metadata().get("fail")
        if how == "bot":
            raise BotError("the bot gives up")
        if how == "key":
            ticket.metadata()["missing"]
        if how == "exit":
            raise SystemExit(3)
        if how == "host":
            ctx.send_ticket(ticket.id)  # closed by now: refused


class Forgetful(Bot):
    """Forgets to return an Outcome."""

    metaservice = "demo"
    ticket_type = "request"
    states = (1,)

    def proceed_ticket(self, ctx: Ctx, ticket: Ticket, reason: Reason) -> None:
        pass

    def on_event(self, ctx: Ctx, ticket: Ticket, event: Event):  # type: ignore[override]
        ctx.log(ticket.id, "seen")


class Reviewer(Bot):
    """Hands the ticket to a group, handles actions, falls back on a refusal."""

    metaservice = "demo"
    ticket_type = "request"
    states = (1,)

    def proceed_ticket(self, ctx: Ctx, ticket: Ticket, reason: Reason) -> None:
        ctx.request_acceptance(ticket.id, ctx.config("group"))
        ctx.wait(ticket.id, timedelta(hours=1))

    def on_event(self, ctx: Ctx, ticket: Ticket, event: Event) -> Outcome:
        match event:
            case Accepted(user_id=user):
                ctx.log(ticket.id, f"user {user} took it")
                return Outcome.HANDLED
            case Action(name="skip"):
                try:
                    ctx.send_ticket_to(ticket.id, 9)
                except HostError as e:
                    if e.kind is not HostErrorKind.NOT_ALLOWED:
                        raise
                    ctx.send_ticket(ticket.id)
                ctx.notify(ticket.id, Group(ctx.config("group")), "skipped")
                return Outcome.HANDLED
        return Outcome.UNHANDLED
