"""What happens to a ticket while it is in a bot's state: one class per case."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, TypeVar, Union, overload

from .typed import read

T = TypeVar("T")


@dataclass(frozen=True)
class Action:
    """A person pressed one of the state's action buttons."""

    name: str
    payload_json: str
    """The payload as a JSON document, valid against the action's schema; see :meth:`payload`."""
    user_id: int

    @overload
    def payload(self) -> Any: ...
    @overload
    def payload(self, into: type[T]) -> T: ...

    def payload(self, into: type[Any] | None = None) -> Any:
        """The payload, parsed, or read into the dataclass ``into``."""
        value = json.loads(self.payload_json)
        if into is None:
            return value
        return read(into, value, f"the payload of action {self.name!r}")


@dataclass(frozen=True)
class Comment:
    """A comment a person wrote on the ticket."""

    id: int
    body: str
    user_id: int


@dataclass(frozen=True)
class Accepted:
    """A member of the assigned group accepted the ticket: now it is theirs."""

    user_id: int


@dataclass(frozen=True)
class Notification:
    """Another bot's message about the ticket (``ctx.notify_bot``)."""

    sender: str
    text: str


Event = Union[Action, Comment, Accepted, Notification]


def describe(event: Event) -> str:
    """A short description for log lines, e.g. ``action 'approve'``."""
    match event:
        case Action(name=name):
            return f"action {name!r}"
        case Comment(id=comment_id):
            return f"comment {comment_id}"
        case Accepted(user_id=user):
            return f"acceptance by user {user}"
        case Notification(sender=sender):
            return f"notification from {sender}"
    raise TypeError(f"not an event: {event!r}")
