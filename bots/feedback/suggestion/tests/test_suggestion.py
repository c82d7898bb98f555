"""The suggestion workflow against the SDK's test host: no Wasm build."""

from __future__ import annotations

import pytest
from feedback_suggestion import SuggestionBot

from baton_sdk import Accepted, Action, BotError, Comment, Entered, HostError, Outcome, Reminder, Sweep, User
from baton_sdk.testing import Log, Notify, RequestAcceptance, SendTicket, SendTicketTo, TestHost

CREATOR = 5
TRIAGER = 7


def feedback() -> TestHost:
    """The states, transitions and config of feedback.metaservice.toml."""
    return (
        TestHost("feedback", "suggestion")
        .state(1, "open")
        .state(2, "triaged")
        .terminal(3, "done")
        .terminal(4, "declined")
        .transitions([1, 2, 4], [2, 3, 4])
        .group("triage", [TRIAGER, 8])
        .config({"triage_group": "triage"})
    )


def triaged(host: TestHost) -> int:
    t = host.add_ticket(1, "Dark mode", {"text": "Please add a dark mode", "area": "ui"}, created_by=CREATOR)
    host.proceed(SuggestionBot, t, Entered())
    host.proceed(SuggestionBot, t, Entered())
    return t


def test_open_checks_logs_and_sends_to_triage() -> None:
    host = feedback()
    t = host.add_ticket(1, "Dark mode", {"text": "Please add a dark mode", "area": "ui"}, created_by=CREATOR)
    host.proceed(SuggestionBot, t, Entered())
    assert host.moves(t) == [(1, 2)]
    assert host.logs(t) == ["checked: a suggestion about ui, 22 characters; on to triage"]
    assert host.log_data(t) == [{"area": "ui", "length": 22}]


def test_an_empty_suggestion_is_declined_with_a_log_line() -> None:
    host = feedback()
    t = host.add_ticket(1, "Nothing", {"text": "  \n"}, created_by=CREATOR)
    host.proceed(SuggestionBot, t, Sweep())
    assert host.moves(t) == [(1, 4)]
    assert host.ticket(t).status.value == "closed"
    assert host.logs(t) == ["declined: the suggestion has no text"]
    assert host.ticket(t).metadata()["decision"] == {
        "outcome": "declined", "by": None, "reason": "the suggestion has no text",
    }
    assert host.notifications(t) == [(User(CREATOR), 'Your suggestion "Nothing" was declined: it has no text.')]


def test_open_ignores_reminders() -> None:
    host = feedback()
    t = host.add_ticket(1, "x", {"text": "y"})
    host.proceed(SuggestionBot, t, Reminder(1))
    assert host.calls() == []


def test_triaged_asks_the_config_group_to_accept() -> None:
    host = feedback()
    t = triaged(host)
    assert host.ticket(t).state.name == "triaged"
    assert RequestAcceptance(t, "triage") in host.calls()
    assert host.logs(t)[-1].startswith("assigned to group triage")
    host.accept(t, TRIAGER)
    assert host.event(SuggestionBot, t, Accepted(TRIAGER)) is Outcome.HANDLED
    assert host.assigned(t) == TRIAGER


def test_implement_ends_done_and_tells_the_creator() -> None:
    host = feedback()
    t = triaged(host)
    assert host.event(SuggestionBot, t, Action("implement", "{}", TRIAGER)) is Outcome.HANDLED
    assert host.ticket(t).state.name == "done"
    assert host.moves(t) == [(1, 2), (2, 3)]
    assert host.ticket(t).metadata()["decision"] == {"outcome": "implemented", "by": TRIAGER}
    assert host.notifications(t) == [(User(CREATOR), 'Your suggestion "Dark mode" will be implemented. Thank you!')]


def test_decline_records_the_reason_and_tells_the_creator() -> None:
    host = feedback()
    t = triaged(host)
    outcome = host.event(SuggestionBot, t, Action("decline", '{"reason": "out of scope"}', TRIAGER))
    assert outcome is Outcome.HANDLED
    assert host.ticket(t).state.name == "declined"
    assert host.ticket(t).metadata()["decision"] == {"outcome": "declined", "by": TRIAGER, "reason": "out of scope"}
    assert host.logs(t)[-1] == f"user {TRIAGER} declined it: out of scope"
    assert host.calls()[-3:] == [
        SendTicketTo(t, 4),
        Log(t, f"user {TRIAGER} declined it: out of scope"),
        Notify(t, User(CREATOR), 'Your suggestion "Dark mode" was declined: out of scope'),
    ]


def test_a_decline_without_a_reason_fails_and_changes_nothing() -> None:
    host = feedback()
    t = triaged(host)
    with pytest.raises(BotError):
        host.event(SuggestionBot, t, Action("decline", '{"reason": " "}', TRIAGER))
    assert host.last_error == "a decline needs a reason"
    assert host.ticket(t).state.name == "triaged"


def test_other_events_are_left_to_baton() -> None:
    host = feedback()
    t = triaged(host)
    before = len(host.calls())
    assert host.event(SuggestionBot, t, Comment(1, "nice", CREATOR)) is Outcome.UNHANDLED
    assert host.event(SuggestionBot, t, Action("escalate", "{}", TRIAGER)) is Outcome.UNHANDLED
    assert host.timeout(SuggestionBot, t) is Outcome.UNHANDLED
    assert len(host.calls()) == before


def test_reminders_say_who_has_it() -> None:
    host = feedback()
    t = triaged(host)
    host.proceed(SuggestionBot, t, Reminder(1))
    assert host.logs(t)[-1] == "reminder 1 sent; nobody has accepted it yet"


def test_a_missing_triage_group_is_the_bots_error() -> None:
    host = feedback().config({})
    t = host.add_ticket(2, "x", {"text": "y"})
    with pytest.raises(BotError):
        host.proceed(SuggestionBot, t, Entered())
    assert host.last_error == "the metaservice's [config] has no `triage_group`"
    unknown = feedback().config({"triage_group": "nobody"})
    u = unknown.add_ticket(2, "x", {"text": "y"})
    with pytest.raises(HostError):
        unknown.proceed(SuggestionBot, u, Entered())
    assert unknown.last_error is not None and unknown.last_error.startswith("host refused: not found")
    assert SendTicket(u) not in unknown.calls()
