"""The test host's answers to a bot's calls on tickets, waits and
notifications: each call is recorded first, then checked the way Baton
checks it (unknown ticket: not found; closed ticket or a transition the
manifest does not list: not allowed; not JSON: invalid)."""

from __future__ import annotations

import dataclasses
import json
from typing import TYPE_CHECKING, Any

from ..errors import HostError, HostErrorKind
from ..people import Principal
from ..ticket import State, Status, Ticket
from . import calls as c

if TYPE_CHECKING:
    from .host import World


def _parse(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError as e:
        raise HostError(HostErrorKind.INVALID, f"not JSON: {e}") from None


class Answers:
    _world: World
    _current: Ticket | None
    _states: dict[int, tuple[str, bool]]
    _transitions: dict[int, list[int]]

    # --- tickets -------------------------------------------------------------

    def get_ticket(self, id: int) -> Ticket:
        self._record(c.GetTicket(id))
        return self._existing(id)

    def create_ticket(self, ticket_type: str, title: str, metadata_json: str) -> int:
        metadata = _parse(metadata_json)
        self._record(c.CreateTicket(ticket_type, title, metadata))
        first = min(self._states, default=1)
        parent = self._current.id if self._current else None
        return self.add_ticket(first, title, metadata, parent_id=parent, ticket_type=ticket_type)

    def send_ticket(self, id: int) -> State:
        self._record(c.SendTicket(id))
        ticket = self._open(id)
        allowed = self._transitions.get(ticket.state.code, [])
        if not allowed:
            raise HostError(HostErrorKind.NOT_ALLOWED, f"state {ticket.state.code} has no next state")
        return self._move(ticket, allowed[0])

    def send_ticket_to(self, id: int, code: int) -> State:
        self._record(c.SendTicketTo(id, code))
        ticket = self._open(id)
        if code not in self._transitions.get(ticket.state.code, []):
            raise HostError(HostErrorKind.NOT_ALLOWED, f"no transition {ticket.state.code} -> {code}")
        return self._move(ticket, code)

    def set_metadata(self, id: int, metadata_json: str) -> None:
        metadata = _parse(metadata_json)
        self._record(c.SetMetadata(id, metadata))
        ticket = self._open(id)
        self._world.tickets[id] = dataclasses.replace(
            ticket, metadata_json=json.dumps(metadata), version=ticket.version + 1
        )

    def log(self, id: int, message: str, data_json: str | None) -> None:
        data = None if data_json is None else _parse(data_json)
        self._record(c.Log(id, message, data))
        self._existing(id)
        self._world.logs.append((id, message, data))

    def get_current_ticket_list(self) -> list[int]:
        self._record(c.GetCurrentTicketList())
        code = self._current.state.code if self._current else None
        return sorted(
            t.id for t in self._world.tickets.values()
            if t.status is Status.OPEN and t.state.code == code
        )

    def add_ticket_to_proceeded_list(self, id: int) -> None:
        self._record(c.AddToProceededList(id))
        self._open(id)
        self._world.proceeded.add(id)

    def report_error(self, id: int, message: str) -> int:
        self._record(c.ReportError(id, message))
        self._existing(id)
        number = self._world.next_id
        self._world.next_id += 1
        self._world.errors.append((number, id, message))
        return number

    # --- waits: the last one asked for in the state wins ----------------------

    def wait(self, id: int, millis: int) -> None:
        self._wait(c.Wait(id, millis))

    def wait_until_time(self, id: int, time: int) -> None:
        self._wait(c.WaitUntilTime(id, time))

    def wait_until_ticket(self, id: int, other: int) -> None:
        self._wait(c.WaitUntilTicket(id, other))

    def _wait(self, call: c.Wait | c.WaitUntilTime | c.WaitUntilTicket) -> None:
        self._record(call)
        self._open(call.id)
        self._world.waits[call.id] = call

    # --- notify ------------------------------------------------------------------

    def send_user_notification(self, id: int, to: Principal, text: str) -> None:
        self._record(c.Notify(id, to, text))
        self._existing(id)
        self._known(to)
        self._world.notifications.append((id, to, text))

    def send_bot_notification(self, id: int, bot: str, text: str) -> None:
        self._record(c.NotifyBot(id, bot, text))
        self._existing(id)
        self._world.bot_notifications.append((id, bot, text))

    # --- helpers -------------------------------------------------------------------

    def _record(self, call: c.Call) -> None:
        self._world.calls.append(call)

    def _existing(self, id: int) -> Ticket:
        ticket = self._world.tickets.get(id)
        if ticket is None:
            raise HostError(HostErrorKind.NOT_FOUND, f"ticket {id}")
        return ticket

    def _open(self, id: int) -> Ticket:
        ticket = self._existing(id)
        if ticket.status is Status.CLOSED:
            raise HostError(HostErrorKind.NOT_ALLOWED, f"ticket {id} is closed")
        return ticket

    def _move(self, ticket: Ticket, code: int) -> State:
        state = self._state_of(code)
        terminal = self._states.get(code, ("", False))[1]
        self._world.tickets[ticket.id] = dataclasses.replace(
            ticket,
            state=state,
            status=Status.CLOSED if terminal else Status.OPEN,
            version=ticket.version + 1,
        )
        self._world.moves.append((ticket.id, ticket.state.code, code))
        # A wait belongs to the state it was asked for in.
        self._world.waits.pop(ticket.id, None)
        return state
