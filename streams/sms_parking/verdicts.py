"""The mobile operator's verdict on a charged SMS (NIS-9, NIS-12).

A ticket is `provisional` until the verdict, `confirmed` after an acceptance (or when the
verdict window passes without one), `revoked` after a rejection: from the verdict's time
it is no longer valid for enforcement, and the stay it belonged to loses its paid time.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from streams.parking_time import iso


@dataclass(frozen=True)
class VerdictResult:
    ticket: dict[str, Any] | None  # the changed ticket, None when nothing changed
    revoked: bool
    reason: str


def apply_verdict(
    ticket: dict[str, Any], accepted: bool, now: datetime, reason: str | None
) -> VerdictResult:
    if ticket["state"] == "revoked":
        return VerdictResult(None, False, "ticket already revoked")
    if accepted:
        if ticket["verdict"] == "accepted":
            return VerdictResult(None, False, "ticket already confirmed by the operator")
        return VerdictResult({**ticket, "state": "confirmed", "verdict": "accepted"}, False, "")
    revoked = {
        **ticket,
        "state": "revoked",
        "verdict": "rejected",
        "revoked_at": iso(now),
        "verdict_reason": reason,
    }
    return VerdictResult(revoked, True, reason or "rejected by the operator")


def confirm_by_silence(ticket: dict[str, Any]) -> dict[str, Any]:
    """The verdict window passed without an answer: the ticket is confirmed."""
    return {**ticket, "state": "confirmed", "verdict": "timeout"}


def verdict_pending(ticket: dict[str, Any]) -> bool:
    return ticket["state"] == "provisional" and ticket["verdict"] is None


def recompute_stay(stay: dict[str, Any], tickets: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The stay without its revoked tickets: its end is the last paid ticket's end."""
    kept = [t for t in tickets if t["id"] in stay["tickets"] and t["state"] != "revoked"]
    if not kept:
        return None
    minutes = sum(int(t["minutes"]) for t in kept)
    return {
        **stay,
        "start": min(t["valid_from"] for t in kept),
        "end": max(t["valid_until"] for t in kept),
        "paid_minutes": minutes,
        "tickets": [t["id"] for t in kept],
    }
