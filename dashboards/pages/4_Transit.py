"""Transit: tickets sold by product, rides, refunds, distances travelled, 1+4 refusals."""

from __future__ import annotations

import altair as alt
import streamlit as st

from dashboards import metrics, ui

ui.page("Transit", "🚌")


def body(win: ui.Window) -> None:
    city = win.city
    tickets = ui.cached("tickets_by_product", *win.args)
    rides = ui.cached("rides_hourly", *win.args)
    refunds = ui.cached("transit_refunds", *win.args)
    refusals = ui.cached("refusals_hourly", *win.args)
    if tickets.empty and rides.empty and refusals.empty:
        ui.nothing("transit tickets or rides")
        return
    cols = st.columns(4)
    cols[0].metric("Tickets sold", int(tickets["tickets"].sum()) if not tickets.empty else 0)
    cols[1].metric("Rides", int(rides["rides"].sum()) if not rides.empty else 0)
    if refunds.empty:
        cols[2].metric("Refunds", 0)
    else:
        total = metrics.money(
            refunds["amount"].sum(), city.minor_units, str(refunds["currency"].iloc[0])
        )
        cols[2].metric("Refunds", int(refunds["refunds"].sum()), help=total)
    cols[3].metric(
        "1+4 refusals (HKR-6)", int(refusals["refusals"].sum()) if not refusals.empty else 0
    )
    if not tickets.empty:
        st.subheader("Tickets sold by product")
        ui.chart(
            alt.Chart(tickets)
            .mark_bar()
            .encode(
                x=alt.X("sum(tickets):Q", title="tickets"),
                y=alt.Y("product:N", sort="-x"),
                color=alt.Color("channel:N"),
                tooltip=["product", "channel", "tickets"],
            )
        )
    if not rides.empty:
        st.subheader("Rides per hour")
        frame = ui.hour_labels(rides, "hour", city.timezone)
        ui.chart(
            alt.Chart(frame)
            .mark_bar()
            .encode(
                x=alt.X("label:O", title=f"hour ({city.timezone})", sort=None),
                y=alt.Y("rides:Q"),
                tooltip=["label", "rides", "tickets"],
            )
        )
        stops = ui.cached("stops_distribution", *win.args)
        st.subheader("Stops travelled per ticket (-1: no check-out, no refund)")
        ui.chart(
            alt.Chart(stops)
            .mark_bar()
            .encode(x=alt.X("stops:O"), y=alt.Y("tickets:Q"), tooltip=["stops", "tickets"])
        )
    if not refusals.empty:
        st.subheader("Missed-call orders refused by the 1+4 rule (HKR-6)")
        frame = ui.hour_labels(refusals, "hour", city.timezone)
        ui.chart(
            alt.Chart(frame)
            .mark_bar(color="#c62828")
            .encode(
                x=alt.X("label:O", title=f"hour ({city.timezone})", sort=None),
                y=alt.Y("refusals:Q"),
                tooltip=["label", "refusals"],
            )
        )


win = ui.window()
if win is not None:
    ui.live(body, win)
