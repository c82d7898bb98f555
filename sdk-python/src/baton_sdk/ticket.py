"""Tickets and states as a bot sees them, and what ``describe()`` says."""

from __future__ import annotations

import enum
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar, overload

from .timing import from_epoch_millis
from .typed import read

T = TypeVar("T")


@dataclass(frozen=True)
class State:
    """A business state of a ticket type, e.g. ``State(1, "open")``."""

    code: int
    name: str


class Status(enum.Enum):
    """Open until the ticket reaches a terminal state."""

    OPEN = "open"
    CLOSED = "closed"


@dataclass(frozen=True)
class Ticket:
    """A ticket, including the pending changes of the current invocation."""

    id: int
    metaservice: str
    ticket_type: str
    title: str
    state: State
    status: Status
    metadata_json: str
    """The metadata as a JSON document; see :meth:`metadata`."""
    parent_id: int | None = None
    created_by: int | None = None
    """The user who created it, if a person did (not a bot or Baton)."""
    created_at: int = 0
    """Milliseconds since the Unix epoch; see :attr:`created`."""
    updated_at: int = 0
    version: int = 1

    @overload
    def metadata(self) -> Any: ...
    @overload
    def metadata(self, into: type[T]) -> T: ...

    def metadata(self, into: type[Any] | None = None) -> Any:
        """The metadata, parsed (a ``dict`` for every schema that asks for an
        object), or read into the dataclass ``into`` (see :mod:`baton_sdk.typed`)."""
        value = json.loads(self.metadata_json)
        if into is None:
            return value
        return read(into, value, f"the metadata of ticket {self.id}")

    @property
    def created(self) -> datetime:
        return from_epoch_millis(self.created_at)

    @property
    def updated(self) -> datetime:
        return from_epoch_millis(self.updated_at)


@dataclass(frozen=True)
class BotInfo:
    """What ``describe()`` reports; built from the :class:`~baton_sdk.Bot` attributes."""

    metaservice: str
    ticket_type: str
    states: tuple[int, ...]
    toolchain: str
