"""The calls a bot made, as the test host records them: one class per
import of the WIT world (the settings reads are not recorded). JSON
arguments are recorded parsed, so tests compare Python values."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Union

from ..people import Connection, Principal, Role


@dataclass(frozen=True)
class GetTicket:
    id: int


@dataclass(frozen=True)
class CreateTicket:
    ticket_type: str
    title: str
    metadata: Any


@dataclass(frozen=True)
class SendTicket:
    id: int


@dataclass(frozen=True)
class SendTicketTo:
    id: int
    code: int


@dataclass(frozen=True)
class SetMetadata:
    id: int
    metadata: Any


@dataclass(frozen=True)
class Log:
    id: int
    message: str
    data: Any = None


@dataclass(frozen=True)
class GetCurrentTicketList:
    pass


@dataclass(frozen=True)
class AddToProceededList:
    id: int


@dataclass(frozen=True)
class ReportError:
    id: int
    message: str


@dataclass(frozen=True)
class Wait:
    id: int
    millis: int


@dataclass(frozen=True)
class WaitUntilTime:
    id: int
    time: int
    """Milliseconds since the Unix epoch."""


@dataclass(frozen=True)
class WaitUntilTicket:
    id: int
    other: int


@dataclass(frozen=True)
class Notify:
    """A notification for a user or a group (``send-user-notification``)."""

    id: int
    to: Principal
    text: str


@dataclass(frozen=True)
class NotifyBot:
    id: int
    bot: str
    text: str


@dataclass(frozen=True)
class GetAssignedUser:
    id: int


@dataclass(frozen=True)
class SetAssignedUser:
    id: int
    user_id: int


@dataclass(frozen=True)
class AddStakeholder:
    id: int
    who: Principal
    connection: Connection
    role: Role


@dataclass(frozen=True)
class RequestAcceptance:
    id: int
    group: str


Call = Union[
    GetTicket, CreateTicket, SendTicket, SendTicketTo, SetMetadata, Log, GetCurrentTicketList,
    AddToProceededList, ReportError, Wait, WaitUntilTime, WaitUntilTicket, Notify, NotifyBot,
    GetAssignedUser, SetAssignedUser, AddStakeholder, RequestAcceptance,
]
