"""The :class:`~baton_sdk.Host` inside a component: each call goes to the
WIT import of the same name, through the bindings componentize-py
generates at build time (``wit_world``), with the conversions between
those binding types and the SDK's own.

Only importable inside a component (or where such bindings exist): bots
never import it; :mod:`baton_sdk.export` does, lazily.
"""

from __future__ import annotations

from typing import Any, Callable, NoReturn, TypeVar

from componentize_py_types import Err
from wit_world.imports import notify, people, settings, tickets, types, waits

from .bot import Outcome
from .errors import HostError, HostErrorKind
from .event import Accepted, Action, Comment, Event, Notification
from .people import Connection, Group, Principal, Role, Settings, User
from .reason import Entered, Reason, Reminder, Sweep, TicketClosed, TicketGone, WaitEnded
from .ticket import BotInfo, State, Status, Ticket
from .timing import optional_duration

T = TypeVar("T")

_KINDS = {
    types.Error_NotFound: HostErrorKind.NOT_FOUND,
    types.Error_NotAllowed: HostErrorKind.NOT_ALLOWED,
    types.Error_Invalid: HostErrorKind.INVALID,
    types.Error_LimitExceeded: HostErrorKind.LIMIT_EXCEEDED,
}

_CONNECTIONS = {
    Connection.ASSIGNED: people.Connection.ASSIGNED,
    Connection.CC: people.Connection.CC,
    Connection.BCC: people.Connection.BCC,
}

_ROLES = {Role.REQUESTER: people.Role.REQUESTER, Role.ACTIONER: people.Role.ACTIONER}


def _call(function: Callable[..., T], *args: Any) -> T:
    """Calls an import; its ``err`` becomes a :class:`HostError`."""
    try:
        return function(*args)
    except Err as refused:
        error = refused.value
        raise HostError(_KINDS[type(error)], error.value) from None


def fail(message: str) -> NoReturn:
    """Ends the export with ``err(message)``."""
    raise Err(message)


def state(s: Any) -> State:
    return State(s.code, s.name)


def ticket(t: Any) -> Ticket:
    return Ticket(
        id=t.id,
        metaservice=t.metaservice,
        ticket_type=t.ticket_type,
        title=t.title,
        state=state(t.state),
        status=Status.CLOSED if t.status == types.Status.CLOSED else Status.OPEN,
        metadata_json=t.metadata,
        parent_id=t.parent_id,
        created_by=t.created_by,
        created_at=t.created_at,
        updated_at=t.updated_at,
        version=t.version,
    )


def reason(r: Any) -> Reason:
    match r:
        case types.Reason_Entered():
            return Entered()
        case types.Reason_Sweep():
            return Sweep()
        case types.Reason_WaitEnded():
            return WaitEnded()
        case types.Reason_TicketClosed(value=other):
            return TicketClosed(other)
        case types.Reason_TicketGone(value=other):
            return TicketGone(other)
        case types.Reason_Reminder(value=number):
            return Reminder(number)
    raise TypeError(f"unknown reason {r!r}")


def event(e: Any) -> Event:
    match e:
        case types.Event_Action(value=a):
            return Action(a.name, a.payload, a.user_id)
        case types.Event_Comment(value=c):
            return Comment(c.id, c.body, c.user_id)
        case types.Event_Accepted(value=user):
            return Accepted(user)
        case types.Event_Notification(value=m):
            return Notification(m.sender, m.text)
    raise TypeError(f"unknown event {e!r}")


def outcome(o: Outcome) -> Any:
    return types.Outcome.HANDLED if o is Outcome.HANDLED else types.Outcome.UNHANDLED


def bot_info(info: BotInfo) -> Any:
    return types.BotInfo(info.metaservice, info.ticket_type, list(info.states), info.toolchain)


def _principal(who: Principal) -> Any:
    if isinstance(who, User):
        return people.Principal_User(who.user_id)
    if isinstance(who, Group):
        return people.Principal_Group(who.name)
    raise TypeError(f"a principal is User(id) or Group(name), not {who!r}")


class WasmHost:
    """The host as seen from inside a component."""

    def get_ticket(self, id: int) -> Ticket:
        return ticket(_call(tickets.get_ticket, id))

    def create_ticket(self, ticket_type: str, title: str, metadata_json: str) -> int:
        return _call(tickets.create_ticket, ticket_type, title, metadata_json)

    def send_ticket(self, id: int) -> State:
        return state(_call(tickets.send_ticket, id))

    def send_ticket_to(self, id: int, code: int) -> State:
        return state(_call(tickets.send_ticket_to, id, code))

    def set_metadata(self, id: int, metadata_json: str) -> None:
        _call(tickets.set_metadata, id, metadata_json)

    def log(self, id: int, message: str, data_json: str | None) -> None:
        _call(tickets.log, id, message, data_json)

    def get_current_ticket_list(self) -> list[int]:
        return _call(tickets.get_current_ticket_list)

    def add_ticket_to_proceeded_list(self, id: int) -> None:
        _call(tickets.add_ticket_to_proceeded_list, id)

    def report_error(self, id: int, message: str) -> int:
        return _call(tickets.report_error, id, message)

    def wait(self, id: int, millis: int) -> None:
        _call(waits.wait, id, millis)

    def wait_until_time(self, id: int, time: int) -> None:
        _call(waits.wait_until_time, id, time)

    def wait_until_ticket(self, id: int, other: int) -> None:
        _call(waits.wait_until_ticket, id, other)

    def send_user_notification(self, id: int, to: Principal, text: str) -> None:
        _call(notify.send_user_notification, id, _principal(to), text)

    def send_bot_notification(self, id: int, bot: str, text: str) -> None:
        _call(notify.send_bot_notification, id, bot, text)

    def get_assigned_user(self, id: int) -> int | None:
        return _call(people.get_assigned_user, id)

    def set_assigned_user(self, id: int, user_id: int) -> None:
        _call(people.set_assigned_user, id, user_id)

    def add_stakeholder(self, id: int, who: Principal, connection: Connection, role: Role) -> None:
        _call(people.add_stakeholder, id, _principal(who), _CONNECTIONS[connection], _ROLES[role])

    def request_acceptance(self, id: int, group: str) -> None:
        _call(people.request_acceptance, id, group)

    def get_settings(self) -> Settings:
        s = settings.get_settings()
        return Settings(
            lifetime=optional_duration(s.lifetime_ms),
            notify_every=optional_duration(s.notify_every_ms),
            notify_repeats=s.notify_repeats,
            retention=optional_duration(s.retention_ms),
        )

    def get_config(self) -> str:
        return settings.get_config()
