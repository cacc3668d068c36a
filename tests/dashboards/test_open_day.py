"""The open day's settled part (`rollups.compute_open`), on real ClickHouse: occupancy read
from it equals the base-table figure for windows ending mid-day, also after late rows land
in an hour already rolled up, as the clock moves on, and once the day closes."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pandas as pd
import pytest
from clickhouse_driver import Client

from dashboards import queries, rollups
from infra.clickhouse.migrations import drop_database, migrate
from infra.settings import Settings
from streams.analytics_sink.bench import END, load_month
from streams.analytics_sink.writer import ClickHouseWriter

DAY = 86400
OCCUPANCY = rollups.ROLLUPS["occupancy"]
#: "Now" for the job and the pages: 14:53 of a day inside the synthetic month, whose
#: settled part is 00:00–14:00 (the last whole hour ended at least 15 minutes ago).
OPEN = int((END - timedelta(days=3)).timestamp()) // DAY
NOW = OPEN * DAY + 14 * 3600 + 53 * 60
CITIES = ("nis", "mobilet", "zcs")
SLOTS = (300, 900, 3600)


@pytest.fixture(scope="module")
def client(services_up: Settings, clickhouse_database: str) -> Iterator[Client]:
    """A synthetic month (every city) in a database of its own; no day of it computed."""
    name = f"{clickhouse_database}_open"
    migrate(services_up, name)
    writer = ClickHouseWriter(services_up.clickhouse, name)
    load_month(writer, 30_000, chunk=30_000)
    writer.close()
    ch = Client(**services_up.clickhouse.client_kwargs(database=name))
    yield ch
    ch.disconnect()
    drop_database(services_up, name)


def windows(now_s: int) -> dict[str, tuple[datetime, datetime]]:
    """The page's windows ending at `now_s`, as a live page asks them."""
    end = datetime.fromtimestamp(now_s, UTC)
    spans = {"2 h": timedelta(hours=2), "6 h": timedelta(hours=6), "24 h": timedelta(days=1),
             "7 d": timedelta(days=7), "30 d": timedelta(days=30)}  # fmt: skip
    return {name: (end - span, end) for name, span in spans.items()}


def occupancy(
    client: Client, city: str, window: tuple[datetime, datetime], slot_s: int, **kw: bool
) -> pd.DataFrame:
    return queries.occupancy_5m(city, *window, client=client, slot_s=slot_s, **kw)


def assert_same_occupancy(client: Client, now_s: int) -> int:
    """Every city, window and slot size ending at `now_s`: rollup-backed == base tables;
    returns the vehicles counted (the comparison is over real figures)."""
    vehicles = 0
    for city in CITIES:
        for name, window in windows(now_s).items():
            for slot_s in SLOTS:
                base = occupancy(client, city, window, slot_s, use_rollups=False)
                rolled = occupancy(client, city, window, slot_s)
                pd.testing.assert_frame_equal(rolled, base, obj=f"{city} {name} {slot_s} s")
                vehicles += int(base["vehicles"].sum())
    return vehicles


def settled_plan(client: Client, now_s: int) -> rollups.SlotPlan:
    return rollups.plan_slots(client, OCCUPANCY, now_s - DAY, now_s, 300)


def insert_versions(client: Client, rows: list[tuple[object, ...]]) -> None:
    client.execute(
        "INSERT INTO entitlements (city, ticket_id, kind, product, channel, state, valid_from, "
        "valid_until, price, currency, zone, plate, subject_kind, subject, revoked_at, "
        "updated_at, caused_by, version) VALUES",
        rows,
    )


def stay(
    ticket: str, zone: str, plate: str, start: int, end: int, version: int
) -> tuple[object, ...]:
    at = datetime.fromtimestamp(start, UTC).replace(tzinfo=None)
    until = datetime.fromtimestamp(end, UTC).replace(tzinfo=None)
    return ("nis", ticket, "hourly", "prod", "sms", "confirmed", at, until, 6000, "RSD",
            zone, plate, "plate", plate, None, at, "x", version)  # fmt: skip


@pytest.mark.integration
def test_the_open_days_settled_hours_equal_the_base_tables_also_after_late_rows(
    client: Client,
) -> None:
    computed = rollups.refresh(client, now_s=NOW)
    assert ("occupancy", OPEN) in computed
    plan = settled_plan(client, NOW)
    through = OPEN * DAY + 14 * 3600
    assert [(a, b) for a, b, _ in plan.settled] == [(OPEN * DAY, through)]
    # Base tables: the cut slot at the window's start and the unsettled 14:00–14:53.
    assert plan.base == [(NOW - DAY, NOW - DAY + 120), (through, NOW)]
    assert assert_same_occupancy(client, NOW) > 1000

    # Late rows for hours already rolled up: a stay delivered late, and an extension of
    # a stay that had ended before 14:00 (a new version of it, its start unchanged).
    start, until, ticket, zone, plate = client.execute(
        "SELECT toUInt32(valid_from), toUInt32(valid_until), ticket_id, zone, plate "
        "FROM entitlements "
        "WHERE city = 'nis' AND kind = 'hourly' AND valid_from >= toDateTime(%(a)s) "
        "AND valid_until < toDateTime(%(b)s) ORDER BY valid_from LIMIT 1",
        {"a": OPEN * DAY + 8 * 3600, "b": through - 3600},
    )[0]
    insert_versions(client, [
        stay("late-stay", "red", "p-late", OPEN * DAY + 9 * 3600 + 600, OPEN * DAY + 11 * 3600, 1),
        stay(ticket, zone, plate, start, until + 2400, (until + 60) * 1_000_000),
    ])  # fmt: skip
    window = windows(NOW)["24 h"]
    stale = occupancy(client, "nis", window, 300)
    fresh = occupancy(client, "nis", window, 300, use_rollups=False)
    assert not stale.equals(fresh)  # until the next run, the settled hours are as computed
    assert rollups.refresh(client, now_s=NOW) == [("occupancy", OPEN)]
    assert_same_occupancy(client, NOW)
    assert rollups.refresh(client, now_s=NOW) == []  # nothing new: nothing recomputed


@pytest.mark.integration
def test_the_settled_part_follows_the_clock_and_gives_way_to_the_closed_day(
    client: Client,
) -> None:
    rollups.refresh(client, now_s=NOW)
    later = NOW + 3600  # 15:53: settled through 15:00
    assert rollups.refresh(client, now_s=later) == [("occupancy", OPEN)]
    assert [b for _, b, _ in settled_plan(client, later).settled] == [OPEN * DAY + 15 * 3600]
    assert_same_occupancy(client, later)

    # 00:30 the next day: the day is closed and computed whole; nothing of the new day
    # has settled yet, and the open computation's rows are dropped.
    closed = (OPEN + 1) * DAY + 1800
    assert ("occupancy", OPEN) in rollups.refresh(client, now_s=closed)
    assert rollups.drop_superseded_open(client, OCCUPANCY, grace_s=0) == [OPEN]
    parts = client.execute(
        "SELECT count() FROM system.parts WHERE database = currentDatabase() "
        "AND table = 'occupancy_open' AND active"
    )[0][0]
    assert parts == 0
    assert rollups.settled_days(client, OCCUPANCY, OPEN, OPEN + 2) == {}
    assert_same_occupancy(client, closed)
