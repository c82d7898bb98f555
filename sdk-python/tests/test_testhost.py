"""The test host follows Baton's rules and keeps nothing of a failed run."""

from __future__ import annotations

import pytest
from bots import Failing, Forgetful, Mover, Reviewer

from baton_sdk import Accepted, Action, Comment, Entered, Group, HostError, Outcome, Reminder, Status, User
from baton_sdk.testing import (
    GetCurrentTicketList, Log, RequestAcceptance, SendTicket, SendTicketTo, SetMetadata, TestHost, Wait,
)


def demo() -> TestHost:
    return (
        TestHost("demo", "request")
        .state(1, "open")
        .terminal(2, "done")
        .terminal(3, "dropped")
        .transitions([1, 2, 3])
        .group("reviewers", [7, 8])
        .config({"group": "reviewers"})
    )


def test_proceed_moves_to_the_normal_next_state_and_logs() -> None:
    host = demo()
    t = host.add_ticket(1, "a request", {})
    host.proceed(Mover, t, Entered())
    assert host.ticket(t).state.name == "done"
    assert host.ticket(t).status is Status.CLOSED
    assert host.moves(t) == [(1, 2)]
    assert host.logs(t) == ["moving on"]
    assert host.log_data(t) == [{"title": "a request"}]
    assert host.calls() == [Log(t, "moving on", {"title": "a request"}), SendTicket(t)]
    assert host.is_proceeded(t)
    assert host.last_error is None


def test_alternatives_are_by_code() -> None:
    host = demo()
    t = host.add_ticket(1, "", {})
    host.proceed(Mover, t)
    assert host.moves(t) == [(1, 3)]
    assert host.calls() == [SendTicketTo(t, 3)]


def test_a_failed_run_keeps_only_the_record_of_calls() -> None:
    host = demo()
    t = host.add_ticket(1, "t", {"fail": "bot"})
    with pytest.raises(Exception, match="the bot gives up"):
        host.proceed(Failing, t)
    assert host.ticket(t).state.code == 1
    assert host.ticket(t).metadata() == {"fail": "bot"}
    assert host.logs(t) == [] and host.moves(t) == []
    assert not host.is_proceeded(t)
    assert host.calls() == [Log(t, "about to fail"), SetMetadata(t, {"touched": True}), SendTicket(t)]
    assert host.last_error == "the bot gives up"


def test_a_refusal_is_a_host_error_with_its_kind() -> None:
    host = demo()
    t = host.add_ticket(1, "t", {"fail": "host"})
    with pytest.raises(HostError) as refused:
        host.proceed(Failing, t)
    assert refused.value.kind.value == "not allowed"
    assert host.last_error == f"host refused: not allowed: ticket {t} is closed"


def test_any_exception_becomes_the_error_string() -> None:
    host = demo()
    t = host.add_ticket(1, "t", {"fail": "key"})
    with pytest.raises(KeyError):
        host.proceed(Failing, t)
    assert host.last_error is not None
    assert host.last_error.startswith("KeyError: 'missing' (tests/bots.py:")
    u = host.add_ticket(1, "t", {"fail": "exit"})
    with pytest.raises(SystemExit):
        host.proceed(Failing, u)
    assert host.last_error is not None and host.last_error.startswith("SystemExit: 3")


def test_on_event_must_return_an_outcome() -> None:
    host = demo()
    t = host.add_ticket(1, "t", {})
    with pytest.raises(TypeError, match="must return Outcome.HANDLED or Outcome.UNHANDLED"):
        host.event(Forgetful, t, Comment(1, "hi", 7))
    assert host.logs(t) == []


def test_defaults_leave_events_and_timeouts_to_baton() -> None:
    host = demo()
    t = host.add_ticket(1, "t", {})
    assert host.event(Mover, t, Comment(1, "hi", 7)) is Outcome.UNHANDLED
    assert host.timeout(Mover, t) is Outcome.UNHANDLED
    assert host.calls() == []


def test_acceptance_actions_and_waits() -> None:
    host = demo()
    t = host.add_ticket(1, "t", {}, created_by=5)
    host.proceed(Reviewer, t)
    assert host.calls() == [RequestAcceptance(t, "reviewers"), Wait(t, 3_600_000)]
    assert host.pending_wait(t) == Wait(t, 3_600_000)
    with pytest.raises(HostError):
        host.accept(t, 5)  # not a member
    host.accept(t, 8)
    assert host.event(Reviewer, t, Accepted(8)) is Outcome.HANDLED
    assert host.assigned(t) == 8
    assert host.logs(t) == ["user 8 took it"]
    assert host.event(Reviewer, t, Action("skip", "{}", 8)) is Outcome.HANDLED
    assert host.moves(t) == [(1, 2)]
    assert host.pending_wait(t) is None  # the wait went with the state
    assert host.notifications(t) == [(Group("reviewers"), "skipped")]


def test_people_must_be_known() -> None:
    host = demo()
    t = host.add_ticket(1, "t", {}, created_by=5)
    host.proceed(Mover, t, Reminder(1))
    from baton_sdk import Ctx

    ctx = Ctx(host)
    ctx.notify_user(t, 5, "the creator is known")
    with pytest.raises(HostError) as refused:
        ctx.notify(t, User(99), "nobody")
    assert refused.value.kind.name == "NOT_FOUND"
    with pytest.raises(HostError):
        ctx.request_acceptance(t, "nobody")


def test_the_bot_must_serve_the_ticket_state() -> None:
    host = demo()
    t = host.add_ticket(2, "t", {})
    with pytest.raises(ValueError, match="serves states"):
        host.proceed(Mover, t)


def test_current_tickets_are_those_of_the_state() -> None:
    host = demo()
    a = host.add_ticket(1, "a", {})
    host.add_ticket(2, "b", {})
    c = host.add_ticket(1, "c", {})

    from baton_sdk import Bot

    class Lister(Bot):
        metaservice, ticket_type, states = "demo", "request", (1,)
        seen: list[int] = []

        def proceed_ticket(self, ctx, ticket, reason):
            Lister.seen = ctx.current_tickets()

    host.proceed(Lister, a)
    assert Lister.seen == [a, c]
    assert host.calls() == [GetCurrentTicketList()]
