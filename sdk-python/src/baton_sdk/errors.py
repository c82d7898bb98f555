"""Errors: the host's refusals, a bot's own failures, and the error string.

A host call the host refuses raises :class:`HostError`, which the bot may
catch (e.g. to try an alternative state) or let escape. Whatever escapes
the bot, of any type, ends the invocation with an error string made by
:func:`failure_message`: Baton commits nothing and retries later.
"""

from __future__ import annotations

import enum
import traceback


class HostErrorKind(enum.Enum):
    """Why the host refused a call (the WIT ``error`` variant)."""

    NOT_FOUND = "not found"
    """The ticket, type, state, user or group does not exist for this bot."""
    NOT_ALLOWED = "not allowed"
    """A transition not listed for the state, another metaservice's ticket, a closed ticket."""
    INVALID = "invalid"
    """Malformed arguments, e.g. metadata that fails the type's schema."""
    LIMIT_EXCEEDED = "limit exceeded"
    """A per-invocation limit or a quota was reached."""


class HostError(Exception):
    """A refusal from the host: ``kind`` says why, ``message`` says what."""

    def __init__(self, kind: HostErrorKind, message: str) -> None:
        super().__init__(kind, message)
        self.kind = kind
        self.message = message

    def __str__(self) -> str:
        return f"{self.kind.value}: {self.message}"


class BotError(Exception):
    """A failure in the bot's own words: its message is the error string as is."""


def failure_message(exc: BaseException) -> str:
    """The error string of an invocation that ended with ``exc``.

    - :class:`HostError`: ``host refused: not allowed: no transition 2 -> 9``
    - :class:`BotError`: its message
    - anything else: ``ValueError: the message (feedback_suggestion/bot.py:42)``,
      naming where it was raised, since a bare ``KeyError`` says little.
    """
    try:
        return _checked(_message(exc))
    except Exception:  # noqa: BLE001 - a broken __str__ must not trap the instance
        return f"{type(exc).__name__} (its message could not be read)"


def _message(exc: BaseException) -> str:
    if isinstance(exc, HostError):
        return f"host refused: {exc}"
    if isinstance(exc, BotError):
        return str(exc) or "BotError"
    text = str(exc)
    message = f"{type(exc).__name__}: {text}" if text else type(exc).__name__
    frames = traceback.extract_tb(exc.__traceback__)
    if frames:
        where = frames[-1]
        message += f" ({_short(where.filename)}:{where.lineno})"
    return message


def _short(path: str) -> str:
    """The last two parts of a path: enough to find the line, no build paths."""
    parts = path.replace("\\", "/").split("/")
    return "/".join(parts[-2:])


def _checked(message: str) -> str:
    """The message as text that crosses into the host: a lone surrogate
    would trap the conversion, so it is replaced."""
    return message.encode("utf-8", "replace").decode("utf-8")
