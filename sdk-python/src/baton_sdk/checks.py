"""Arguments checked before they cross into the host.

componentize-py converts each argument of an import to its WIT type and
traps the whole instance when it cannot (a ``str`` where a ``u64`` goes,
a number out of range, a string with a lone surrogate): a trap, not an
error string, and nothing in the native test host would notice. So
:class:`~baton_sdk.Ctx` checks each argument first, and a wrong one is a
:class:`TypeError` or :class:`ValueError` naming it, which fails the
invocation with that message like any other exception.
"""

from __future__ import annotations

from typing import Any

U32_MAX = 2**32 - 1
U64_MAX = 2**64 - 1
S64_MIN, S64_MAX = -(2**63), 2**63 - 1


def _integer(value: Any, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{what} must be an int, not {type(value).__name__} {value!r}")
    return value


def u32(value: Any, what: str) -> int:
    v = _integer(value, what)
    if not 0 <= v <= U32_MAX:
        raise ValueError(f"{what} must be between 0 and {U32_MAX}, not {v}")
    return v


def u64(value: Any, what: str) -> int:
    v = _integer(value, what)
    if not 0 <= v <= U64_MAX:
        raise ValueError(f"{what} must be between 0 and {U64_MAX}, not {v}")
    return v


def s64(value: Any, what: str) -> int:
    v = _integer(value, what)
    if not S64_MIN <= v <= S64_MAX:
        raise ValueError(f"{what} must fit a signed 64-bit integer, not {v}")
    return v


def text(value: Any, what: str) -> str:
    """A ``str`` that encodes as UTF-8 (no lone surrogates)."""
    if not isinstance(value, str):
        raise TypeError(f"{what} must be a str, not {type(value).__name__} {value!r}")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as e:
        raise ValueError(f"{what} is not valid Unicode text: {e.reason} at {e.start}") from None
    return value
