"""Seeded analytics data for the dashboard tests: contract records of one morning in four
cities, mapped by the sink's own row mapping and inserted with its writer (no Kafka)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from infra.settings import Settings
from streams.analytics_sink.batch import Batcher
from streams.analytics_sink.pseudonyms import Pseudonymizer
from streams.analytics_sink.rows import Meta, map_record, mappers
from streams.analytics_sink.writer import ClickHouseWriter
from streams.contract import Topics, make_event
from streams.contract.records import (
    CheckRecord,
    DeadLetter,
    Entitlement,
    LedgerEntry,
    Outcome,
    Record,
    ValidityRecord,
)

DAY = datetime(2026, 11, 24, 7, 0, tzinfo=UTC)
NIS_ZONES = ("red", "green", "extra")
STATUSES = ("valid", "valid", "valid", "grace", "expired", "none", "not_required", "valid")


def _validity(city: str, subject_kind: str, subject: str, ent: Entitlement,
              at: datetime) -> ValidityRecord:  # fmt: skip
    return ValidityRecord(
        city=city, subject_kind=subject_kind, subject=subject, owner=subject,  # type: ignore[arg-type]
        entitlements=[ent], updated_at=at, caused_by=f"seed-{ent.ticket_id}",
    )  # fmt: skip


def records() -> list[tuple[str, Record | bytes]]:
    """(topic kind, record) pairs; topic kinds are Topics attribute names."""
    out: list[tuple[str, Record | bytes]] = []
    for i in range(90):  # Niš: SMS stays over five hours in three zones
        at = DAY + timedelta(minutes=3 * i)
        zone = NIS_ZONES[i % 3]
        plate = f"NI{i % 40:03d}AB"
        event = make_event(
            "sms.received", "nis",
            {"msisdn": f"+38164{i:07d}", "to": "9181", "text": plate, "operator": "mts"},
            at, id=f"seed-sms-{i}",
        )  # fmt: skip
        out.append(("raw", event.to_json()))
        ent = Entitlement(
            ticket_id=f"nis-t{i}", kind="hourly", product=f"{zone}_hourly", channel="sms",
            state="revoked" if i % 17 == 0 else "confirmed", valid_from=at,
            valid_until=at + timedelta(minutes=60), price=6000, currency="RSD", zone=zone,
            pin=f"{i:08d}", plate=plate,
            revoked_at=at + timedelta(minutes=3) if i % 17 == 0 else None,
        )  # fmt: skip
        out.append(("validity", _validity("nis", "plate", plate, ent, at)))
        out.append(("ledger", LedgerEntry(
            id=f"seed-sms-{i}:charge", city="nis", holder=f"+38164{i:07d}", purse="operator",
            kind="charge", amount=6000, currency="RSD", ticket_id=f"nis-t{i}", zone=zone,
            product=f"{zone}_hourly", channel="sms", caused_by=f"seed-sms-{i}", time=at,
        )))  # fmt: skip
        out.append(("outcomes", Outcome(
            id=f"seed-sms-{i}", city="nis", type="sms.received", owner=plate,
            outcome="accepted", time=at,
        )))  # fmt: skip
        check_at = at + timedelta(minutes=20)
        out.append(("audit", CheckRecord(
            check_id=f"seed-chk-{i}", city="nis", officer=f"warden-{i % 4}", role="warden",
            subject_kind="plate", subject=plate, zone=zone, at=check_at,
            answered_at=check_at, status=STATUSES[i % len(STATUSES)],
            ticket_ids=[f"nis-t{i}"], as_of=check_at,
        )))  # fmt: skip
    for i in range(40):  # moBILET: card holds captured and released, in the app
        at = DAY + timedelta(minutes=7 * i)
        for kind, amount in (("hold", 1000), ("capture", 600), ("release", 400)):
            out.append(("ledger", LedgerEntry(
                id=f"seed-mob-{i}:{kind}", city="mobilet", holder=f"acc-{i}", purse="card",
                kind=kind, amount=amount, currency="PLN", ticket_id=f"mob-{i}",  # type: ignore[arg-type]
                zone="A1" if i % 2 else "B2", product="subzone", channel="app",
                caused_by=f"seed-mob-{i}", time=at + timedelta(minutes=30 if kind != "hold" else 0),
            )))  # fmt: skip
    for i in range(60):  # Tarnów: rides (some of two), deposits, check-out refunds
        at = DAY + timedelta(minutes=5 * i)
        card = f"TK-{i % 25:08d}"
        tickets = [f"ride-{i}-{k}" for k in range(2 if i % 3 == 0 else 1)]
        ents = [
            Entitlement(
                ticket_id=tid, kind="ride", product="distance_ticket", channel="card",
                state="confirmed", valid_from=at, valid_until=at + timedelta(hours=2),
                price=600, currency="PLN",
                details={"card": card, "trip": f"L{i % 5}", "boarding_stop_seq": i % 7},
            )
            for tid in tickets
        ]  # fmt: skip
        out.append(("validity", ValidityRecord(
            city="tarnow", subject_kind="card", subject=card, owner=card, entitlements=ents,
            updated_at=at, caused_by=f"seed-tap-{i}",
        )))  # fmt: skip
        out.append(("raw", make_event(
            "card.tap", "tarnow",
            {"card_id": card, "validator_id": "V1", "trip_id": f"L{i % 5}", "stop_seq": i % 7,
             "counter": i, "card_class": "standard", "entitlement": "normal"},
            at, id=f"seed-tap-{i}",
        ).to_json()))  # fmt: skip
        for tid in tickets:
            out.append(("ledger", LedgerEntry(
                id=f"seed-tap-{i}:{tid}", city="tarnow", holder=card, purse="t_purse",
                kind="charge", amount=600, currency="PLN", ticket_id=tid,
                product="distance_ticket", channel="card", caused_by=f"seed-tap-{i}", time=at,
            )))  # fmt: skip
        if i % 6 == 0:
            continue  # no check-out: no refund, no distance (TRN-2)
        out_at = at + timedelta(minutes=25)
        for tid in tickets:
            out.append(("ledger", LedgerEntry(
                id=f"seed-out-{i}:{tid}", city="tarnow", holder=card, purse="t_purse",
                kind="refund", amount=220, currency="PLN", ticket_id=tid,
                product="distance_ticket", channel="card", caused_by=f"seed-out-{i}",
                time=out_at,
            )))  # fmt: skip
        out.append(("outcomes", Outcome(
            id=f"seed-out-{i}", city="tarnow", type="card.tap", owner=card, outcome="accepted",
            rule="TRN-2", reason="check_out", time=out_at,
            facts={"trip": f"L{i % 5}", "stops": 2 + i % 11, "refunded": 220 * len(tickets),
                   "tickets": tickets},
        )))  # fmt: skip
    products = ("910301001", "910301003", "910301024")
    for i in range(50):  # Hradec: tickets by missed call and SMS, some 1+4 refusals
        at = DAY + timedelta(minutes=6 * i)
        phone = f"+420603{i % 12:06d}"
        product = products[i % 3]
        ent = Entitlement(
            ticket_id=f"hk-{i}", kind="transit_ticket", product=product,
            channel="missed_call" if i % 4 else "sms", state="confirmed", valid_from=at,
            valid_until=at + timedelta(minutes=60), price=3000, currency="CZK", code=f"C{i}",
        )  # fmt: skip
        out.append(("validity", _validity("hradec", "phone", phone, ent, at)))
        out.append(("raw", make_event(
            "call.missed", "hradec", {"msisdn": phone, "to": "910 301 001"}, at,
            id=f"seed-call-{i}",
        ).to_json()))  # fmt: skip
        refused = i % 9 == 0
        out.append(("outcomes", Outcome(
            id=f"seed-call-{i}", city="hradec", type="call.missed", owner=phone,
            outcome="refused" if refused else "accepted", rule="HKR-6" if refused else None,
            reason="five tickets valid" if refused else None, time=at,
        )))  # fmt: skip
    for i in range(5):
        out.append(("deadletter", DeadLetter(
            id=f"seed-dl-{i}", event_id=f"bad-{i}", reason="data.to: must be a number",
            problems=[{"field": "data.to", "problem": "must be a number"}],
            raw='{"city":"nis","type":"sms.received","data":{"msisdn":"+381641111111"}}',
            source_topic="events.raw", partition=0, offset=i,
            received_at=DAY + timedelta(minutes=50 * i),
        )))  # fmt: skip
    return out


def seed(settings: Settings, database: str) -> int:
    """Insert the seeded morning into `database`; the number of rows written."""
    topics = Topics("")
    by_topic = mappers(topics)
    ps = Pseudonymizer(b"seed-key")
    batcher = Batcher(max_rows=1_000_000, max_age_s=1)
    for offset, (kind, record) in enumerate(records()):
        topic = getattr(topics, kind)
        value = record if isinstance(record, bytes) else record.to_json()
        meta = Meta(topic, 0, offset, int(DAY.timestamp() * 1000))
        batcher.add(topic, 0, offset, map_record(by_topic[topic], value, meta, ps), now=0.0)
    batch = batcher.drain()
    writer = ClickHouseWriter(settings.clickhouse, database)
    try:
        writer.insert_batch(batch)
        writer.insert_batch(batch)  # everything twice: the pages must show it once
        writer.execute(
            "INSERT INTO sink_progress VALUES",
            [("analytics-sink", "ledger", 0, 90, 100, 90, int(DAY.timestamp()), 1)],
        )
    finally:
        writer.close()
    return batch.row_count
