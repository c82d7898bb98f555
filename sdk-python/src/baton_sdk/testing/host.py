""":class:`TestHost`: the builder (states, transitions, groups, config),
the runs (proceed, event, timeout: all-or-nothing, like Baton) and what a
test inspects afterwards (tickets, calls, logs, moves, notifications,
waits, people)."""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass, field
from typing import Any, Callable, TypeVar

from ..bot import Bot, Outcome
from ..ctx import Ctx
from ..errors import failure_message
from ..event import Event
from ..export import event as run_event, proceed as run_proceed, timeout as run_timeout
from ..people import Connection, Principal, Role, Settings, User
from ..reason import Entered, Reason
from ..ticket import State, Status, Ticket
from .answers import Answers
from .calls import Call, Wait, WaitUntilTicket, WaitUntilTime
from .people import People, Stakeholder

T = TypeVar("T")


@dataclass
class World:
    """Everything a run may change; a failed run puts it back, calls aside."""

    tickets: dict[int, Ticket] = field(default_factory=dict)
    calls: list[Call] = field(default_factory=list)
    logs: list[tuple[int, str, Any]] = field(default_factory=list)
    moves: list[tuple[int, int, int]] = field(default_factory=list)
    notifications: list[tuple[int, Principal, str]] = field(default_factory=list)
    bot_notifications: list[tuple[int, str, str]] = field(default_factory=list)
    errors: list[tuple[int, int, str]] = field(default_factory=list)
    waits: dict[int, Wait | WaitUntilTime | WaitUntilTicket] = field(default_factory=dict)
    people: dict[int, list[Stakeholder]] = field(default_factory=dict)
    proceeded: set[int] = field(default_factory=set)
    next_id: int = 1


