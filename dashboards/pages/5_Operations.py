"""Operations: inbound events per second, worker outcomes, dead letters, the sink's lag."""

from __future__ import annotations

import altair as alt
import streamlit as st

from dashboards import ui

ui.page("Operations", "🛠️")


def body(win: ui.Window) -> None:
    city = win.city
    events = ui.cached("events_per_minute", *win.args)
    letters = ui.cached("dead_letters", *win.args)
    lag = ui.cached("sink_lag")
    cols = st.columns(4)
    if events.empty:
        cols[0].metric("Events/s (last minute)", 0)
    else:
        last = events[events["minute"] == events["minute"].max()]
        cols[0].metric("Events/s (last minute)", f"{last['events'].sum() / 60:.1f}")
    cols[1].metric("Events in range", int(events["events"].sum()) if not events.empty else 0)
    cols[2].metric("Dead letters", len(letters))
    cols[3].metric("Sink lag (records)", int(lag["lag"].sum()) if not lag.empty else 0)

    if not events.empty:
        st.subheader("Events per second by type (per minute of event time)")
        frame = ui.local_time(events, "minute", city.timezone)
        frame["per_second"] = frame["events"] / 60
        ui.chart(
            alt.Chart(frame)
            .mark_area()
            .encode(
                x=alt.X("minute:T", title=f"time ({city.timezone})"),
                y=alt.Y("sum(per_second):Q", title="events/s"),
                color=alt.Color("type:N"),
                tooltip=["minute:T", "type", "events"],
            )
        )
    outcomes = ui.cached("outcomes_summary", *win.args)
    if not outcomes.empty:
        st.subheader("Outcomes")
        ui.chart(
            alt.Chart(outcomes)
            .mark_bar()
            .encode(
                x=alt.X("sum(events):Q", title="events"),
                y=alt.Y("type:N"),
                color=alt.Color("outcome:N"),
                tooltip=["type", "outcome", "rule", "events"],
            )
        )
    st.subheader("Dead letters")
    if letters.empty:
        st.success("No dead letters in this time range.")
    else:
        st.dataframe(letters, hide_index=True)
    st.subheader("Sink lag per topic")
    if lag.empty:
        st.info("The sink has not committed anything yet.")
    else:
        st.dataframe(lag, hide_index=True)


win = ui.window()
if win is not None:
    ui.live(body, win)
