"""Validator faults other than an uncertain write (TRN-4): nothing is charged.

The card's own faults come from the back office's deny list (`[card_fare] deny_list` in
the city's messages config: card id -> blocked | expired | damaged); lack of funds is
checked against the t-purse for the amount the operation would take.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

CARD_FAULTS = ("blocked", "expired", "damaged")


@dataclass(frozen=True)
class Fault:
    template: str  # reply template and notification kind
    reason: str
    rule: str = "TRN-4"


def card_fault(card_id: str, deny_list: Mapping[str, str]) -> Fault | None:
    status = deny_list.get(card_id)
    if status is None:
        return None
    return Fault(f"fault_{status}", f"the card is {status}")


def funds_fault(t_purse: int, needed: int) -> Fault | None:
    if t_purse >= needed:
        return None
    return Fault("fault_no_funds", f"t-purse holds {t_purse}, {needed} needed")
