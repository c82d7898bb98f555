"""The bot's logic, natively, against the SDK's test host (no Wasm build)."""

from baton_sdk import Entered
from baton_sdk.testing import TestHost

from {{module}}.bot import Open


def test_a_request_is_logged_and_done() -> None:
    host = TestHost("{{name}}", "request").state(1, "open").terminal(2, "done").transitions([1, 2])
    id = host.add_ticket(1, "a request", {"text": "hello"})
    host.proceed(Open, id, Entered())
    assert host.logs(id) == ["received: 'hello'"]
    assert host.ticket(id).state.code == 2
