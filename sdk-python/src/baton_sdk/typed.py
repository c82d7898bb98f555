"""Typed metadata and payloads: a JSON value read into a dataclass, the way
the Rust SDK deserializes into a struct (``ticket.metadata(Request)``).

Fields are matched by name; a field with a default may be absent; keys the
dataclass does not name are ignored (the ticket type's schema is what
governs the document). A field whose type is itself a dataclass, or a
``list``/``dict`` of one, is read the same way. Anything else is taken as
it is: the schema has checked it, and Python does not check annotations.
A document that does not fit raises :class:`MetadataError`, which names
the path of the field, e.g. ``the metadata of ticket 7: changes.dob.new is missing``.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from typing import Any, TypeVar

T = TypeVar("T")


class MetadataError(ValueError):
    """A JSON document that does not fit the dataclass it is read into."""


def read(into: type[T], value: Any, what: str) -> T:
    """``value`` (parsed JSON) as an instance of the dataclass ``into``."""
    if not dataclasses.is_dataclass(into) or not isinstance(into, type):
        raise TypeError(f"{into!r} is not a dataclass: read {what} without a type, or give one")
    return _dataclass(into, value, what, "")


def _dataclass(into: type[T], value: Any, what: str, path: str) -> T:
    if not isinstance(value, dict):
        raise MetadataError(f"{what}: {path or 'the document'} is {_kind(value)}, not an object")
    hints = typing.get_type_hints(into)
    fields: dict[str, Any] = {}
    for field in dataclasses.fields(into):
        if not field.init:
            continue
        where = f"{path}.{field.name}" if path else field.name
        if field.name not in value:
            has_default = (
                field.default is not dataclasses.MISSING
                or field.default_factory is not dataclasses.MISSING
            )
            if not has_default:
                raise MetadataError(f"{what}: {where} is missing")
            continue
        fields[field.name] = _value(hints.get(field.name, Any), value[field.name], what, where)
    return into(**fields)


def _value(hint: Any, value: Any, what: str, path: str) -> Any:
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        return _dataclass(hint, value, what, path)
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin is list and args and isinstance(value, list):
        return [_value(args[0], v, what, f"{path}[{i}]") for i, v in enumerate(value)]
    if origin is dict and len(args) == 2 and isinstance(value, dict):
        return {k: _value(args[1], v, what, f"{path}.{k}") for k, v in value.items()}
    if origin in (typing.Union, types.UnionType) and value is not None:
        inner = [a for a in args if a is not type(None)]
        if len(inner) == 1:
            return _value(inner[0], value, what, path)
    return value


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, list):
        return "an array"
    return f"a {type(value).__name__}"
