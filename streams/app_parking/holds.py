"""Card pre-authorisation holds (MOB-1): block the price of the chosen maximum at start,
capture the real cost when the stay ends, release the rest.

A stay paid by card keeps `held` (blocked so far) in its state; the ledger gets `hold`
entries (start, extensions), then one `capture` and, if anything is left, one `release`.
"""

from __future__ import annotations

from streams.app_parking.wallet import Movement
from streams.contract import LedgerEntry


def _card(move: Movement, kind: str, amount: int, tag: str) -> LedgerEntry:
    return move.ledger_entry("card", kind, amount, tag)


def hold(amount: int, move: Movement, tag: str = "hold") -> list[LedgerEntry]:
    return [_card(move, "hold", amount, tag)] if amount > 0 else []


def settle(held: int, cost: int, move: Movement) -> list[LedgerEntry]:
    """Capture `cost` (never more than held) and release the unused part of the hold."""
    captured = min(cost, held)
    entries = []
    if captured > 0:
        entries.append(_card(move, "capture", captured, "capture"))
    if held - captured > 0:
        entries.append(_card(move, "release", held - captured, "release"))
    return entries
