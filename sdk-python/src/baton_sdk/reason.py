"""Why ``proceed_ticket`` runs: one small class per case, for ``match``.

    match reason:
        case Entered() | Sweep():
            ...
        case Reminder(number):
            ...
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Union


@dataclass(frozen=True)
class Entered:
    """The ticket has just entered the state, or was created in it."""


@dataclass(frozen=True)
class Sweep:
    """A sweep found the ticket in the state but not yet processed."""


@dataclass(frozen=True)
class WaitEnded:
    """A ``ctx.wait`` or ``ctx.wait_until_time`` of this bot ended."""


@dataclass(frozen=True)
class TicketClosed:
    """The ticket a ``ctx.wait_until_ticket`` waited for is closed."""

    ticket_id: int


@dataclass(frozen=True)
class TicketGone:
    """The ticket a ``ctx.wait_until_ticket`` waited for is gone (or never was)."""

    ticket_id: int


@dataclass(frozen=True)
class Reminder:
    """The host just sent reminder ``number`` (from 1) to the assigned people."""

    number: int


Reason = Union[Entered, Sweep, WaitEnded, TicketClosed, TicketGone, Reminder]
