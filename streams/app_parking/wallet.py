"""The prepaid e-wallet of an app account (MOB-1, ZCS-5, ZCS-8).

The balance is the sum of the account's wallet ledger entries; the account's state keeps
it as `wallet` so a charge can be refused without reading the ledger. Every movement is
a LedgerEntry carrying `balance_after`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from streams.contract import LedgerEntry


@dataclass(frozen=True)
class Movement:
    """Where a wallet movement happens and why: the fields every entry shares."""

    city: str
    account: str
    currency: str
    caused_by: str
    time: datetime
    ticket_id: str | None = None
    zone: str | None = None
    product: str | None = None

    def ledger_entry(
        self, purse: str, kind: str, amount: int, tag: str, balance_after: int | None = None
    ) -> LedgerEntry:
        """The ledger entry of this movement on `purse` (`wallet`, or `card` for holds)."""
        return LedgerEntry(
            id=f"{self.caused_by}:{tag}",
            city=self.city,
            holder=self.account,
            purse=purse,
            kind=kind,  # type: ignore[arg-type]
            amount=amount,
            currency=self.currency,
            ticket_id=self.ticket_id,
            zone=self.zone,
            product=self.product,
            channel="app",
            balance_after=balance_after,
            caused_by=self.caused_by,
            time=self.time,
        )


def can_pay(balance: int, amount: int) -> bool:
    return amount <= balance


def entry(move: Movement, kind: str, amount: int, balance_after: int, tag: str) -> LedgerEntry:
    return move.ledger_entry("wallet", kind, amount, tag, balance_after=balance_after)


def topup(balance: int, amount: int, move: Movement) -> tuple[int, LedgerEntry]:
    after = balance + amount
    return after, entry(move, "topup", amount, after, "topup")


def charge(balance: int, amount: int, move: Movement, tag: str = "charge") -> tuple[int, list]:
    """Take `amount` (caller checked `can_pay`); a zero amount moves nothing."""
    if amount <= 0:
        return balance, []
    after = balance - amount
    return after, [entry(move, "charge", amount, after, tag)]


def refund(balance: int, amount: int, move: Movement, tag: str = "refund") -> tuple[int, list]:
    if amount <= 0:
        return balance, []
    after = balance + amount
    return after, [entry(move, "refund", amount, after, tag)]
