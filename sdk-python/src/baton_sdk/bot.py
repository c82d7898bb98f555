"""The :class:`Bot` base class a bot author subclasses, and the
:class:`Outcome` of the calls for which Baton has a default."""

from __future__ import annotations

import enum
from typing import TYPE_CHECKING, ClassVar

from .ticket import BotInfo
from .version import toolchain

if TYPE_CHECKING:
    from .ctx import Ctx
    from .event import Event
    from .reason import Reason
    from .ticket import Ticket


class Outcome(enum.Enum):
    """What a bot did with an event or a timeout. Whatever it asked for is
    committed either way; ``UNHANDLED`` adds Baton's default, in the same commit."""

    HANDLED = "handled"
    UNHANDLED = "unhandled"


class Bot:
    """A bot serves the tickets of one ticket type while they are in one of
    :attr:`states`.

    Only :meth:`proceed_ticket` is required. Baton creates a fresh instance
    of the component (and of this class) for every invocation, so a bot
    keeps nothing in memory between calls: what must last goes into the
    ticket's metadata. What the platform does for every bot (the timeout's
    out-of-service message and error ticket, logging events nobody
    handles) happens in Baton itself; the methods only choose, call by
    call, whether to leave it to Baton.
    """

    metaservice: ClassVar[str]
    """The metaservice the bot belongs to, as named in its manifest."""
    ticket_type: ClassVar[str]
    """The ticket type the bot serves."""
    states: ClassVar[tuple[int, ...]]
    """The state codes this component serves; it is deployed once per state."""

    def proceed_ticket(self, ctx: Ctx, ticket: Ticket, reason: Reason) -> None:
        """The main step: the ticket entered the state, a sweep found it, a
        wait ended, a reminder went out. Raising discards every change the
        invocation asked for; Baton retries later."""
        raise NotImplementedError(f"{type(self).__name__} does not define proceed_ticket")

    def on_event(self, ctx: Ctx, ticket: Ticket, event: Event) -> Outcome:
        """Something happened to a ticket in the bot's state. The default
        leaves it to Baton, which logs that the event is not handled here."""
        return Outcome.UNHANDLED

    def ticket_timeout(self, ctx: Ctx, ticket: Ticket) -> Outcome:
        """The ticket outlived its state's ``lifetime``. The default leaves it
        to Baton: it tells the creator the ticket is out of service, files
        an error ticket and logs it."""
        return Outcome.UNHANDLED

    @classmethod
    def info(cls) -> BotInfo:
        """What ``describe()`` reports; refuses a class that is not a bot."""
        for name in ("metaservice", "ticket_type"):
            value = getattr(cls, name, None)
            if not isinstance(value, str) or not value:
                raise TypeError(f"{cls.__name__}.{name} must be a non-empty string")
        states = getattr(cls, "states", None)
        if (
            not isinstance(states, (tuple, list))
            or not states
            or not all(isinstance(s, int) and not isinstance(s, bool) and 0 <= s <= 2**32 - 1 for s in states)
        ):
            raise TypeError(f"{cls.__name__}.states must be a non-empty tuple of state codes")
        if cls.proceed_ticket is Bot.proceed_ticket:
            raise TypeError(f"{cls.__name__} must define proceed_ticket")
        return BotInfo(cls.metaservice, cls.ticket_type, tuple(states), toolchain())
