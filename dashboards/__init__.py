"""Streamlit dashboards for managers and the ClickHouse queries behind them."""
