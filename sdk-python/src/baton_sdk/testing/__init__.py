"""A native host for unit-testing bots with plain pytest, no Wasm build.

:class:`TestHost` keeps tickets in memory, follows the transitions you
give it the way Baton does (normal next state first, alternatives by code,
anything else refused), and records every call the bot makes. Like Baton,
it discards a failed invocation's changes: only the record of the calls
stays, so a test can see what was attempted.

    from baton_sdk import Entered
    from baton_sdk.testing import SendTicket, TestHost

    host = (TestHost("demo", "request")
            .state(1, "open").terminal(2, "done")
            .transitions([1, 2]))
    tid = host.add_ticket(1, "a request", {})
    host.proceed(Open, tid, Entered())
    assert host.ticket(tid).state.code == 2
    assert host.calls() == [SendTicket(tid)]

Modules: ``calls`` (the recorded :class:`Call` kinds), ``host`` (the
builder, the runs and what a test inspects), ``answers`` (the host's answer
to each call), ``people`` (groups, stakeholders, settings and config).
"""

from .calls import (
    AddStakeholder, AddToProceededList, Call, CreateTicket, GetAssignedUser, GetCurrentTicketList,
    GetTicket, Log, Notify, NotifyBot, ReportError, RequestAcceptance, SendTicket, SendTicketTo,
    SetAssignedUser, SetMetadata, Wait, WaitUntilTicket, WaitUntilTime,
)
from .host import TestHost
from .people import Stakeholder

__all__ = [
    "AddStakeholder", "AddToProceededList", "Call", "CreateTicket", "GetAssignedUser",
    "GetCurrentTicketList", "GetTicket", "Log", "Notify", "NotifyBot", "ReportError",
    "RequestAcceptance", "SendTicket", "SendTicketTo", "SetAssignedUser", "SetMetadata",
    "Stakeholder", "TestHost", "Wait", "WaitUntilTicket", "WaitUntilTime",
]
