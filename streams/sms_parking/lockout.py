"""The no-return lockout of a zone (NIS-5).

A vehicle that has used a zone's maximum stay must leave it for `no_return_minutes`
(30 in Niš) after its paid time ends before paying there again; another zone is fine.
State: `lockouts[zone] = {"from": iso, "until": iso}` in the plate's state.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from streams.parking_time import at, iso


def lockout_until(lockouts: dict[str, Any], zone: str, now: datetime) -> datetime | None:
    """When paying in `zone` becomes possible again, or None if it is possible now."""
    entry = lockouts.get(zone)
    if entry is None:
        return None
    until = at(entry["until"])
    return until if now < until else None


def lock(stay_end: datetime, no_return_minutes: int | None) -> dict[str, str] | None:
    """The lockout a stay that used the whole maximum leaves behind, if the zone has one."""
    if not no_return_minutes:
        return None
    return {"from": iso(stay_end), "until": iso(stay_end + timedelta(minutes=no_return_minutes))}


def release_ended(lockouts: dict[str, Any], now: datetime) -> dict[str, Any]:
    """Lockouts still running at `now` (the lockout-end timer drops the others)."""
    return {zone: e for zone, e in lockouts.items() if at(e["until"]) > now}


def next_end(lockouts: dict[str, Any]) -> datetime | None:
    ends = [at(e["until"]) for e in lockouts.values()]
    return min(ends) if ends else None
