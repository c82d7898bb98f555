"""Ctx: durations, times, JSON and config between Python and the contract."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from baton_sdk import BotError, Ctx, Settings
from baton_sdk.testing import CreateTicket, TestHost, Wait, WaitUntilTime
from baton_sdk.timing import duration_millis, epoch_millis, from_epoch_millis


def host() -> tuple[TestHost, Ctx, int]:
    h = TestHost("demo", "request").state(1, "open").config({"group": "g", "n": 3})
    return h, Ctx(h), h.add_ticket(1, "t", {"a": [1, 2]})


def test_durations_are_timedeltas_or_seconds() -> None:
    assert duration_millis(timedelta(minutes=2)) == 120_000
    assert duration_millis(1.5) == 1500
    assert duration_millis(0.0001) == 1  # rounded up, never a zero wait by accident
    with pytest.raises(ValueError):
        duration_millis(-1)
    with pytest.raises(TypeError):
        duration_millis(True)


def test_times_are_aware_datetimes() -> None:
    when = datetime(2026, 12, 4, 12, 0, tzinfo=timezone.utc)
    assert from_epoch_millis(epoch_millis(when)) == when
    with pytest.raises(ValueError, match="timezone"):
        epoch_millis(datetime(2026, 12, 4))


def test_waits_are_recorded_in_milliseconds() -> None:
    h, ctx, t = host()
    ctx.wait(t, timedelta(days=1))
    ctx.wait_until_time(t, datetime(1970, 1, 1, 0, 0, 1, tzinfo=timezone.utc))
    assert h.calls() == [Wait(t, 86_400_000), WaitUntilTime(t, 1000)]


def test_metadata_goes_as_json_and_comes_back_parsed() -> None:
    h, ctx, t = host()
    assert ctx.get_ticket(t).metadata() == {"a": [1, 2]}
    child = ctx.create_ticket("request", "child", {"x": "é"})
    assert h.calls()[-1] == CreateTicket("request", "child", {"x": "é"})
    assert ctx.get_ticket(child).metadata() == {"x": "é"}
    with pytest.raises(BotError, match="metadata is not JSON"):
        ctx.set_metadata(t, {"when": datetime.now()})


def test_config_is_a_dict_or_one_entry() -> None:
    _, ctx, _ = host()
    assert ctx.config() == {"group": "g", "n": 3}
    assert ctx.config("group") == "g"
    assert ctx.config("other", None) is None
    with pytest.raises(BotError, match="has no `other`"):
        ctx.config("other")


def test_settings_are_timedeltas() -> None:
    h, ctx, _ = host()
    h.settings(Settings(lifetime=timedelta(days=14), notify_repeats=3))
    assert ctx.settings().lifetime == timedelta(days=14)
    assert ctx.settings().notify_every is None


def test_arguments_the_host_could_not_take_fail_with_a_message_not_a_trap() -> None:
    from baton_sdk import Ctx
    from baton_sdk.errors import failure_message
    from baton_sdk.testing import TestHost

    host = TestHost("demo", "request").state(1, "open").terminal(2, "done").transitions([1, 2])
    ctx = Ctx(host)
    cases = [
        (lambda: ctx.log(1, 42), "the log message must be a str, not int 42"),
        (lambda: ctx.send_ticket_to(1, "3"), "state code must be an int, not str '3'"),
        (lambda: ctx.get_ticket(2**64), "ticket id must be between 0 and 18446744073709551615"),
        (lambda: ctx.get_ticket(True), "ticket id must be an int, not bool True"),
        (lambda: ctx.wait(1, 1e30), "the delay in milliseconds must be between"),
        (lambda: ctx.log(1, "bad \udc80 text"), "the log message is not valid Unicode text"),
    ]
    for call, message in cases:
        try:
            call()
        except (TypeError, ValueError) as e:
            assert message in failure_message(e), failure_message(e)
        else:
            raise AssertionError(f"no error for {message}")


def test_an_exception_whose_message_breaks_still_gives_a_message() -> None:
    from baton_sdk.errors import failure_message

    class Broken(Exception):
        def __str__(self) -> str:
            raise RuntimeError("no")

    assert failure_message(Broken()) == "Broken (its message could not be read)"
    assert failure_message(ValueError("lone \udc80")) == "ValueError: lone ?"
