"""Daily rollups: the window split (pure) and, on real ClickHouse, that every rollup-backed
dashboard figure equals the base-table figure, also after redelivered and late records."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pandas as pd
import pytest
from clickhouse_driver import Client

from dashboards import queries, rollups
from infra.clickhouse.migrations import drop_database, migrate
from infra.settings import Settings
from streams.analytics_sink.bench import END, load_month
from streams.analytics_sink.writer import ClickHouseWriter
from tests.dashboards.seed import seed

DAY = 86400


# --- pure ----------------------------------------------------------------------------------


def test_whole_covered_days_come_from_the_rollup_and_the_edges_from_the_base() -> None:
    start, end = 10 * DAY + 3600, 14 * DAY + 600  # mid-day to mid-day
    days, gaps = rollups.split_window(start, end, covered=range(0, 20))
    assert days == (11, 12, 13)
    assert gaps == [(start, 11 * DAY), (14 * DAY, end)]


def test_a_day_without_a_computation_is_read_from_the_base() -> None:
    days, gaps = rollups.split_window(10 * DAY, 14 * DAY, covered={10, 11, 13})
    assert days == (10, 11, 13)
    assert gaps == [(12 * DAY, 13 * DAY)]


def test_a_window_shorter_than_a_day_reads_only_the_base() -> None:
    assert rollups.split_window(DAY + 5, 2 * DAY - 5, covered={1}) == ((), [(DAY + 5, 2 * DAY - 5)])


def test_aligned_window_fully_covered_has_no_base_piece() -> None:
    assert rollups.split_window(3 * DAY, 5 * DAY, covered={3, 4}) == ((3, 4), [])


def test_whole_slots_of_a_computed_edge_day_come_from_the_rollup() -> None:
    start, end = 10 * DAY + 3750, 12 * DAY + 7300  # a 5-minute slot cut at each end
    days, ranges, settled, base = rollups.split_slots(start, end, {10, 11, 12}, slot_s=300)
    assert days == (11,)
    assert ranges == [(10 * DAY + 3900, 11 * DAY), (12 * DAY, 12 * DAY + 7200)]
    assert settled == []
    assert base == [(start, 10 * DAY + 3900), (12 * DAY + 7200, end)]


def test_a_window_without_a_whole_day_reads_its_computed_edge_slots_from_the_rollup() -> None:
    start, end = 10 * DAY + 3750, 11 * DAY + 3750  # the base spans are one query
    days, ranges, settled, base = rollups.split_slots(start, end, covered={10, 11}, slot_s=300)
    assert (days, settled) == ((), [])
    assert ranges == [(10 * DAY + 3900, 11 * DAY), (11 * DAY, 11 * DAY + 3600)]
    assert base == [(start, 10 * DAY + 3900), (11 * DAY + 3600, end)]


def test_an_open_edge_day_and_a_missing_day_are_read_from_the_base_in_one_piece() -> None:
    start, end = 10 * DAY + 3750, 13 * DAY + 7300
    days, ranges, settled, base = rollups.split_slots(start, end, {10, 11}, slot_s=3600)
    assert days == (11,)
    assert ranges == [(10 * DAY + 7200, 11 * DAY)]
    assert settled == []
    assert base == [(start, 10 * DAY + 7200), (12 * DAY, end)]


def test_the_open_days_settled_hours_come_from_its_computation() -> None:
    start, end = 10 * DAY + 53 * 60, 11 * DAY + 14 * 3600 + 53 * 60  # 24 h ending 14:53
    open_day = {11: (11 * DAY + 14 * 3600, 77)}  # settled through 14:00, version 77
    plan = rollups.split_slots(start, end, {10}, slot_s=300, settled=open_day)
    assert plan.days == ()
    assert plan.ranges == [(10 * DAY + 55 * 60, 11 * DAY)]
    assert plan.settled == [(11 * DAY, 11 * DAY + 14 * 3600, 77)]
    assert plan.base == [(start, 10 * DAY + 55 * 60), (11 * DAY + 14 * 3600, end)]


def test_a_whole_day_computation_wins_over_an_open_one() -> None:
    start, end = 10 * DAY + 600, 11 * DAY + 900
    plan = rollups.split_slots(start, end, {10}, slot_s=900, settled={10: (10 * DAY + 3600, 5)})
    assert (plan.ranges, plan.settled) == ([(10 * DAY + 900, 11 * DAY)], [])
    assert plan.base == [(start, 10 * DAY + 900), (11 * DAY, end)]


def test_the_settled_part_begins_after_an_hour_has_settled() -> None:
    # ten minutes into day 20, day 19 is still open: settled through its 23:00
    assert rollups.open_through(20 * DAY + 600, settle_s=900) == (19, 20 * DAY - 3600)
    assert rollups.open_through(20 * DAY + 3600 + 899, settle_s=900) is None
    assert rollups.open_through(20 * DAY + 3600 + 900, settle_s=900) == (20, 20 * DAY + 3600)
    assert rollups.open_through(20 * DAY + 14 * 3600 + 3180, settle_s=900) == (
        20,
        20 * DAY + 14 * 3600,
    )


def test_open_digest_changes_with_a_late_row_or_another_settled_hour() -> None:
    counts = {8: 5, 9: 4, 10: 70}  # day 10 is open: its whole count is not the settled one
    digest = rollups.open_digest(
        counts, 10, lookback_days=2, through_s=10 * DAY + 3600, settled_rows=9
    )
    assert rollups.open_digest({**counts, 10: 80}, 10, 2, 10 * DAY + 3600, 9) == digest
    assert rollups.open_digest(counts, 10, 2, 10 * DAY + 3600, 10) != digest  # late row
    assert rollups.open_digest({**counts, 9: 5}, 10, 2, 10 * DAY + 3600, 9) != digest
    assert rollups.open_digest(counts, 10, 2, 10 * DAY + 7200, 9) != digest


def test_open_day_and_the_settling_time_are_not_rolled_up() -> None:
    now = 20 * DAY + 600  # ten minutes into day 20
    assert rollups.closed_days([15, 17], now, settle_s=900) == range(15, 19)
    assert rollups.closed_days([15], 20 * DAY + 900, settle_s=900) == range(15, 20)
    assert rollups.closed_days([], now) == range(0)


def test_a_record_with_a_broken_time_does_not_send_the_job_back_to_1970() -> None:
    now = 20_000 * DAY
    assert rollups.closed_days([0, 19_990], now, settle_s=0, horizon_days=400) == range(
        19_990, 20_000
    )


def test_source_digest_changes_when_a_day_it_depends_on_changes() -> None:
    counts = {8: 5, 10: 7}
    same = rollups.source_digest(counts, 10, lookback_days=2)
    assert rollups.source_digest({8: 5, 10: 7, 11: 1}, 10, lookback_days=2) == same
    assert rollups.source_digest({8: 6, 10: 7}, 10, lookback_days=2) != same
    assert rollups.source_digest({8: 6, 10: 7}, 10, lookback_days=0) == rollups.source_digest(
        counts, 10, lookback_days=0
    )


# --- real ClickHouse -------------------------------------------------------------------------

NOW = int((END + timedelta(days=2)).timestamp())  # the seeded morning of END is closed too


@pytest.fixture(scope="module")
def month(services_up: Settings, clickhouse_database: str) -> Iterator[tuple[Settings, str]]:
    """A synthetic month (every city) plus the dashboards' seeded morning (every row twice,
    revocations included), in a database of its own."""
    name = f"{clickhouse_database}_rollup"
    migrate(services_up, name)
    writer = ClickHouseWriter(services_up.clickhouse, name)
    load_month(writer, 30_000, chunk=30_000)
    writer.close()
    seed(services_up, name)
    yield services_up, name
    drop_database(services_up, name)


@pytest.fixture
def client(month: tuple[Settings, str]) -> Iterator[Client]:
    settings, name = month
    ch = Client(**settings.clickhouse.client_kwargs(database=name))
    yield ch
    ch.disconnect()


WINDOWS = {
    "24 h": (END - timedelta(days=1), END + timedelta(hours=12)),
    "7 d": (END - timedelta(days=7), END + timedelta(hours=12)),
    "30 d": (END - timedelta(days=30), END + timedelta(hours=12)),
    "odd edges": (datetime(2026, 11, 3, 13, 17, 10, tzinfo=UTC), END + timedelta(hours=3)),
}
FIGURES: dict[str, Callable[..., pd.DataFrame]] = {
    "occupancy 5 min": lambda *a, **k: queries.occupancy_5m(*a, slot_s=300, **k),
    "occupancy 15 min": lambda *a, **k: queries.occupancy_5m(*a, slot_s=900, **k),
    "occupancy 60 min": lambda *a, **k: queries.occupancy_5m(*a, slot_s=3600, **k),
    "visits": queries.visits,
    "revenue_hourly": queries.revenue_hourly,
    "revenue_by_product": queries.revenue_by_product,
    "events_per_minute": queries.events_per_minute,
    "outcomes_summary": queries.outcomes_summary,
    "tickets_by_product": queries.tickets_by_product,
    "rides_hourly": queries.rides_hourly,
}
CITIES = ("nis", "tarnow", "hradec", "mobilet")


def assert_same_figures(client: Client, cities: tuple[str, ...] = CITIES) -> int:
    """Every figure, city and window: rollup-backed == base tables; returns how many
    comparisons had days from a rollup."""
    used = 0
    for city in cities:
        for window, (start, end) in WINDOWS.items():
            days, _ = rollups.plan(client, rollups.ROLLUPS["revenue"], *_span(start, end))
            used += bool(days)
            for figure, fn in FIGURES.items():
                base = fn(city, start, end, client=client, use_rollups=False)
                rolled = fn(city, start, end, client=client)
                pd.testing.assert_frame_equal(
                    rolled, base, check_exact=False, rtol=1e-9, obj=f"{figure} {city} {window}"
                )
    return used


def _span(start: datetime, end: datetime) -> tuple[int, int]:
    return int(start.timestamp()), int(end.timestamp())


@pytest.mark.integration
def test_rollup_backed_figures_equal_the_base_tables(client: Client) -> None:
    computed = rollups.refresh(client, now_s=NOW)
    assert {name for name, _ in computed} == set(rollups.ROLLUPS)
    assert assert_same_figures(client) == len(CITIES) * len(WINDOWS)
    nis = queries.revenue_hourly("nis", *WINDOWS["30 d"], client=client)
    assert nis["payments"].sum() > 1000  # the comparison is over real figures, not empties
    assert (
        queries.tickets_by_product("hradec", *WINDOWS["30 d"], client=client)["tickets"].sum() > 500
    )
    assert queries.rides_hourly("tarnow", *WINDOWS["30 d"], client=client)["rides"].sum() > 500


@pytest.mark.integration
def test_refresh_is_idempotent_and_recomputes_only_changed_days(client: Client) -> None:
    rollups.refresh(client, now_s=NOW)
    assert rollups.refresh(client, now_s=NOW) == []
    # A late payment for a closed day: only the days that read the ledger of that day.
    late = END - timedelta(days=3, hours=5)
    _late_payment(client, "late-1", late)
    recomputed = rollups.refresh(client, now_s=NOW)
    assert sorted(recomputed) == sorted([("revenue", _day(late)), ("revenue_product", _day(late))])
    assert assert_same_figures(client, ("nis",)) > 0
    # The same payment delivered again changes no figure (and collapses in the base table).
    _late_payment(client, "late-1", late)
    before = queries.revenue_hourly("nis", *WINDOWS["7 d"], client=client)
    rollups.refresh(client, now_s=NOW)
    after = queries.revenue_hourly("nis", *WINDOWS["7 d"], client=client)
    pd.testing.assert_frame_equal(after, before)
    assert assert_same_figures(client, ("nis",)) > 0


@pytest.mark.integration
def test_redelivered_month_changes_no_figure(month: tuple[Settings, str], client: Client) -> None:
    rollups.refresh(client, now_s=NOW)
    before = {f: fn("nis", *WINDOWS["30 d"], client=client) for f, fn in FIGURES.items()}
    settings, name = month
    writer = ClickHouseWriter(settings.clickhouse, name)
    load_month(writer, 30_000, chunk=30_000)  # the same records again (same ids, versions)
    writer.close()
    rollups.refresh(client, now_s=NOW)
    for figure, fn in FIGURES.items():
        pd.testing.assert_frame_equal(
            fn("nis", *WINDOWS["30 d"], client=client), before[figure], obj=figure
        )
    assert assert_same_figures(client, ("nis", "tarnow")) > 0


def _day(moment: datetime) -> int:
    return int(moment.timestamp()) // DAY


def _late_payment(client: Client, id_: str, at: datetime) -> None:
    row: tuple[Any, ...] = (
        id_, "nis", "h", "operator", "charge", 12345, "RSD", "t-late", "red", "prod", "sms",
        None, "x", int(at.timestamp()), 1,
    )  # fmt: skip
    client.execute(
        "INSERT INTO ledger (id, city, holder, purse, kind, amount, currency, ticket_id, zone, "
        "product, channel, balance_after, caused_by, time, version) VALUES",
        [row],
    )
