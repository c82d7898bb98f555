"""A suggestion's metadata (``suggestion.schema.json``): what people wrote,
and the decision the bot records when it ends."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Suggestion:
    """What people wrote; read with ``ticket.metadata(Suggestion)``."""

    text: str = ""
    area: str | None = None

    def is_empty(self) -> bool:
        """Nothing to triage: no text, or only blanks."""
        return not self.text.strip()

    def summary(self) -> str:
        where = f"about {self.area}" if self.area else "about no particular area"
        return f"{where}, {len(self.text.strip())} characters"


def decided(metadata: dict[str, Any], outcome: str, reason: str | None, by: int | None) -> dict[str, Any]:
    """The metadata with the decision recorded (the people's fields untouched)."""
    decision: dict[str, Any] = {"outcome": outcome, "by": by}
    if reason is not None:
        decision["reason"] = reason
    return {**metadata, "decision": decision}
