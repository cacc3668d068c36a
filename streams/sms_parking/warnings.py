"""The warning SMS five minutes before a stay's paid time ends (NIS-10).

Sent once per paid end: `stay["warned_for"]` holds the end it was sent for, so an
extension (a later end) earns a new warning and a redelivered tick none. A stay bought
less than five minutes before its end gets no warning: the confirmation already says it.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from streams.parking_time import at

WARNING_BEFORE = timedelta(minutes=5)


def warning_due_at(stay: dict[str, Any], before: timedelta = WARNING_BEFORE) -> datetime | None:
    """When the stay's warning is due, or None if it is sent or not wanted."""
    if stay.get("warned_for") == stay["end"]:
        return None
    due = at(stay["end"]) - before
    if due < at(stay["bought_at"]):
        return None
    return due
