"""What each system's rules provide to the engine: decide on an event, act on the clock.

Rules are pure: `(state, event) -> Step(new state, outputs, wake_at)`. They never read
the wall clock (only `event.time` or the tick's time), never do I/O and never raise for
a business refusal — a refusal is an `Outcome(outcome="refused", rule=...)` plus the
reply the person gets.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from streams.contract import (
    Event,
    LedgerEntry,
    Notification,
    Outcome,
    ValidityRecord,
)


@dataclass(frozen=True)
class ValidityRemoved:
    """Tombstone for a validity key: the subject has nothing current or recent left."""

    key: str


Output = Notification | LedgerEntry | ValidityRecord | ValidityRemoved | Outcome


@dataclass(frozen=True)
class Step:
    """The result of one decision.

    `state` is the owner's new state as a JSON-able dict (None deletes it); `wake_at` is
    the next event time at which the rules want `on_clock` for this owner (None: never).
    """

    state: dict[str, Any] | None
    outputs: list[Output] = field(default_factory=list)
    wake_at: datetime | None = None


def outcome_of(
    event: Event,
    owner: str,
    kind: str,
    rule: str | None = None,
    reason: str | None = None,
    facts: dict[str, Any] | None = None,
) -> Outcome:
    """The outcome record of `event` for `owner`: accepted, refused (with the rule id and
    the reason), ignored or duplicate. Every system's rules build theirs here."""
    return Outcome(
        id=event.id,
        city=event.city,
        type=event.type,
        owner=owner,
        outcome=kind,  # type: ignore[arg-type]
        rule=rule,
        reason=reason,
        facts=facts or {},
        time=event.time,
    )


class TicketNumbers(Protocol):
    """A number no other event gets, the same each time this event is processed (see
    `engine.MessageNumbers`): the base of short ticket codes such as Niš PINs, unique
    without any coordination between workers."""

    def next(self) -> int: ...


class SystemRules(Protocol):
    """The rules of one kind of system (sms_parking, app_parking, missed_call, card_fare)."""

    system: str

    def decide(self, state: dict[str, Any] | None, event: Event, owner: str) -> Step:
        """Apply one inbound event of `owner` (never a clock tick).

        Rules that set the class attribute `uses_ticket_numbers = True` are called with a
        fourth keyword argument `numbers: TicketNumbers` instead.
        """
        ...

    def on_clock(self, state: dict[str, Any], now: datetime, city: str, owner: str) -> Step:
        """Event time reached `now` (>= the last `wake_at`): fire what is due, once."""
        ...
