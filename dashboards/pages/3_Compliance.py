"""Compliance: what officers' checks answered (ENF-1/ENF-3), shares per zone and hour."""

from __future__ import annotations

import altair as alt
import streamlit as st

from dashboards import metrics, ui

ui.page("Compliance", "👮")

COLOURS = alt.Scale(
    domain=list(metrics.STATUS_ORDER),
    range=["#2e7d32", "#9ccc65", "#90a4ae", "#ef6c00", "#8e24aa", "#c62828"],
)


def body(win: ui.Window) -> None:
    city = win.city
    checks = ui.cached("checks_by_status", *win.args)
    if checks.empty:
        ui.nothing("checks")
        return
    rate = metrics.compliance_rate(checks)
    cols = st.columns(3)
    cols[0].metric("Checks", int(checks["checks"].sum()))
    cols[1].metric("Compliant", f"{rate:.1f} %" if rate is not None else "–")
    violations = checks[checks["status"].isin(["expired", "none", "revoked"])]
    cols[2].metric("Violations found", int(violations["checks"].sum()))

    st.subheader("Answers per zone (share of checks)")
    by_zone = metrics.status_shares(checks, "zone")
    ui.chart(
        alt.Chart(by_zone)
        .mark_bar()
        .encode(
            x=alt.X("share:Q", title="% of checks", stack="normalize"),
            y=alt.Y("zone:N"),
            color=alt.Color("status:N", scale=COLOURS),
            tooltip=["zone", "status", "checks", "share"],
        )
    )
    st.subheader("Answers per hour")
    hourly = ui.hour_labels(checks.sort_values("hour"), "hour", city.timezone)
    ui.chart(
        alt.Chart(hourly)
        .mark_bar()
        .encode(
            x=alt.X("label:O", title=f"hour ({city.timezone})", sort=None),
            y=alt.Y("sum(checks):Q", title="checks"),
            color=alt.Color("status:N", scale=COLOURS),
            tooltip=["label", "status", "sum(checks):Q"],
        )
    )
    officers = ui.cached("checks_by_officer", *win.args)
    if not officers.empty:
        st.subheader("Officers")
        st.dataframe(officers, hide_index=True)


win = ui.window()
if win is not None:
    ui.live(body, win)
