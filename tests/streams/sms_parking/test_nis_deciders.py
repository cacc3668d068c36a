"""Pure Niš deciders over plain data: lockout (NIS-5), warning (NIS-10), verdicts (NIS-9)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from streams.parking_time import iso
from streams.sms_parking import lockout, verdicts, warnings

T = datetime(2026, 11, 24, 9, tzinfo=UTC)


def test_nis5_lockout_runs_no_return_minutes_from_the_stay_end() -> None:
    entry = lockout.lock(T, 30)
    assert entry == {"from": iso(T), "until": iso(T + timedelta(minutes=30))}
    lockouts = {"red": entry}
    assert lockout.lockout_until(lockouts, "red", T + timedelta(minutes=29)) == T + timedelta(
        minutes=30
    )
    assert lockout.lockout_until(lockouts, "red", T + timedelta(minutes=30)) is None
    assert lockout.lockout_until(lockouts, "green", T) is None
    assert lockout.release_ended(lockouts, T + timedelta(minutes=30)) == {}
    assert lockout.lock(T, None) is None


def test_nis10_warning_due_five_minutes_before_end_once_per_end() -> None:
    stay = {"end": iso(T), "bought_at": iso(T - timedelta(hours=1)), "warned_for": None}
    assert warnings.warning_due_at(stay) == T - timedelta(minutes=5)
    assert warnings.warning_due_at({**stay, "warned_for": iso(T)}) is None
    late = {**stay, "bought_at": iso(T - timedelta(minutes=3))}
    assert warnings.warning_due_at(late) is None  # bought inside the last five minutes


def _ticket(**over):
    base = {
        "id": "nis:1",
        "state": "provisional",
        "verdict": None,
        "revoked_at": None,
        "minutes": 60,
        "valid_from": iso(T),
        "valid_until": iso(T + timedelta(hours=1)),
    }
    return {**base, **over}


def test_nis9_rejection_revokes_at_the_verdict_time_and_is_final() -> None:
    result = verdicts.apply_verdict(_ticket(), False, T + timedelta(minutes=3), "no credit")
    assert result.revoked and result.ticket["state"] == "revoked"
    assert result.ticket["revoked_at"] == iso(T + timedelta(minutes=3))
    again = verdicts.apply_verdict(result.ticket, True, T + timedelta(minutes=4), None)
    assert again.ticket is None


def test_nis9_acceptance_confirms_and_silence_confirms_too() -> None:
    result = verdicts.apply_verdict(_ticket(), True, T, None)
    assert result.ticket["state"] == "confirmed" and not result.revoked
    assert verdicts.confirm_by_silence(_ticket())["verdict"] == "timeout"
    assert not verdicts.verdict_pending(result.ticket)


def test_nis9_revoked_ticket_leaves_the_stay_with_the_remaining_paid_time() -> None:
    first = _ticket(id="a", state="confirmed")
    second = _ticket(
        id="b",
        state="revoked",
        valid_from=iso(T + timedelta(hours=1)),
        valid_until=iso(T + timedelta(hours=2)),
    )
    stay = {"tickets": ["a", "b"], "start": iso(T), "end": iso(T + timedelta(hours=2))}
    kept = verdicts.recompute_stay(stay, [first, second])
    assert kept["end"] == iso(T + timedelta(hours=1)) and kept["paid_minutes"] == 60
    assert verdicts.recompute_stay({**stay, "tickets": ["b"]}, [second]) is None
