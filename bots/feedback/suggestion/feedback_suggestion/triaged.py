"""State 2 ``triaged``: the triage team decides."""

from __future__ import annotations

from baton_sdk import Accepted, Action, BotError, Ctx, Entered, Event, Outcome, Reason, Reminder, Sweep, Ticket

from . import states
from .suggestion import decided


def triage_group(ctx: Ctx) -> str:
    group = ctx.config("triage_group")
    if not isinstance(group, str) or not group:
        raise BotError(f"the metaservice's [config] triage_group must be a group name, not {group!r}")
    return group


def proceed(ctx: Ctx, ticket: Ticket, reason: Reason) -> None:
    match reason:
        case Entered() | Sweep():
            group = triage_group(ctx)
            ctx.request_acceptance(ticket.id, group)
            ctx.log(ticket.id, f"assigned to group {group}: waiting for a member to accept, then implement or decline")
        case Reminder(number):
            user = ctx.assigned_user(ticket.id)
            who = f"user {user} has it" if user is not None else "nobody has accepted it yet"
            ctx.log(ticket.id, f"reminder {number} sent; {who}")


def on_event(ctx: Ctx, ticket: Ticket, event: Event) -> Outcome:
    match event:
        case Accepted(user_id=user):
            ctx.log(ticket.id, f"user {user} took the suggestion")
            return Outcome.HANDLED
        case Action(name="implement", user_id=user):
            ctx.set_metadata(ticket.id, decided(ticket.metadata(), "implemented", None, user))
            ctx.send_ticket(ticket.id)
            ctx.log(ticket.id, f"user {user} will implement it")
            tell_creator(ctx, ticket, f"Your suggestion \"{ticket.title}\" will be implemented. Thank you!")
            return Outcome.HANDLED
        case Action(name="decline", user_id=user) as action:
            why = str(action.payload().get("reason", "")).strip()
            if not why:
                raise BotError("a decline needs a reason")
            ctx.set_metadata(ticket.id, decided(ticket.metadata(), "declined", why, user))
            ctx.send_ticket_to(ticket.id, states.DECLINED)
            ctx.log(ticket.id, f"user {user} declined it: {why}")
            tell_creator(ctx, ticket, f"Your suggestion \"{ticket.title}\" was declined: {why}")
            return Outcome.HANDLED
    # Comments, other bots' messages, actions nobody implemented: Baton logs them.
    return Outcome.UNHANDLED


def tell_creator(ctx: Ctx, ticket: Ticket, text: str) -> None:
    if ticket.created_by is not None:
        ctx.notify_user(ticket.id, ticket.created_by, text)
