"""Durations and times between Python and the contract's milliseconds.

Bots speak ``timedelta`` (or seconds, as ``int``/``float``) and aware
``datetime``; the contract speaks whole milliseconds, times since the Unix
epoch in UTC.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def duration_millis(delay: timedelta | int | float) -> int:
    """``delay`` in whole milliseconds (rounded up); numbers are seconds."""
    if isinstance(delay, bool) or not isinstance(delay, (timedelta, int, float)):
        raise TypeError(f"a duration is a timedelta or seconds, not {type(delay).__name__}")
    seconds = delay.total_seconds() if isinstance(delay, timedelta) else float(delay)
    if seconds < 0 or seconds != seconds:
        raise ValueError(f"a duration cannot be negative: {delay!r}")
    millis = seconds * 1000
    whole = int(millis)
    return whole + 1 if millis > whole else whole


def epoch_millis(when: datetime) -> int:
    """An aware ``datetime`` as milliseconds since the Unix epoch."""
    if not isinstance(when, datetime):
        raise TypeError(f"a time is a datetime, not {type(when).__name__}")
    if when.tzinfo is None:
        raise ValueError("a time needs a timezone (e.g. datetime.now(timezone.utc))")
    return (when - EPOCH) // timedelta(milliseconds=1)


def from_epoch_millis(millis: int) -> datetime:
    """Milliseconds since the Unix epoch as an aware UTC ``datetime``."""
    return EPOCH + timedelta(milliseconds=millis)


def optional_duration(millis: int | None) -> timedelta | None:
    """Milliseconds as a ``timedelta``; ``None`` stays ``None``."""
    return None if millis is None else timedelta(milliseconds=millis)
