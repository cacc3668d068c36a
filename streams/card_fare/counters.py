"""The card's transaction counter: one operation, one charge (TRN-3).

Every validator operation carries the counter the card had when it was tapped. After an
uncertain write the passenger taps again; if the operation with that counter did
succeed, the repeat must not charge again: it is answered with the first result. Only
successful operations are remembered (a fault writes nothing, so the card's counter did
not move and the next tap may carry the same value). The last `WINDOW` counters are
kept with what the validator showed; a counter older than all of them is stale.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

WINDOW = 64


@dataclass(frozen=True)
class Repeat:
    counter: int
    first_event: str | None  # None when the counter is older than the window
    shown: str | None  # what the validator showed for the first operation


def repeat_of(memory: dict[str, Any], counter: int) -> Repeat | None:
    """The earlier operation this counter belongs to, or None if it is a new operation."""
    seen = memory.get(str(counter))
    if seen is not None:
        return Repeat(counter, seen["event"], seen["shown"])
    if len(memory) >= WINDOW and counter < min(int(k) for k in memory):
        return Repeat(counter, None, None)
    return None


def remember(memory: dict[str, Any], counter: int, event_id: str, shown: str) -> dict[str, Any]:
    kept = {**memory, str(counter): {"event": event_id, "shown": shown}}
    if len(kept) > WINDOW:
        for old in sorted(kept, key=int)[: len(kept) - WINDOW]:
            del kept[old]
    return kept
