"""Short windows and window edges read the stays reaching into them from days before.

The base-table SQL (`dashboards/sql.py`) groups only the tickets of the 7-day look-back
that can count in a piece (`sql._reaching`); the rollup tests compare rollup-backed with
base-table figures, which both use that narrowing, so here hand-made tickets check it
against figures worked out in Python: a five-day stay, a stay extended days later, one
stopped early, one revoked (NIS-9), one whose start was moved into the window, for
occupancy, visits and transit tickets sold, on a two-hour window and on a three-day
window with whole days from the rollups.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pandas as pd
import pytest
from clickhouse_driver import Client

from dashboards import queries, rollups
from infra.clickhouse.migrations import drop_database, migrate
from infra.settings import Settings

S = datetime(2026, 11, 20, 10, 2, 30, tzinfo=UTC)  # mid-day, mid-slot
H = timedelta(hours=1)
D = timedelta(days=1)
SHORT = (S, S + 2 * H)
LONG = (S - 3 * D, S + 2 * H)  # two whole days from the rollups, two edges from the base


@dataclass(frozen=True)
class Version:
    ticket: str
    plate: str
    valid_from: datetime
    valid_until: datetime
    version: int
    state: str = "confirmed"
    revoked_at: datetime | None = None
    city: str = "nis"
    kind: str = "app_stay"
    product: str = "stay"


VERSIONS = [
    Version("long", "PA", S - 5 * D, S + H, 1),  # a five-day stay ending inside
    Version("stopped", "PB", S - 2 * H, S + 2 * H, 1),
    Version("stopped", "PB", S - 2 * H, S - H, 2),  # stopped before the window
    Version("revoked", "PC", S - H, S + H, 1),
    Version("revoked", "PC", S - H, S + H, 2, "revoked", S - H / 6),  # NIS-9
    Version("extended", "PD", S - 3 * D, S - 3 * D + H, 1),
    Version("extended", "PD", S - 3 * D, S + H / 2, 2),  # extended days later
    Version("inside", "PE", S + H, S + 3 * H, 1),
    Version("edge", "PF", S - H, S, 1),  # ends where the window starts: not in it
    # Hradec transit tickets: sold by start of validity, revoked ones not counted.
    *(
        Version(t, "", start, start + H, 1, city="hradec", kind="transit_ticket", product="single")
        for t, start in (("hk-inside", S + H / 12), ("hk-before", S - H), ("hk-old", S - D - H))
    ),
    Version("hk-revoked", "", S + H / 3, S + H, 1, city="hradec", kind="transit_ticket"),
    Version(
        "hk-revoked", "", S + H / 3, S + H, 2, "revoked", S + H / 2, "hradec", "transit_ticket"
    ),
    Version("hk-day", "", S + H, S + 25 * H, 1, city="hradec", kind="period_ticket", product="day"),
]


def latest() -> list[Version]:
    """The latest version of every ticket."""
    best: dict[str, Version] = {}
    for v in VERSIONS:
        if v.ticket not in best or v.version > best[v.ticket].version:
            best[v.ticket] = v
    return list(best.values())


def expected_occupancy(start: datetime, end: datetime, slot_s: int) -> pd.DataFrame:
    """Vehicles per slot: stays whose [valid_from, end) meets the slot within the window."""
    rows = []
    first = int(start.timestamp()) // slot_s * slot_s
    for slot in range(first, int(end.timestamp()), slot_s):
        a = max(datetime.fromtimestamp(slot, UTC), start)
        b = min(datetime.fromtimestamp(slot + slot_s, UTC), end)
        plates = set()
        for v in latest():
            until = min(v.valid_until, v.revoked_at or v.valid_until)
            if v.city == "nis" and v.valid_from < b and until > a and until > v.valid_from:
                plates.add(v.plate)
        if plates:
            rows.append((datetime.fromtimestamp(slot, UTC), len(plates)))
    return pd.DataFrame(rows, columns=["slot", "vehicles"])


def expected_visits(start: datetime, end: datetime) -> int:
    """Every plate has one ticket here: one visit each."""
    return sum(
        1
        for v in latest()
        if v.city == "nis"
        and start <= v.valid_from < end
        and min(v.valid_until, v.revoked_at or v.valid_until) > v.valid_from
    )


def expected_tickets(start: datetime, end: datetime) -> dict[str, int]:
    sold: dict[str, int] = {}
    for v in latest():
        if v.city == "hradec" and start <= v.valid_from < end and v.state != "revoked":
            sold[v.product] = sold.get(v.product, 0) + 1
    return sold


@pytest.fixture(scope="module")
def client(services_up: Settings, clickhouse_database: str) -> Iterator[Client]:
    name = f"{clickhouse_database}_edges"
    migrate(services_up, name)
    ch = Client(**services_up.clickhouse.client_kwargs(database=name))
    rows = [
        (v.city, v.ticket, v.kind, v.product, "app", v.state, v.valid_from, v.valid_until,
         100, "RSD", "red", v.plate, "plate", v.plate, v.revoked_at, v.valid_from, "x",
         v.version)
        for v in VERSIONS
    ]  # fmt: skip
    ch.execute(
        "INSERT INTO entitlements (city, ticket_id, kind, product, channel, state, valid_from,"
        " valid_until, price, currency, zone, plate, subject_kind, subject, revoked_at,"
        " updated_at, caused_by, version) VALUES",
        rows,
    )
    rollups.refresh(
        ch, now_s=int((S + 3 * D).timestamp()), names=("occupancy", "visits", "tickets")
    )
    yield ch
    ch.disconnect()
    drop_database(services_up, name)


@pytest.mark.integration
@pytest.mark.parametrize("window", [SHORT, LONG], ids=["2 h", "3 d"])
@pytest.mark.parametrize("use_rollups", [False, True], ids=["base", "rollups"])
def test_stays_reaching_into_the_window_count_in_its_slots(
    client: Client, window: tuple[datetime, datetime], use_rollups: bool
) -> None:
    for slot_s in (300, 3600):
        got = queries.occupancy_5m(
            "nis", *window, client=client, slot_s=slot_s, use_rollups=use_rollups
        )
        assert set(got["zone"]) == {"red"}
        want = expected_occupancy(*window, slot_s)
        assert len(want) >= 3  # a real comparison, not of empties
        pd.testing.assert_frame_equal(
            got[["slot", "vehicles"]].reset_index(drop=True), want, check_dtype=False
        )


@pytest.mark.integration
@pytest.mark.parametrize("window", [SHORT, LONG], ids=["2 h", "3 d"])
@pytest.mark.parametrize("use_rollups", [False, True], ids=["base", "rollups"])
def test_visits_and_tickets_sold_count_tickets_whose_latest_start_is_inside(
    client: Client, window: tuple[datetime, datetime], use_rollups: bool
) -> None:
    visits = queries.visits("nis", *window, client=client, use_rollups=use_rollups)
    assert int(visits["visits"].sum()) == expected_visits(*window) > 0
    sold = queries.tickets_by_product("hradec", *window, client=client, use_rollups=use_rollups)
    assert dict(zip(sold["product"], sold["tickets"].astype(int), strict=True)) == (
        expected_tickets(*window)
    )
    assert expected_tickets(*window)["single"] >= 1
