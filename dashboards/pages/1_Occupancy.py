"""Occupancy: vehicles with a valid stay per zone and 5 minutes, against zone capacity;
zone x hour heatmap; turnover and average dwell per zone."""

from __future__ import annotations

import altair as alt
import streamlit as st

from dashboards import metrics, ui

ui.page("Occupancy", "🚗")


def body(win: ui.Window) -> None:
    city = win.city
    slot_s = metrics.slot_seconds((win.end - win.start).total_seconds())
    occupancy = ui.cached("occupancy_5m", *win.args, slot_s=slot_s)
    if occupancy.empty:
        ui.nothing("parked vehicles")
        return
    occupancy = metrics.occupancy_percent(occupancy, city.capacities)
    has_capacity = occupancy["capacity"].notna().any()
    latest = occupancy[occupancy["slot"] == occupancy["slot"].max()]
    cols = st.columns(3)
    cols[0].metric("Vehicles now", int(latest["vehicles"].sum()))
    total_capacity = sum(city.capacities.get(z, 0) for z in latest["zone"])
    if total_capacity:
        cols[1].metric("Occupancy now", f"{latest['vehicles'].sum() / total_capacity:.0%}")
    else:
        cols[1].metric("Occupancy now", "–", help="no zone capacity in the city config")
    cols[2].metric("Zones", occupancy["zone"].nunique())

    value = "occupancy_pct" if has_capacity else "vehicles"
    title = "Occupancy %" if has_capacity else "Vehicles"
    st.subheader(f"{title} per zone, {slot_s // 60}-minute slots")
    line = ui.local_time(occupancy, "slot", city.timezone)
    ui.chart(
        alt.Chart(line)
        .mark_line(interpolate="step-after")
        .encode(
            x=alt.X("slot:T", title=f"time ({city.timezone})"),
            y=alt.Y(f"{value}:Q", title=title),
            color=alt.Color("zone:N"),
            tooltip=["zone", "slot:T", "vehicles", "capacity", "occupancy_pct"],
        )
    )
    st.subheader(f"{title}: zone x hour (mean of the hour)")
    heat = metrics.hourly_heatmap(occupancy, city.timezone, slot_s)
    heat = ui.local_time(heat, "hour", city.timezone)
    ui.chart(
        alt.Chart(heat)
        .mark_rect()
        .encode(
            x=alt.X("hour:O", timeUnit="monthdatehours", title="hour"),
            y=alt.Y("zone:N"),
            color=alt.Color(f"{value}:Q", title=title, scale=alt.Scale(scheme="orangered")),
            tooltip=["zone", "hour:T", value],
        )
    )
    st.subheader("Turnover and dwell")
    visits = ui.cached("visits", *win.args)
    if visits.empty:
        ui.nothing("visits starting")
        return
    visits = metrics.turnover(visits, city.capacities, win.days)
    st.dataframe(
        visits.rename(
            columns={
                "avg_dwell_minutes": "average dwell (min)",
                "turnover": "visits per space per day",
            }
        ),
        hide_index=True,
    )


win = ui.window()
if win is not None:
    ui.live(body, win)
