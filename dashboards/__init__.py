"""Managers' dashboards (Streamlit multipage app): `streamlit run dashboards/Home.py`.

- `queries.py`: the ClickHouse queries, plain functions returning DataFrames.
- `metrics.py`: pure post-processing (occupancy %, heatmaps, money formatting).
- `cities.py`: what the dashboards need from the city configs (capacity, time zone, money).
- `ui.py`: the Streamlit glue every page shares (selectors, caching, auto-refresh).
- `Home.py` and `pages/`: Occupancy, Revenue, Compliance, Transit, Operations.
"""
