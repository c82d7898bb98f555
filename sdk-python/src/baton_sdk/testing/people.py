"""The test host's people: the groups a test declares, the stakeholders a
bot adds, and the settings and config it reads. The checks follow Baton's:
an unknown user or group is not found; assigning a user who is not in the
ticket's assigned group is not allowed. A user is known when they belong
to a declared group or are a stakeholder of a ticket (e.g. its creator)."""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from ..errors import HostError, HostErrorKind
from ..people import Connection, Group, Principal, Role, Settings, User
from . import calls as c

if TYPE_CHECKING:
    from ..ticket import Ticket
    from .host import TestHost, World


@dataclass(frozen=True)
class Stakeholder:
    """A stakeholder row of a ticket in the test host."""

    who: Principal
    connection: Connection
    role: Role
    is_active: bool


class People:
    _world: World
    _groups: dict[str, list[int]]
    _settings: Settings
    _config: dict[str, Any]

    # --- building ------------------------------------------------------------

    def group(self: TestHost, name: str, members: list[int]) -> TestHost:
        """Declares a group and its members (user ids)."""
        self._groups[name] = list(members)
        return self

    def settings(self: TestHost, settings: Settings) -> TestHost:
        """The settings ``ctx.settings()`` returns."""
        self._settings = settings
        return self

    def config(self: TestHost, config: dict[str, Any]) -> TestHost:
        """The metaservice ``[config]`` that ``ctx.config()`` reads."""
        self._config = dict(config)
        return self

    # --- inspecting ------------------------------------------------------------

    def stakeholders(self, id: int) -> list[Stakeholder]:
        """Ticket ``id``'s stakeholders, inactive ones included, oldest first."""
        return list(self._world.people.get(id, []))

    def assigned(self, id: int) -> int | None:
        """The ticket's active assigned user, if any."""
        for s in reversed(self.stakeholders(id)):
            if s.is_active and s.connection is Connection.ASSIGNED and isinstance(s.who, User):
                return s.who.user_id
        return None

    # --- answers ---------------------------------------------------------------

    def get_assigned_user(self, id: int) -> int | None:
        self._record(c.GetAssignedUser(id))
        self._existing(id)
        return self.assigned(id)

    def set_assigned_user(self, id: int, user_id: int) -> None:
        self._record(c.SetAssignedUser(id, user_id))
        self._open(id)
        self._known(User(user_id))
        group = next(
            (s.who.name for s in reversed(self.stakeholders(id))
             if s.connection is Connection.ASSIGNED and isinstance(s.who, Group)),
            None,
        )
        if group is None:
            raise HostError(HostErrorKind.NOT_ALLOWED, f"ticket {id} is not assigned to a group")
        if user_id not in self._groups.get(group, []):
            raise HostError(HostErrorKind.NOT_ALLOWED, f"user {user_id} is not a member of group {group}")
        self._release(id)
        self._add(id, User(user_id), Connection.ASSIGNED, Role.ACTIONER)

    def add_stakeholder(self, id: int, who: Principal, connection: Connection, role: Role) -> None:
        self._record(c.AddStakeholder(id, who, connection, role))
        self._open(id)
        self._known(who)
        self._add(id, who, connection, role)

    def request_acceptance(self, id: int, group: str) -> None:
        self._record(c.RequestAcceptance(id, group))
        self._open(id)
        self._known(Group(group))
        self._release(id)
        self._add(id, Group(group), Connection.ASSIGNED, Role.ACTIONER)

    def get_settings(self) -> Settings:
        return self._settings

    def get_config(self) -> str:
        return json.dumps(self._config)

    # --- acting as people ----------------------------------------------------------

    def accept(self, id: int, user_id: int) -> None:
        """What ``POST /tickets/{id}/accept`` does before the bot hears
        :class:`~baton_sdk.Accepted`: a member of the assigned group takes it."""
        self._open(id)
        group = next(
            (s.who.name for s in reversed(self.stakeholders(id))
             if s.is_active and s.connection is Connection.ASSIGNED and isinstance(s.who, Group)),
            None,
        )
        if group is None or user_id not in self._groups.get(group, []):
            raise HostError(HostErrorKind.NOT_ALLOWED, f"user {user_id} may not accept ticket {id}")
        self._release(id)
        self._add(id, User(user_id), Connection.ASSIGNED, Role.ACTIONER)

    # --- helpers -------------------------------------------------------------------

    def _known(self, who: Principal) -> None:
        if isinstance(who, Group):
            found = who.name in self._groups
        elif isinstance(who, User):
            found = any(who.user_id in m for m in self._groups.values()) or any(
                s.who == who for rows in self._world.people.values() for s in rows
            )
        else:
            raise HostError(HostErrorKind.INVALID, f"not a principal: {who!r}")
        if not found:
            raise HostError(HostErrorKind.NOT_FOUND, f"{who} (declare it with TestHost.group)")

    def _add(self, id: int, who: Principal, connection: Connection, role: Role) -> None:
        self._world.people.setdefault(id, []).append(Stakeholder(who, connection, role, True))

    def _release(self, id: int) -> None:
        rows = self._world.people.get(id, [])
        self._world.people[id] = [
            replace(s, is_active=False) if s.connection is Connection.ASSIGNED else s for s in rows
        ]
