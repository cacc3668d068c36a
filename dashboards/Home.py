"""Landing page of the managers' dashboards: what each page shows and how fresh the data is."""

from __future__ import annotations

import streamlit as st

from dashboards import ui

ui.page("Platform dashboards", "🅿️")
st.markdown(
    """
Pictures of parking and public transport, minutes old, from the analytics tables.

- **Occupancy**: vehicles with a valid stay per zone and 5 minutes, against each zone's
  capacity; turnover and dwell (Curb Data Specification terms).
- **Revenue**: charges, captures and refunds by channel, zone, hour and product.
- **Compliance**: what wardens' and inspectors' checks found, per zone and hour.
- **Transit**: tickets sold by product, rides, refunds, distances, 1+4 refusals.
- **Operations**: events per second, outcomes, dead letters and the sink's lag.

Pick the city and time range in the sidebar; pages refresh themselves.
"""
)
win = ui.window()
if win is not None:
    lag = ui.cached("sink_lag")
    latest = ui.latest(win.city.id)
    col1, col2 = st.columns(2)
    col1.metric("Newest event (UTC)", f"{latest:%Y-%m-%d %H:%M:%S}" if latest else "–")
    col2.metric("Records waiting in the sink", int(lag["lag"].sum()) if not lag.empty else 0)
