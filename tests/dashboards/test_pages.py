"""Every dashboard page run with Streamlit's AppTest on seeded data in real ClickHouse.

The seed inserts every row twice; the figures asserted here are the once-counted ones.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from infra.settings import REPO_ROOT

pytestmark = pytest.mark.integration
PAGES = REPO_ROOT / "dashboards" / "pages"


def run_page(path: Path, city: str) -> AppTest:
    at = AppTest.from_file(str(path), default_timeout=60)
    at.query_params["city"] = city
    at.run()
    assert not at.exception, [e.message for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    assert at.sidebar.selectbox[0].value == city
    return at


def charts(at: AppTest) -> int:
    return len(at.get("vega_lite_chart"))


def metric(at: AppTest, label: str) -> str:
    return next(str(m.value) for m in at.metric if m.label.startswith(label))


def test_occupancy_page_shows_vehicles_per_zone(dashboards_env: str) -> None:
    at = run_page(PAGES / "1_Occupancy.py", "nis")
    assert charts(at) == 2  # 5-minute lines and the zone x hour heatmap
    assert int(metric(at, "Vehicles now")) > 0
    assert metric(at, "Zones") == "3"
    visits = at.dataframe[0].value
    assert sorted(visits["zone"]) == ["extra", "green", "red"]
    assert visits["visits"].sum() == 90


def test_revenue_page_counts_each_payment_once(dashboards_env: str) -> None:
    at = run_page(PAGES / "2_Revenue.py", "nis")
    assert charts(at) == 2
    assert metric(at, "Revenue") == "5 400.00 RSD"  # 90 SMS x 60 RSD, seeded twice
    assert metric(at, "Payments") == "90"


def test_revenue_page_card_holds_capture_and_release(dashboards_env: str) -> None:
    """MOB-1: a card hold is not revenue; the capture is, the release is shown apart."""
    at = run_page(PAGES / "2_Revenue.py", "mobilet")
    assert metric(at, "Revenue") == "240.00 PLN"  # 40 captures of 6 PLN
    assert metric(at, "Released holds") == "160.00 PLN"


def test_enf3_compliance_page_shares_per_zone_and_hour(dashboards_env: str) -> None:
    """ENF-3: every recorded check feeds the compliance statistics."""
    at = run_page(PAGES / "3_Compliance.py", "nis")
    assert charts(at) == 2
    assert metric(at, "Checks") == "90"
    assert metric(at, "Compliant") == "75.6 %"  # valid, grace, not_required: 68 of 90


def test_hkr6_transit_page_tickets_and_refusals(dashboards_env: str) -> None:
    """HKR-6: refused 1+4 orders are counted next to the tickets sold."""
    at = run_page(PAGES / "4_Transit.py", "hradec")
    assert metric(at, "Tickets sold") == "50"
    assert metric(at, "1+4 refusals") == "6"
    assert charts(at) == 2


def test_trn2_transit_page_rides_stops_and_refunds(dashboards_env: str) -> None:
    """TRN-2/TRN-6: rides (a group is one ride), check-out refunds per ticket, distances."""
    at = run_page(PAGES / "4_Transit.py", "tarnow")
    assert metric(at, "Rides") == "60"
    assert metric(at, "Refunds") == "60"  # 50 check-outs, 10 of them groups of two
    assert charts(at) == 2  # rides per hour, stops distribution


def test_trn2_stops_distribution_counts_tickets_without_check_out_apart(
    dashboards_env: str,
) -> None:
    """TRN-2: a ticket without a check-out has no distance (-1) and no refund."""
    from datetime import UTC, datetime

    from dashboards import queries

    stops = queries.stops_distribution(
        "tarnow", datetime(2026, 11, 24, tzinfo=UTC), datetime(2026, 11, 25, tzinfo=UTC)
    ).set_index("stops")["tickets"]
    assert stops[-1] == 20  # rides 0, 6, ..., 54 are groups of two with no check-out
    assert stops.sum() == 80  # 60 rides, 20 of them groups of two


def test_operations_page_events_dead_letters_and_lag(dashboards_env: str) -> None:
    at = run_page(PAGES / "5_Operations.py", "nis")
    assert metric(at, "Events in range") == "90"
    assert metric(at, "Dead letters") == "5"
    assert metric(at, "Sink lag") == "10"
    assert charts(at) == 2


def test_home_page(dashboards_env: str) -> None:
    at = run_page(REPO_ROOT / "dashboards" / "Home.py", "nis")
    assert metric(at, "Newest event") == "2026-11-24 11:47:00"
