"""Metadata and payloads read into dataclasses."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from baton_sdk import Action, MetadataError, State, Status, Ticket


@dataclass
class Change:
    old: str
    new: str


@dataclass
class Request:
    wca_id: str
    changes: dict[str, Change]
    note: str | None = None
    tags: list[str] = field(default_factory=list)


def ticket(metadata: str) -> Ticket:
    return Ticket(7, "wca", "edit_person", "t", State(1, "open"), Status.OPEN, metadata)


def test_metadata_reads_into_nested_dataclasses() -> None:
    t = ticket('{"wca_id": "2012SMIT01", "changes": {"dob": {"old": "1990-01-01", "new": "1990-01-02"}}, "extra": 1}')
    request = t.metadata(Request)
    assert request == Request("2012SMIT01", {"dob": Change("1990-01-01", "1990-01-02")})
    assert t.metadata()["extra"] == 1


def test_a_missing_field_is_named_with_its_path() -> None:
    t = ticket('{"wca_id": "2012SMIT01", "changes": {"dob": {"old": "1990-01-01"}}}')
    with pytest.raises(MetadataError, match=r"the metadata of ticket 7: changes\.dob\.new is missing"):
        t.metadata(Request)


def test_a_document_of_the_wrong_kind_is_refused() -> None:
    with pytest.raises(MetadataError, match="the document is an array, not an object"):
        ticket("[1, 2]").metadata(Request)
    with pytest.raises(TypeError, match="not a dataclass"):
        ticket("{}").metadata(dict)


def test_payloads_read_the_same_way() -> None:
    @dataclass
    class Decline:
        reason: str

    action = Action("decline", '{"reason": "not now"}', 5)
    assert action.payload(Decline) == Decline("not now")
    with pytest.raises(MetadataError, match="the payload of action 'decline': reason is missing"):
        Action("decline", "{}", 5).payload(Decline)
