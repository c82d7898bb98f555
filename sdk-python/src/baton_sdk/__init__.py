"""Write Baton bots in Python.

A bot is a WebAssembly component that serves one or more states of a
ticket type. Baton calls it when a ticket enters one of those states (and
on events, sweeps and timeouts); the bot reads the ticket, decides, and
asks the host to act through its :class:`Ctx`. Everything one invocation
asks for is committed atomically when it returns, and discarded when it
raises: any exception escaping the bot becomes the invocation's error
message, never a trap.

    from baton_sdk import Bot, Ctx, Reason, Ticket, export_bot

    class Open(Bot):
        metaservice = "demo"
        ticket_type = "request"
        states = (1,)

        def proceed_ticket(self, ctx: Ctx, ticket: Ticket, reason: Reason) -> None:
            ctx.log(ticket.id, "looks fine, moving on")
            ctx.send_ticket(ticket.id)

    WitWorld = export_bot(Open)   # what componentize-py looks for

Layout, one job per module:
- ``bot``: the :class:`Bot` base class and :class:`Outcome`.
- ``ctx``: :class:`Ctx`, the typed calls, over the ``host`` seam (:class:`Host`).
- ``ticket``, ``reason``, ``event``, ``people``: the data bots see;
  ``typed``: metadata and payloads read into dataclasses.
- ``errors``: :class:`HostError` and how a failure becomes the error string.
- ``timing``: durations and times between Python and the contract's milliseconds.
- ``export``: :func:`export_bot`, the component's exports; ``component``:
  the :class:`Host` over the real imports (only importable inside a component).
- ``testing``: :class:`~baton_sdk.testing.TestHost`, a native host for pytest.
- ``build``: ``python -m baton_sdk.build``, componentize-py around a bot project.
"""

from .bot import Bot, Outcome
from .ctx import Ctx
from .errors import BotError, HostError, HostErrorKind
from .event import Accepted, Action, Comment, Event, Notification
from .export import export_bot
from .host import Host
from .people import Connection, Group, Principal, Role, Settings, User
from .reason import Entered, Reason, Reminder, Sweep, TicketClosed, TicketGone, WaitEnded
from .ticket import BotInfo, State, Status, Ticket
from .typed import MetadataError
from .version import SDK_VERSION, toolchain

__all__ = [
    "Accepted", "Action", "Bot", "BotError", "BotInfo", "Comment", "Connection", "Ctx",
    "Entered", "Event", "Group", "Host", "HostError", "HostErrorKind", "MetadataError", "Notification",
    "Outcome", "Principal", "Reason", "Reminder", "Role", "SDK_VERSION", "Settings", "State",
    "Status", "Sweep", "Ticket", "TicketClosed", "TicketGone", "User", "WaitEnded",
    "export_bot", "toolchain",
]
