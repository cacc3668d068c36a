"""Pure post-processing of query results for the pages (no Streamlit, no ClickHouse)."""

from __future__ import annotations

import pandas as pd

#: Order and colours of enforcement answers (ENF-1 statuses plus the grace period).
STATUS_ORDER = ("valid", "grace", "not_required", "expired", "revoked", "none")
COMPLIANT = ("valid", "grace", "not_required")


def money(minor: float | int, minor_units: int, currency: str = "") -> str:
    """'1 234.50 CZK' from minor units."""
    value = minor / (10**minor_units) if minor_units else minor
    text = f"{value:,.{minor_units}f}".replace(",", " ")
    return f"{text} {currency}".strip()


def occupancy_percent(occupancy: pd.DataFrame, capacities: dict[str, int]) -> pd.DataFrame:
    """Adds `occupancy_pct` (vehicles / zone capacity, None where capacity is unknown)."""
    frame = occupancy.copy()
    capacity = frame["zone"].map(capacities)
    frame["capacity"] = capacity
    frame["occupancy_pct"] = (frame["vehicles"] / capacity * 100).round(1)
    return frame


def slot_seconds(window_s: float) -> int:
    """Occupancy resolution for a window: 5 minutes up to a day, then 15 min, then 1 h."""
    if window_s <= 86400:
        return 300
    return 900 if window_s <= 7 * 86400 else 3600


def hourly_heatmap(occupancy: pd.DataFrame, timezone: str, slot_s: int = 300) -> pd.DataFrame:
    """Zone x local hour: the mean over the hour's slots (missing slots are 0)."""
    if occupancy.empty:
        return pd.DataFrame(columns=["zone", "hour", "vehicles", "occupancy_pct"])
    frame = occupancy.copy()
    frame["hour"] = frame["slot"].dt.tz_convert(timezone).dt.floor("h")
    value_cols = ["vehicles"] + (["occupancy_pct"] if "occupancy_pct" in frame else [])
    summed = frame.groupby(["zone", "hour"], as_index=False)[value_cols].sum()
    summed[value_cols] = (summed[value_cols] / (3600 // slot_s)).round(1)
    return summed


def status_shares(checks: pd.DataFrame, by: str) -> pd.DataFrame:
    """Share (%) of each answer per `by` (zone or hour); adds the compliant share."""
    if checks.empty:
        return pd.DataFrame(columns=[by, "status", "checks", "share"])
    grouped = checks.groupby([by, "status"], as_index=False)["checks"].sum()
    totals = grouped.groupby(by)["checks"].transform("sum")
    grouped["share"] = (grouped["checks"] / totals * 100).round(1)
    return grouped


def compliance_rate(checks: pd.DataFrame) -> float | None:
    """Percent of checks whose answer was compliant (valid, grace or not required)."""
    total = int(checks["checks"].sum()) if not checks.empty else 0
    if not total:
        return None
    ok = int(checks.loc[checks["status"].isin(COMPLIANT), "checks"].sum())
    return round(ok / total * 100, 1)


def turnover(visits: pd.DataFrame, capacities: dict[str, int], days: float) -> pd.DataFrame:
    """Visits per space per day (CDS turnover) where the zone's capacity is known."""
    frame = visits.copy()
    capacity = frame["zone"].map(capacities)
    frame["turnover"] = (frame["visits"] / capacity / max(days, 1 / 24)).round(2)
    return frame
