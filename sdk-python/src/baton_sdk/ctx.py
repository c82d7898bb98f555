""":class:`Ctx`: what a bot can do during one invocation, typed, over the
:class:`~baton_sdk.Host` seam (JSON in and out, durations and times as
Python values)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

from . import checks
from .checks import text, u32, u64
from .errors import BotError
from .host import Host
from .people import Connection, Group, Principal, Role, Settings, User
from .ticket import State, Ticket
from .timing import duration_millis, epoch_millis

_MISSING = object()


def _to_json(what: str, value: Any) -> str:
    try:
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError) as e:
        raise BotError(f"{what} is not JSON: {e}") from e


def text_(value: Any, what: str = "the text") -> str:
    """:func:`~baton_sdk.checks.text` under a name the ``text`` parameters leave free."""
    return text(value, what)


def _principal(who: Any) -> Principal:
    if isinstance(who, User):
        u64(who.user_id, "user id")
        return who
    if isinstance(who, Group):
        text(who.name, "group")
        return who
    raise TypeError(f"a principal is User(id) or Group(name), not {who!r}")


class Ctx:
    """The calls a bot makes. Each raises :class:`~baton_sdk.HostError` when
    the host refuses it; the bot may catch that or let it fail the invocation.
    Arguments are checked first (:mod:`baton_sdk.checks`): a wrong one is a
    ``TypeError`` or ``ValueError`` naming it, never a trap."""

    def __init__(self, host: Host) -> None:
        self._host = host

    # --- tickets -----------------------------------------------------------

    def get_ticket(self, id: int) -> Ticket:
        """A ticket of the bot's metaservice, with this invocation's pending changes."""
        return self._host.get_ticket(u64(id, "ticket id"))

    def create_ticket(self, ticket_type: str, title: str, metadata: Any) -> int:
        """Creates a child of the current ticket (any type of the same
        metaservice, in its initial state); returns its number."""
        return self._host.create_ticket(
            text(ticket_type, "ticket type"), text(title, "title"), _to_json("metadata", metadata)
        )

    def send_ticket(self, id: int) -> State:
        """Moves the ticket to the normal next state of its current one."""
        return self._host.send_ticket(u64(id, "ticket id"))

    def send_ticket_to(self, id: int, code: int) -> State:
        """Moves the ticket to an alternative state allowed from its current one."""
        return self._host.send_ticket_to(u64(id, "ticket id"), u32(code, "state code"))

    def set_metadata(self, id: int, metadata: Any) -> None:
        """Replaces the ticket's metadata; it must satisfy the type's schema."""
        self._host.set_metadata(u64(id, "ticket id"), _to_json("metadata", metadata))

    def log(self, id: int, message: str, data: Any = None) -> None:
        """Writes a line to the ticket's log, signed with the bot's name,
        with optional structured ``data`` (anything JSON can hold)."""
        data_json = None if data is None else _to_json("log data", data)
        self._host.log(u64(id, "ticket id"), text(message, "the log message"), data_json)

    def current_tickets(self) -> list[int]:
        """The open tickets in this bot's state, oldest first (at most 1000)."""
        return list(self._host.get_current_ticket_list())

    def add_to_proceeded_list(self, id: int) -> None:
        """Marks a ticket in this state as processed, so sweeps leave it alone
        (a ``proceed_ticket`` that returns does this for its own ticket)."""
        self._host.add_ticket_to_proceeded_list(u64(id, "ticket id"))

    def report_error(self, id: int, message: str) -> int:
        """Files a ``baton.error`` ticket about this ticket for the
        metaservice's error group; returns its number."""
        return self._host.report_error(u64(id, "ticket id"), text(message, "the error message"))

    # --- waits: call one last, then return ----------------------------------

    def wait(self, id: int, delay: timedelta | int | float) -> None:
        """Resumes the ticket after ``delay`` (a timedelta, or seconds) with
        :class:`~baton_sdk.WaitEnded`, durably."""
        self._host.wait(u64(id, "ticket id"), u64(duration_millis(delay), "the delay in milliseconds"))

    def wait_until_time(self, id: int, when: datetime) -> None:
        """Resumes the ticket at ``when`` (an aware datetime; at once if past)."""
        self._host.wait_until_time(u64(id, "ticket id"), checks.s64(epoch_millis(when), "the time"))

    def wait_until_ticket(self, id: int, other: int) -> None:
        """Resumes the ticket when ``other`` closes, with
        :class:`~baton_sdk.TicketClosed` (or :class:`~baton_sdk.TicketGone`)."""
        self._host.wait_until_ticket(u64(id, "ticket id"), u64(other, "the other ticket's id"))

    # --- notify --------------------------------------------------------------

    def notify(self, id: int, to: Principal, text: str) -> None:
        """A notification about the ticket for a user, or each member of a group."""
        self._host.send_user_notification(u64(id, "ticket id"), _principal(to), text_(text))

    def notify_user(self, id: int, user_id: int, text: str) -> None:
        """A notification about the ticket in one user's inbox."""
        self.notify(id, User(user_id), text)

    def notify_bot(self, id: int, bot: str, text: str) -> None:
        """Tells the bot of state ``bot`` (a name of the ticket's type) something
        about the ticket; it hears it as :class:`~baton_sdk.Notification`."""
        self._host.send_bot_notification(u64(id, "ticket id"), text_(bot, "the bot"), text_(text))

    # --- people ------------------------------------------------------------

    def assigned_user(self, id: int) -> int | None:
        """The user the ticket is assigned to, if anyone has accepted it."""
        return self._host.get_assigned_user(u64(id, "ticket id"))

    def assign_user(self, id: int, user_id: int) -> None:
        """Assigns the ticket to a member of its assigned group."""
        self._host.set_assigned_user(u64(id, "ticket id"), u64(user_id, "user id"))

    def add_stakeholder(self, id: int, who: Principal, connection: Connection, role: Role) -> None:
        """Adds a user or group (which must exist) as a stakeholder."""
        self._host.add_stakeholder(
            u64(id, "ticket id"), _principal(who), Connection(connection), Role(role)
        )

    def request_acceptance(self, id: int, group: str) -> None:
        """Assigns the ticket to ``group`` and asks each member to accept it;
        the one who does becomes the assigned user, and the bot hears
        :class:`~baton_sdk.Accepted`."""
        self._host.request_acceptance(u64(id, "ticket id"), text(group, "group"))

    # --- settings --------------------------------------------------------------

    def settings(self) -> Settings:
        """The ticket type's settings in force in this bot's state."""
        return self._host.get_settings()

    def config(self, key: str | None = None, default: Any = _MISSING) -> Any:
        """The metaservice manifest's ``[config]`` table as a dict, or one
        entry of it; a missing entry without ``default`` is a :class:`BotError`."""
        table = json.loads(self._host.get_config())
        if key is None:
            return table
        if key in table:
            return table[key]
        if default is not _MISSING:
            return default
        raise BotError(f"the metaservice's [config] has no `{key}`")
