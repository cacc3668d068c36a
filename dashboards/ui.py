"""Streamlit glue shared by every page: city and time-range selectors, cached queries,
auto-refresh, charts and empty-state messages. Pages only arrange what this returns.

- Queries run through `st.cache_data(ttl=QUERY_TTL_S)`: many managers looking at one city
  cost one query per TTL, not one per viewer.
- The window ends at the city's newest data (or now): a replayed or delayed stream still
  shows its pictures; `DASHBOARDS_REFRESH_SECONDS` sets how often a page's body reruns
  (`st.fragment(run_every=...)`).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import altair as alt
import pandas as pd
import streamlit as st

from dashboards import queries
from dashboards.cities import CityView, city_view, configured_cities
from infra.settings import Settings

QUERY_TTL_S = 10
REFRESH_S = float(os.environ.get("DASHBOARDS_REFRESH_SECONDS", "15"))

RANGES: dict[str, timedelta] = {
    "Last hour": timedelta(hours=1),
    "Last 6 hours": timedelta(hours=6),
    "Last 24 hours": timedelta(hours=24),
    "Last 7 days": timedelta(days=7),
    "Last 30 days": timedelta(days=30),
}


@dataclass(frozen=True)
class Window:
    city: CityView
    start: datetime
    end: datetime

    @property
    def args(self) -> tuple[str, datetime, datetime]:
        return (self.city.id, self.start, self.end)

    @property
    def days(self) -> float:
        return (self.end - self.start).total_seconds() / 86400


def _database() -> str:
    return Settings.from_env().clickhouse.database


@st.cache_data(ttl=QUERY_TTL_S, show_spinner=False)
def _cached(database: str, name: str, *args: Any, **kwargs: Any) -> pd.DataFrame:
    return getattr(queries, name)(*args, **kwargs)


def cached(name: str, *args: Any, **kwargs: Any) -> pd.DataFrame:
    """`queries.<name>(*args, **kwargs)`, cached for QUERY_TTL_S seconds per database."""
    return _cached(_database(), name, *args, **kwargs)


@st.cache_data(ttl=QUERY_TTL_S, show_spinner=False)
def _cities_of(database: str) -> list[str]:
    return sorted(set(queries.cities()) | set(configured_cities()))


@st.cache_data(ttl=QUERY_TTL_S, show_spinner=False)
def _latest_of(database: str, city: str) -> datetime | None:
    return queries.latest_time(city)


def _cities() -> list[str]:
    return _cities_of(_database())


def latest(city: str) -> datetime | None:
    """Event time of the city's newest data (cached)."""
    return _latest_of(_database(), city)


@st.cache_data(ttl=300, show_spinner=False)
def _city(city: str) -> CityView:
    return city_view(city)


def page(title: str, icon: str) -> None:
    st.set_page_config(page_title=f"{title} · platform", page_icon=icon, layout="wide")
    st.title(title)


def window() -> Window | None:
    """The sidebar selectors; None (with a message shown) when there is nothing to show."""
    try:
        cities = _cities()
    except Exception as exc:  # ClickHouse down: say so instead of a stack trace
        st.error(f"ClickHouse is not reachable: {exc}")
        return None
    if not cities:
        st.info("No data yet: start the platform (`python -m infra demo`) and the sink.")
        return None
    # `?city=nis` in the address picks the city (bookmarks, links between pages).
    default = st.session_state.get("city") or st.query_params.get("city") or cities[0]
    city = st.sidebar.selectbox(
        "City", cities, index=cities.index(default) if default in cities else 0, key="city"
    )
    st.query_params["city"] = city
    span = st.sidebar.radio("Time range", list(RANGES), index=2, key="range")
    anchor = st.sidebar.radio("Ending", ["at the newest data", "now"], key="anchor")
    now = datetime.now(UTC).replace(microsecond=0)
    end = now
    if anchor == "at the newest data":
        newest = latest(city)
        end = newest + timedelta(seconds=1) if newest else now
    # Whole 10 s steps, so viewers and refreshes within one step share cached results.
    end = end.replace(second=end.second - end.second % 10) + timedelta(seconds=10)
    view = _city(city)
    st.sidebar.caption(
        f"{view.name} · {view.timezone} · {(end - RANGES[span]):%Y-%m-%d %H:%M} – "
        f"{end:%Y-%m-%d %H:%M} UTC"
    )
    if view.problem:
        st.sidebar.warning(view.problem)
    return Window(view, end - RANGES[span], end)


def live(body: Callable[[Window], None], win: Window) -> None:
    """Run the page body now and again every REFRESH_S seconds (only the body reruns)."""

    @st.fragment(run_every=REFRESH_S if st.session_state.get("auto", True) else None)
    def fragment() -> None:
        try:
            body(win)
        except Exception as exc:  # ClickHouse restarting: keep the page, show the error
            st.error(f"Query failed: {exc}")
        st.caption(f"Updated {datetime.now(UTC):%H:%M:%S} UTC · refresh every {REFRESH_S:.0f} s")

    st.sidebar.toggle("Auto-refresh", value=True, key="auto")
    fragment()


def local_time(frame: pd.DataFrame, column: str, tz: str) -> pd.DataFrame:
    out = frame.copy()
    if not out.empty:
        out[column] = out[column].dt.tz_convert(tz).dt.tz_localize(None)
    return out


def hour_labels(frame: pd.DataFrame, column: str, tz: str) -> pd.DataFrame:
    """Adds `label`: the local hour as text ('24 Nov 08:00'), for bars one hour wide."""
    out = frame.copy()
    if not out.empty:
        out["label"] = out[column].dt.tz_convert(tz).dt.strftime("%d %b %H:00")
    else:
        out["label"] = []
    return out


def chart(spec: alt.Chart) -> None:
    st.altair_chart(spec, width="stretch")


def nothing(what: str) -> None:
    st.info(f"No {what} in this time range.")
