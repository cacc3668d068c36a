"""Revenue: charge + capture - refund by channel, zone and hour; refunds and releases."""

from __future__ import annotations

import altair as alt
import streamlit as st

from dashboards import metrics, ui

ui.page("Revenue", "💰")


def body(win: ui.Window) -> None:
    city = win.city
    hourly = ui.cached("revenue_hourly", *win.args)
    if hourly.empty:
        ui.nothing("payments")
        return
    currency = str(hourly["currency"].iloc[0])
    scale = 10**city.minor_units

    def fmt(minor: float) -> str:
        return metrics.money(minor, city.minor_units, currency)

    cols = st.columns(4)
    cols[0].metric("Revenue", fmt(hourly["revenue"].sum()))
    cols[1].metric("Payments", int(hourly["payments"].sum()))
    cols[2].metric("Refunds", fmt(hourly["refunds"].sum()))
    cols[3].metric("Released holds", fmt(hourly["releases"].sum()))

    frame = ui.hour_labels(hourly, "hour", city.timezone)
    frame["revenue_major"] = frame["revenue"] / scale
    st.subheader(f"Revenue per hour by channel ({currency})")
    ui.chart(
        alt.Chart(frame)
        .mark_bar()
        .encode(
            x=alt.X("label:O", title=f"hour ({city.timezone})", sort=None),
            y=alt.Y("sum(revenue_major):Q", title=currency),
            color=alt.Color("channel:N"),
            tooltip=["label", "channel", "sum(revenue_major):Q"],
        )
    )
    st.subheader(f"Revenue by zone and channel ({currency})")
    ui.chart(
        alt.Chart(frame)
        .mark_bar()
        .encode(
            x=alt.X("sum(revenue_major):Q", title=currency),
            y=alt.Y("zone:N", sort="-x", title="zone"),
            color=alt.Color("channel:N"),
            tooltip=["zone", "channel", "sum(revenue_major):Q"],
        )
    )
    products = ui.cached("revenue_by_product", *win.args)
    if not products.empty:
        st.subheader("By product and purse")
        products = products.assign(
            revenue=products["revenue"].map(fmt), refunds=products["refunds"].map(fmt)
        )
        st.dataframe(products.drop(columns=["currency"]), hide_index=True)


win = ui.window()
if win is not None:
    ui.live(body, win)
