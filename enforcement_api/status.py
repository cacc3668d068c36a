"""Enforcement status decisions: what a warden or inspector is told about a subject (ENF-1).

Pure functions over plain data: the entitlements a plate, ticket code, phone or card holds,
the moment asked about (`at`), the city's grace period and whether charging is in force
there and then. No Kafka, no clock, no HTTP: the routes feed these and render the answer.

Vocabulary (ENF-1, NIS-9):

- `valid`         an entitlement covers `at` (a provisional ticket counts, NIS-9 Decision);
- `not_required`  nothing covers `at`, but charging is not in force there at that moment;
- `grace`         the latest entitlement expired less than the city's grace period ago;
- `revoked`       the latest entitlement was cancelled (operator rejection, NIS-9) at or
                  before `at` — a cancelled ticket is invalid from the moment of cancellation;
- `expired`       the latest entitlement ended before `at` (with `expired_at`);
- `none`          nothing at all that started at or before `at`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal, Protocol, TypeVar

Status = Literal["valid", "grace", "expired", "revoked", "not_required", "none"]
STATUSES: tuple[Status, ...] = ("valid", "grace", "expired", "revoked", "not_required", "none")
# Statuses under which no fine may be given: a plate with one of these has a right.
HAS_RIGHT: frozenset[str] = frozenset({"valid", "grace", "not_required"})


class Entitlement(Protocol):
    """What a decision reads of an entitlement: `streams.contract.Entitlement` and the
    replica's lean `HeldEntitlement` both have it."""

    @property
    def ticket_id(self) -> str: ...
    @property
    def state(self) -> str: ...
    @property
    def zone(self) -> str | None: ...
    @property
    def valid_from(self) -> datetime: ...
    @property
    def valid_until(self) -> datetime: ...
    @property
    def revoked_at(self) -> datetime | None: ...


E = TypeVar("E", bound=Entitlement)


# Not frozen, for the same reason as checks.Lookup: one per check, never changed.
@dataclass(slots=True)
class Decision:
    """The answer about one subject at one moment, and the entitlements behind it."""

    status: Status
    valid_until: datetime | None = None  # end of the contiguous paid time covering `at`
    expired_at: datetime | None = None  # when the latest right ended (expired/grace/revoked)
    revoked_at: datetime | None = None
    evidence: tuple[Entitlement, ...] = field(default_factory=tuple)  # what decided it


def effective_end(entitlement: Entitlement) -> datetime:
    """When an entitlement stops counting: its end, or its cancellation if earlier (NIS-9).

    A revoked entitlement without a cancellation time never counted.
    """
    if entitlement.state != "revoked":
        return entitlement.valid_until
    if entitlement.revoked_at is None:
        return entitlement.valid_from
    return min(entitlement.valid_until, entitlement.revoked_at)


def covers(entitlement: Entitlement, at: datetime) -> bool:
    """Does the entitlement give a right at `at`? (valid_from inclusive, end exclusive)."""
    return entitlement.valid_from <= at < effective_end(entitlement)


def in_zone(entitlement: Entitlement, zone: str | None) -> bool:
    """An entitlement without a zone counts city-wide; a zone check needs the same zone."""
    return zone is None or entitlement.zone is None or entitlement.zone == zone


def decide(
    entitlements: Iterable[Entitlement],
    at: datetime,
    *,
    grace_minutes: int = 0,
    charging_in_force: bool | Callable[[], bool] = True,
    zone: str | None = None,
) -> Decision:
    """ENF-1: the status of a subject at `at` from all its entitlements.

    `charging_in_force` is whether payment is required at that place and moment (false on
    a Sunday in Niš, NIS-3), or a function answering it, asked only when nothing covers
    `at`; transit checks pass True. `zone` restricts the entitlements that count to
    those of that zone (and zone-less ones).
    """
    if at.tzinfo is None:
        raise ValueError("at must be an aware datetime")
    relevant = [e for e in entitlements if in_zone(e, zone)]
    current = [e for e in relevant if covers(e, at)]
    if current:
        until = coverage_end(relevant, at)
        return Decision("valid", valid_until=until, evidence=tuple(_by_start(current)))
    required = charging_in_force() if callable(charging_in_force) else charging_in_force
    if not required:
        return Decision("not_required", evidence=())
    ended = [e for e in relevant if e.valid_from <= at and effective_end(e) <= at]
    if not ended:
        return Decision("none")
    latest_end = max(effective_end(e) for e in ended)
    last = [e for e in ended if effective_end(e) == latest_end]
    # When a ticket both expired and another was cancelled at the same instant, the
    # expiry is the milder reading; the cancellation is still in the evidence.
    expired_normally = [e for e in last if not _ended_by_revocation(e)]
    if expired_normally:
        evidence = tuple(_by_start(last))
        if at - latest_end < timedelta(minutes=grace_minutes):
            return Decision("grace", expired_at=latest_end, evidence=evidence)
        return Decision("expired", expired_at=latest_end, evidence=evidence)
    return Decision(
        "revoked", expired_at=latest_end, revoked_at=latest_end, evidence=tuple(_by_start(last))
    )


def coverage_end(entitlements: Sequence[Entitlement], at: datetime) -> datetime:
    """The end of the contiguous paid time that covers `at` (NIS-4: each new hour starts
    where the paid time ends, so back-to-back tickets are one stay to the warden)."""
    end = at
    while True:
        reaching = [effective_end(e) for e in entitlements if covers(e, end)]
        if not reaching:
            return end
        end = max(reaching)


def _ended_by_revocation(entitlement: Entitlement) -> bool:
    return entitlement.state == "revoked" and effective_end(entitlement) < entitlement.valid_until


def _by_start(entitlements: Iterable[E]) -> list[E]:
    return sorted(entitlements, key=lambda e: (e.valid_from, e.ticket_id))
