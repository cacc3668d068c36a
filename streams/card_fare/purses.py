"""The card's two purses (TRN-8): the e-purse (cash top-ups) and the t-purse (fares).

Balances are integers in minor units kept in the card state as `e_purse` and `t_purse`.
Every change is a `Movement`, which the rules publish as a ledger entry; only the t-purse
pays fares, and money moves from the e-purse to the t-purse, never back.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

PurseName = Literal["e_purse", "t_purse"]
ADDS = frozenset({"topup", "refund", "transfer_in"})
TAKES = frozenset({"charge", "transfer_out"})


class InsufficientFunds(ValueError):
    """The purse holds less than the amount asked for (TRN-4, TRN-8)."""


@dataclass(frozen=True)
class Movement:
    tag: str  # makes the ledger entry id unique within one event
    purse: PurseName
    kind: str  # a LedgerEntry kind: topup, charge, refund, transfer_in, transfer_out
    amount: int
    balance_after: int
    ticket_id: str | None = None
    product: str | None = None


def balance(state: dict[str, Any], purse: PurseName) -> int:
    return int(state.get(purse, 0))


def move(
    state: dict[str, Any],
    purse: PurseName,
    kind: str,
    amount: int,
    tag: str,
    ticket_id: str | None = None,
    product: str | None = None,
) -> tuple[dict[str, Any], Movement]:
    """Apply one movement; taking more than the purse holds raises InsufficientFunds."""
    if amount <= 0:
        raise ValueError("a movement needs a positive amount")
    before = balance(state, purse)
    if kind in ADDS:
        after = before + amount
    elif kind in TAKES:
        if amount > before:
            raise InsufficientFunds(f"{purse} holds {before}, {amount} needed")
        after = before - amount
    else:
        raise ValueError(f"unknown movement kind {kind!r}")
    movement = Movement(tag, purse, kind, amount, after, ticket_id, product)
    return {**state, purse: after}, movement


def transfer(state: dict[str, Any], amount: int, tag: str) -> tuple[dict[str, Any], list[Movement]]:
    """TRN-8: move `amount` from the e-purse to the t-purse (all or nothing)."""
    state, out = move(state, "e_purse", "transfer_out", amount, f"{tag}:out")
    state, into = move(state, "t_purse", "transfer_in", amount, f"{tag}:in")
    return state, [out, into]
