"""Managers' dashboards (Streamlit multipage app): `streamlit run dashboards/Home.py`.

- `queries.py`: the ClickHouse queries, plain functions returning DataFrames.
- `sql.py`: the de-duplicated base-table SQL of the long-window figures (queries, rollups).
- `rollups.py`: daily rollups of those figures, the job that recomputes closed days
  (`python -m dashboards.rollups`; the sink runs it too) and the window split.
- `metrics.py`: pure post-processing (occupancy %, heatmaps, money formatting).
- `cities.py`: what the dashboards need from the city configs (capacity, time zone, money).
- `ui.py`: the Streamlit glue every page shares (selectors, caching, auto-refresh).
- `Home.py` and `pages/`: Occupancy, Revenue, Compliance, Transit, Operations.
"""
