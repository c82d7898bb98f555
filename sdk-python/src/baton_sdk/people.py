"""People and settings as bots see them: principals, stakeholder
connections and roles, and the ticket type's settings in force."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import timedelta
from typing import Union


@dataclass(frozen=True)
class User:
    """A user, by id."""

    user_id: int


@dataclass(frozen=True)
class Group:
    """A group, by name."""

    name: str


Principal = Union[User, Group]


class Connection(enum.Enum):
    """How a stakeholder is connected to a ticket."""

    ASSIGNED = "assigned"
    """Responsible for moving it on."""
    CC = "cc"
    """Kept in the loop, visibly."""
    BCC = "bcc"
    """Kept in the loop, hidden from the other stakeholders."""


class Role(enum.Enum):
    """What a stakeholder does."""

    REQUESTER = "requester"
    ACTIONER = "actioner"


@dataclass(frozen=True)
class Settings:
    """The ticket type's settings in force in the bot's state."""

    lifetime: timedelta | None = None
    """Time a ticket may spend in the state before ``ticket_timeout``."""
    notify_every: timedelta | None = None
    """Interval of reminders and acceptance requests."""
    notify_repeats: int = 0
    """How many reminders at most."""
    retention: timedelta | None = None
    """How long a closed ticket is kept."""
