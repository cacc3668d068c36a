"""Online orders waiting in the back office until the card's next sync (TRN-9).

Pending order: `{"id", "kind": topup | period_ticket | complaint_refund, "amount",
"valid_from", "valid_until", "ordered_at"}`. A sync writes everything pending in one go,
or nothing when the card is removed during the write (it all stays pending). A period
ticket that has already ended by the sync cannot be written ("not possible"): it leaves
the queue and the back office settles it (the outcome lists it).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from streams.parking_time import at, iso

SyncStatus = Literal["nothing_pending", "removed", "written"]


def pending_order(order_id: str, data: Any, now: datetime) -> dict[str, Any]:
    return {
        "id": order_id,
        "kind": data.kind,
        "amount": data.amount,
        "valid_from": iso(data.valid_from) if data.valid_from else None,
        "valid_until": iso(data.valid_until) if data.valid_until else None,
        "ordered_at": iso(now),
    }


@dataclass(frozen=True)
class SyncResult:
    status: SyncStatus
    written: list[dict[str, Any]] = field(default_factory=list)
    not_possible: list[dict[str, Any]] = field(default_factory=list)
    still_pending: list[dict[str, Any]] = field(default_factory=list)


def sync(pending: list[dict[str, Any]], completed: bool, now: datetime) -> SyncResult:
    if not pending:
        return SyncResult("nothing_pending")
    if not completed:
        return SyncResult("removed", still_pending=list(pending))
    written, impossible = [], []
    for order in pending:
        ended = order["kind"] == "period_ticket" and at(order["valid_until"]) <= now
        (impossible if ended else written).append(order)
    return SyncResult("written", written, impossible)
