"""Times in parking state: aware UTC datetimes inside, ISO 8601 strings in stored state.

Owner state must be JSON (it goes to a Faust table changelog), so every decider of
sms_parking and app_parking stores moments with `iso()` and reads them with `at()`.
"""

from __future__ import annotations

from datetime import UTC, datetime


def iso(moment: datetime) -> str:
    # Moments are mostly UTC already (event times, stored times read by `at`): no convert.
    return (moment if moment.tzinfo is UTC else moment.astimezone(UTC)).isoformat()


def at(text: str) -> datetime:
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        raise ValueError(f"stored time {text!r} has no UTC offset")
    return moment.astimezone(UTC)


def earliest(*moments: datetime | None) -> datetime | None:
    present = [m for m in moments if m is not None]
    return min(present) if present else None
