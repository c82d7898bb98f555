"""What the exports do natively: describe, and failures as error strings."""

from __future__ import annotations

import pytest
from bots import Mover

from baton_sdk import Bot, BotError, Ctx, Entered, HostError, HostErrorKind, Outcome, export_bot, toolchain
from baton_sdk.errors import failure_message
from baton_sdk.export import invoke
from baton_sdk.testing import TestHost


def test_info_comes_from_the_class_attributes() -> None:
    info = Mover.info()
    assert (info.metaservice, info.ticket_type, info.states) == ("demo", "request", (1,))
    assert info.toolchain == toolchain() == "baton-sdk-python 0.1.0 (native)"


def test_a_class_that_is_not_a_bot_is_refused_at_export() -> None:
    class NoStates(Bot):
        metaservice, ticket_type = "demo", "request"

        def proceed_ticket(self, ctx, ticket, reason):
            pass

    class NoProceed(Bot):
        metaservice, ticket_type, states = "demo", "request", (1,)

    with pytest.raises(TypeError, match="states"):
        export_bot(NoStates)
    with pytest.raises(TypeError, match="must define proceed_ticket"):
        export_bot(NoProceed)
    assert hasattr(export_bot(Mover), "proceed_ticket")


def test_invoke_turns_every_exception_into_the_error_string(capsys: pytest.CaptureFixture[str]) -> None:
    host = TestHost("demo", "request")

    def fails(ctx: Ctx) -> None:
        raise RuntimeError("kaput")

    value, error = invoke(host, fails)
    assert value is None
    assert error is not None and error.startswith("RuntimeError: kaput (tests/test_export.py:")
    assert "Traceback" in capsys.readouterr().err  # kept in Baton's log
    assert invoke(host, lambda ctx: Outcome.HANDLED) == (Outcome.HANDLED, None)


def test_failure_messages() -> None:
    assert failure_message(BotError("no")) == "no"
    assert failure_message(HostError(HostErrorKind.INVALID, "bad metadata")) == (
        "host refused: invalid: bad metadata"
    )
    assert failure_message(ValueError()) == "ValueError"


def test_test_host_runs_the_same_calls_as_the_exports() -> None:
    host = TestHost("demo", "request").state(1, "open").state(2, "done").transitions([1, 2])
    t = host.add_ticket(1, "x", {})
    host.proceed(Mover, t, Entered())
    assert host.ticket(t).state.code == 2