class TestHost(Answers, People):
    """An in-memory host for one ticket type of one metaservice."""

    __test__ = False  # not a pytest test class, whatever its name

    def __init__(self, metaservice: str, ticket_type: str) -> None:
        self.metaservice = metaservice
        self.ticket_type = ticket_type
        self._states: dict[int, tuple[str, bool]] = {}
        self._transitions: dict[int, list[int]] = {}
        self._groups: dict[str, list[int]] = {}
        self._settings = Settings()
        self._config: dict[str, Any] = {}
        self._world = World()
        self._current: Ticket | None = None
        self.last_error: str | None = None
        """The error string the last run ended with (what Baton would store), or ``None``."""

    # --- building ------------------------------------------------------------

    def state(self, code: int, name: str) -> TestHost:
        """Declares a non-terminal state."""
        self._states[code] = (name, False)
        return self

    def terminal(self, code: int, name: str) -> TestHost:
        """Declares a terminal state: entering it closes the ticket."""
        self._states[code] = (name, True)
        return self

    def transitions(self, *rows: list[int]) -> TestHost:
        """Transitions in the manifest's notation: ``transitions([1, 2, 4], [2, 3, 4])``."""
        for row in rows:
            if row:
                self._transitions[row[0]] = list(row[1:])
        return self

    def add_ticket(
        self,
        code: int,
        title: str,
        metadata: Any,
        *,
        created_by: int | None = None,
        parent_id: int | None = None,
        ticket_type: str | None = None,
    ) -> int:
        """Adds a ticket in state ``code``; returns its number. A person who
        creates it (``created_by``) becomes its requester, as in Baton."""
        world = self._world
        id = world.next_id
        world.next_id += 1
        world.tickets[id] = Ticket(
            id=id,
            metaservice=self.metaservice,
            ticket_type=ticket_type or self.ticket_type,
            title=title,
            state=self._state_of(code),
            status=Status.OPEN,
            metadata_json=json.dumps(metadata),
            parent_id=parent_id,
            created_by=created_by,
        )
        if created_by is not None:
            world.people.setdefault(id, []).append(
                Stakeholder(User(created_by), Connection.CC, Role.REQUESTER, True)
            )
        return id

    # --- running ---------------------------------------------------------------

    def proceed(self, bot: type[Bot], id: int, reason: Reason = Entered()) -> None:
        """Runs ``bot.proceed_ticket`` for ticket ``id``; raises what the bot raised."""
        ticket = self._invoked(bot, id)
        self._run(ticket, lambda ctx: run_proceed(bot, ctx, ticket, reason))
        self._world.proceeded.add(id)

    def event(self, bot: type[Bot], id: int, event: Event) -> Outcome:
        """Runs ``bot.on_event`` for ticket ``id``; what it returned (with
        ``UNHANDLED`` Baton would log the event as not handled: the test host does not)."""
        ticket = self._invoked(bot, id)
        return self._run(ticket, lambda ctx: run_event(bot, ctx, ticket, event))

    def timeout(self, bot: type[Bot], id: int) -> Outcome:
        """Runs ``bot.ticket_timeout`` for ticket ``id``; what it returned (with
        ``UNHANDLED`` Baton would add its default: the test host does not)."""
        ticket = self._invoked(bot, id)
        return self._run(ticket, lambda ctx: run_timeout(bot, ctx, ticket))

    def _invoked(self, bot: type[Bot], id: int) -> Ticket:
        info = bot.info()
        ticket = self.ticket(id)
        if (info.metaservice, info.ticket_type) != (self.metaservice, ticket.ticket_type):
            raise ValueError(
                f"{bot.__name__} serves {info.metaservice}/{info.ticket_type}, "
                f"ticket {id} is {self.metaservice}/{ticket.ticket_type}"
            )
        if ticket.state.code not in info.states:
            raise ValueError(
                f"{bot.__name__} serves states {list(info.states)}, ticket {id} is in {ticket.state.code}"
            )
        return ticket

    def _run(self, ticket: Ticket, call: Callable[[Ctx], T]) -> T:
        before = copy.deepcopy(self._world)
        self._current = ticket
        self.last_error = None
        try:
            return call(Ctx(self))
        except BaseException as exc:
            # Baton commits nothing of a failed invocation; keep only the
            # record of what was attempted.
            self.last_error = failure_message(exc)
            calls = self._world.calls
            self._world = before
            self._world.calls = calls
            raise
        finally:
            self._current = None

    # --- inspecting ------------------------------------------------------------

    def ticket(self, id: int) -> Ticket:
        """The ticket as it is now."""
        try:
            return self._world.tickets[id]
        except KeyError:
            raise KeyError(f"no ticket {id} in the test host") from None

    def calls(self) -> list[Call]:
        """Every call made so far, in order, failed runs included."""
        return list(self._world.calls)

    def logs(self, id: int) -> list[str]:
        """The log lines committed for ticket ``id``."""
        return [message for t, message, _ in self._world.logs if t == id]

    def log_data(self, id: int) -> list[Any]:
        """The data of each log line of ticket ``id`` (``None`` where there was none)."""
        return [data for t, _, data in self._world.logs if t == id]

    def moves(self, id: int) -> list[tuple[int, int]]:
        """The committed moves of ticket ``id``, as (from, to) state codes."""
        return [(a, b) for t, a, b in self._world.moves if t == id]

    def notifications(self, id: int) -> list[tuple[Principal, str]]:
        """The committed notifications to people about ticket ``id``."""
        return [(to, text) for t, to, text in self._world.notifications if t == id]

    def bot_notifications(self, id: int) -> list[tuple[str, str]]:
        """The committed messages to other bots about ticket ``id``, as (bot, text)."""
        return [(bot, text) for t, bot, text in self._world.bot_notifications if t == id]

    def reported_errors(self, id: int) -> list[str]:
        """The messages of the error tickets filed about ticket ``id``."""
        return [message for _, t, message in self._world.errors if t == id]

    def pending_wait(self, id: int) -> Wait | WaitUntilTime | WaitUntilTicket | None:
        """The wait in force for ticket ``id`` (the last one asked for in its state)."""
        return self._world.waits.get(id)

    def is_proceeded(self, id: int) -> bool:
        """Whether ticket ``id`` is on the proceeded list."""
        return id in self._world.proceeded

    # --- shared with the answers -----------------------------------------------

    def _state_of(self, code: int) -> State:
        name, _ = self._states.get(code, (f"state{code}", False))
        return State(code, name)
