"""The conversions between componentize-py's binding types and the SDK's.

Needs the binding stubs componentize-py generates (never kept in the
source tree): ``componentize-py -d wit -w bot bindings target/python/stubs``
and ``PYTHONPATH=target/python/stubs``. Without them, these tests skip.
"""

from __future__ import annotations

import pytest

types = pytest.importorskip("wit_world.imports.types")
componentize_py_types = pytest.importorskip("componentize_py_types")

from baton_sdk import (  # noqa: E402
    Accepted, Action, Comment, HostError, HostErrorKind, Notification, Outcome, Reminder, State,
    Status, TicketClosed, User,
)
from baton_sdk import component  # noqa: E402


def wit_ticket() -> object:
    return types.Ticket(
        id=7, metaservice="demo", ticket_type="request", title="t",
        state=types.State(2, "triaged"), status=types.Status.CLOSED, metadata='{"a":1}',
        parent_id=None, created_by=5, created_at=1000, updated_at=2000, version=3,
    )


def test_tickets_reasons_and_events_convert() -> None:
    t = component.ticket(wit_ticket())
    assert (t.id, t.state, t.status, t.metadata(), t.created_by) == (7, State(2, "triaged"), Status.CLOSED, {"a": 1}, 5)
    assert component.reason(types.Reason_Reminder(2)) == Reminder(2)
    assert component.reason(types.Reason_TicketClosed(9)) == TicketClosed(9)
    assert component.event(types.Event_Accepted(8)) == Accepted(8)
    assert component.event(types.Event_Action(types.Action("decline", '{"reason":"x"}', 8))) == Action(
        "decline", '{"reason":"x"}', 8
    )
    assert component.event(types.Event_Comment(types.Comment(1, "hi", 8))) == Comment(1, "hi", 8)
    assert component.event(types.Event_Notification(types.BotMessage("open", "hey"))) == Notification("open", "hey")
    assert component.outcome(Outcome.HANDLED) == types.Outcome.HANDLED


def test_import_errors_become_host_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(id: int, code: int) -> None:
        raise componentize_py_types.Err(types.Error_NotAllowed(f"no transition 2 -> {code}"))

    monkeypatch.setattr(component.tickets, "send_ticket_to", refuse)
    with pytest.raises(HostError) as refused:
        component.WasmHost().send_ticket_to(7, 9)
    assert refused.value.kind is HostErrorKind.NOT_ALLOWED
    assert str(refused.value) == "not allowed: no transition 2 -> 9"


def test_principals_convert(monkeypatch: pytest.MonkeyPatch) -> None:
    sent = []
    monkeypatch.setattr(component.notify, "send_user_notification", lambda *a: sent.append(a))
    component.WasmHost().send_user_notification(7, User(5), "hi")
    assert sent == [(7, component.people.Principal_User(5), "hi")]


def test_failing_an_export_raises_err() -> None:
    with pytest.raises(componentize_py_types.Err) as err:
        component.fail("boom")
    assert err.value.value == "boom"
