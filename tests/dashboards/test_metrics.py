"""Pure dashboard metrics: occupancy against capacity, heatmap, compliance, money."""

from __future__ import annotations

import pandas as pd

from dashboards import metrics


def occupancy() -> pd.DataFrame:
    slots = pd.date_range("2026-11-24 07:00", periods=12, freq="5min", tz="UTC")
    return pd.DataFrame(
        {"zone": ["red"] * 12 + ["green"] * 12, "slot": list(slots) * 2,
         "vehicles": [10] * 12 + [3] * 12}
    )  # fmt: skip


def test_occupancy_percent_against_the_zone_capacity() -> None:
    frame = metrics.occupancy_percent(occupancy(), {"red": 40})
    red = frame[frame["zone"] == "red"]
    assert (red["occupancy_pct"] == 25.0).all()
    assert frame[frame["zone"] == "green"]["occupancy_pct"].isna().all()  # capacity unknown


def test_heatmap_hours_are_local_and_average_the_slots() -> None:
    frame = metrics.occupancy_percent(occupancy(), {"red": 40, "green": 10})
    heat = metrics.hourly_heatmap(frame, "Europe/Belgrade")
    assert len(heat) == 2
    assert set(heat["hour"].dt.hour) == {8}  # 07:00 UTC is 08:00 in Niš in November
    assert heat.set_index("zone").loc["red", "vehicles"] == 10
    assert heat.set_index("zone").loc["green", "occupancy_pct"] == 30.0


def test_heatmap_counts_missing_slots_as_empty() -> None:
    frame = occupancy().iloc[:6]  # vehicles only in the first half hour
    heat = metrics.hourly_heatmap(frame, "UTC")
    assert heat["vehicles"].iloc[0] == 5.0


def test_enf1_compliance_counts_valid_grace_and_not_required() -> None:
    """ENF-1 answers: valid, grace and not_required are compliant; expired and none not."""
    checks = pd.DataFrame(
        {"zone": ["red"] * 4, "status": ["valid", "grace", "expired", "none"],
         "checks": [5, 1, 2, 2]}
    )  # fmt: skip
    assert metrics.compliance_rate(checks) == 60.0
    shares = metrics.status_shares(checks, "zone")
    assert shares["share"].sum() == 100.0
    assert metrics.compliance_rate(checks.iloc[0:0]) is None


def test_turnover_is_visits_per_space_per_day() -> None:
    visits = pd.DataFrame({"zone": ["red", "x"], "visits": [80, 5]})
    frame = metrics.turnover(visits, {"red": 20}, days=2)
    assert frame.set_index("zone").loc["red", "turnover"] == 2.0
    assert pd.isna(frame.set_index("zone").loc["x", "turnover"])


def test_money_in_major_units() -> None:
    assert metrics.money(540000, 2, "RSD") == "5 400.00 RSD"
    assert metrics.money(1234, 0, "JPY") == "1 234 JPY"


def test_slots_widen_with_the_window_and_the_heatmap_follows() -> None:
    assert metrics.slot_seconds(6 * 3600) == 300
    assert metrics.slot_seconds(7 * 86400) == 900
    assert metrics.slot_seconds(30 * 86400) == 3600
    hourly = pd.DataFrame(
        {"zone": ["red"], "slot": pd.to_datetime(["2026-11-24 07:00"], utc=True), "vehicles": [9]}
    )
    assert metrics.hourly_heatmap(hourly, "UTC", slot_s=3600)["vehicles"].iloc[0] == 9
