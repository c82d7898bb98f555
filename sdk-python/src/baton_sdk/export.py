""":func:`export_bot`: from a :class:`Bot` subclass to the component's exports.

componentize-py looks for a class named ``WitWorld`` in the bot's app
module; ``WitWorld = export_bot(MyBot)`` makes one. Its methods convert the
binding types (``baton_sdk.component``), run the bot against the real
imports, and turn anything the bot raises into the export's ``err``
string, so that a Python exception never traps the instance.

Everything the exports need is imported when the app module is, because
componentize-py runs that import at build time and snapshots it: inside
Baton the component has no filesystem, so a module imported for the first
time during a call cannot be found. Bots import what they use at the top
of their modules too.

The calls themselves (:func:`proceed`, :func:`event`, :func:`timeout`) and
:func:`invoke` are plain Python, shared with the test host.
"""

from __future__ import annotations

import sys
import traceback
from typing import Any, Callable, TypeVar

from .bot import Bot, Outcome
from .ctx import Ctx
from .errors import failure_message
from .event import Event
from .host import Host
from .reason import Reason
from .ticket import Ticket

T = TypeVar("T")


def proceed(bot: type[Bot], ctx: Ctx, ticket: Ticket, reason: Reason) -> None:
    """Runs ``bot.proceed_ticket`` on a fresh instance."""
    bot().proceed_ticket(ctx, ticket, reason)


def event(bot: type[Bot], ctx: Ctx, ticket: Ticket, what: Event) -> Outcome:
    """Runs ``bot.on_event`` on a fresh instance; checks it returned an :class:`Outcome`."""
    return _outcome(bot, "on_event", bot().on_event(ctx, ticket, what))


def timeout(bot: type[Bot], ctx: Ctx, ticket: Ticket) -> Outcome:
    """Runs ``bot.ticket_timeout`` on a fresh instance; checks it returned an :class:`Outcome`."""
    return _outcome(bot, "ticket_timeout", bot().ticket_timeout(ctx, ticket))


def _outcome(bot: type[Bot], method: str, value: Any) -> Outcome:
    if not isinstance(value, Outcome):
        raise TypeError(
            f"{bot.__name__}.{method} must return Outcome.HANDLED or Outcome.UNHANDLED, not {value!r}"
        )
    return value


def invoke(host: Host, call: Callable[[Ctx], T]) -> tuple[T | None, str | None]:
    """Runs ``call`` with a :class:`Ctx` over ``host``: ``(value, None)``, or
    ``(None, error string)`` for anything raised, after printing its
    traceback to stderr (which Baton keeps in its log, under the bot's name)."""
    try:
        return call(Ctx(host)), None
    except BaseException as exc:  # noqa: BLE001 - every failure is the bot's error, never a trap
        traceback.print_exc(file=sys.stderr)
        return None, failure_message(exc)


def export_bot(bot: type[Bot]) -> type:
    """The ``WitWorld`` class componentize-py exports for ``bot``.

    The bot's attributes are checked at once: inside ``componentize-py
    componentize`` (which runs the app module at build time) a class that is
    not a bot fails the build, not the load.
    """
    bot.info()
    component = _component()

    class WitWorld:
        def describe(self) -> Any:
            return component.bot_info(bot.info())

        def proceed_ticket(self, ticket: Any, reason: Any) -> None:
            _, error = invoke(
                component.WasmHost(),
                lambda ctx: proceed(bot, ctx, component.ticket(ticket), component.reason(reason)),
            )
            if error is not None:
                component.fail(error)

        def on_event(self, ticket: Any, what: Any) -> Any:
            outcome, error = invoke(
                component.WasmHost(),
                lambda ctx: event(bot, ctx, component.ticket(ticket), component.event(what)),
            )
            if error is not None:
                component.fail(error)
            return component.outcome(outcome)

        def ticket_timeout(self, ticket: Any) -> Any:
            outcome, error = invoke(
                component.WasmHost(),
                lambda ctx: timeout(bot, ctx, component.ticket(ticket)),
            )
            if error is not None:
                component.fail(error)
            return component.outcome(outcome)

    WitWorld.__qualname__ = f"WitWorld[{bot.__name__}]"
    return WitWorld


def _component() -> Any:
    """``baton_sdk.component``, imported now: inside componentize-py this runs
    at build time, and a component has no filesystem to import from later.
    Natively (pytest) there are no bindings, and the exports are never called."""
    try:
        from . import component
    except ImportError:
        return None
    return component
