"""Contract records for the sink's tests, built with the contract's own models."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from streams.contract import make_event
from streams.contract.records import (
    CheckRecord,
    ClockMark,
    DeadLetter,
    Entitlement,
    LedgerEntry,
    Notification,
    Outcome,
    ValidityRecord,
)

T0 = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)


def sms_event(i: int, at: datetime = T0):
    return make_event(
        "sms.received",
        "nis",
        {"msisdn": "+381641234567", "to": "9181", "text": f"NI{i:03d}AB", "operator": "mts"},
        at + timedelta(seconds=i),
        id=f"sms-{i}",
    )


def stay(i: int, *, minutes: int = 60, state: str = "confirmed", zone: str = "red",
         at: datetime = T0, plate: str | None = None) -> ValidityRecord:  # fmt: skip
    plate = plate or f"NI{i:03d}AB"
    start = at + timedelta(minutes=i)
    return ValidityRecord(
        city="nis",
        subject_kind="plate",
        subject=plate,
        owner=plate,
        entitlements=[
            Entitlement(
                ticket_id=f"tkt-{i}",
                kind="hourly",
                product="red_hourly",
                channel="sms",
                state=state,  # type: ignore[arg-type]
                valid_from=start,
                valid_until=start + timedelta(minutes=minutes),
                price=6000,
                currency="RSD",
                zone=zone,
                pin=f"{i:08d}",
                plate=plate,
            )
        ],
        updated_at=start,
        caused_by=f"sms-{i}",
    )


def ride(i: int, tickets: int = 2) -> ValidityRecord:
    """A Tarnów check-in as card_fare publishes it: one ride entitlement per ticket."""
    start = T0 + timedelta(minutes=i)
    card = f"TK-{i:08d}"
    return ValidityRecord(
        city="tarnow",
        subject_kind="card",
        subject=card,
        owner=card,
        entitlements=[
            Entitlement(
                ticket_id=f"ride-{i}-{k}",
                kind="ride",
                product="distance_ticket",
                channel="card",
                state="confirmed",
                valid_from=start,
                valid_until=start + timedelta(hours=2),
                price=600,
                currency="PLN",
                details={"card": card, "trip": "L12-0725", "boarding_stop_seq": 3,
                         "holder": "self", "entitlement": "normal", "card_class": "standard"},
            )
            for k in range(tickets)
        ],
        updated_at=start,
        caused_by=f"tap-{i}",
    )  # fmt: skip


def check_out(i: int, stops: int = 6, tickets: int = 2) -> Outcome:
    """The TRN-2 outcome of a check-out as card_fare publishes it."""
    return Outcome(
        id=f"tap-out-{i}",
        city="tarnow",
        type="card.tap",
        owner=f"TK-{i:08d}",
        outcome="accepted",
        rule="TRN-2",
        reason="check_out",
        facts={"counter": 2, "trip": "L12-0725", "stops": stops, "refunded": 440,
               "t_purse": 1000, "tickets": [f"ride-{i}-{k}" for k in range(tickets)]},
        time=T0 + timedelta(minutes=i + 20),
    )  # fmt: skip


def charge(i: int, amount: int = 6000, kind: str = "charge") -> LedgerEntry:
    return LedgerEntry(
        id=f"sms-{i}:{kind}",
        city="nis",
        holder="+381641234567",
        purse="operator",
        kind=kind,  # type: ignore[arg-type]
        amount=amount,
        currency="RSD",
        ticket_id=f"tkt-{i}",
        zone="red",
        product="red_hourly",
        channel="sms",
        caused_by=f"sms-{i}",
        time=T0 + timedelta(minutes=i),
    )


def notification(i: int) -> Notification:
    return Notification(
        id=f"sms-{i}:reply",
        city="nis",
        channel="sms",
        to="+381641234567",
        kind="confirmation",
        text=f"NI{i:03d}AB red zone 60 RSD PIN {i:08d}",
        ticket_id=f"tkt-{i}",
        caused_by=f"sms-{i}",
        time=T0 + timedelta(minutes=i),
    )


def check(i: int, status: str = "valid") -> CheckRecord:
    at = T0 + timedelta(minutes=i)
    return CheckRecord(
        check_id=f"chk-{i}",
        city="nis",
        officer="warden-7",
        role="warden",
        subject_kind="plate",
        subject=f"NI{i:03d}AB",
        zone="red",
        at=at,
        answered_at=at,
        status=status,
        ticket_ids=[f"tkt-{i}"],
        as_of=at,
    )


def outcome(i: int, outcome: str = "refused", rule: str | None = "HKR-6") -> Outcome:
    return Outcome(
        id=f"call-{i}",
        city="hradec",
        type="call.missed",
        owner="+420603123456",
        outcome=outcome,  # type: ignore[arg-type]
        rule=rule,
        reason="at most 5 tickets at once",
        facts={"msisdn": "+420603123456", "valid_tickets": 5},
        time=T0 + timedelta(minutes=i),
    )


def dead_letter(i: int) -> DeadLetter:
    body = {
        "specversion": "1.0",
        "id": f"bad-{i}",
        "type": "sms.received",
        "city": "nis",
        "data": {"msisdn": "+381641234567", "text": "NI123AB"},
    }
    raw = json.dumps(body)
    return DeadLetter(
        id=f"events.raw:0:{i}",
        event_id=f"bad-{i}",
        reason="time: Field required",
        problems=[{"field": "time", "problem": "Field required"}],
        raw=raw,
        source_topic="events.raw",
        partition=0,
        offset=i,
        received_at=T0,
    )


def clock_mark() -> ClockMark:
    return ClockMark(city="nis", partition=0, reached=T0)
