"""A minimal Faust app for the toolchain smoke test: CloudEvents from a topic into ClickHouse.

Run by tests/infra/test_toolchain_smoke.py as `python smoke_faust_app.py worker`; configured
by SMOKE_* environment variables. Not part of the product.
"""

from __future__ import annotations

import json
import os
from datetime import datetime

import faust
from clickhouse_driver import Client

app = faust.App(
    os.environ["SMOKE_APP_ID"],
    broker=f"kafka://{os.environ['KAFKA_BOOTSTRAP']}",
    store="memory://",
    web_enabled=False,
    topic_allow_declare=False,
)
events = app.topic(os.environ["SMOKE_TOPIC"], value_serializer="raw")


@app.agent(events)
async def write_rows(stream: faust.StreamT) -> None:
    client = Client(
        host=os.environ["CLICKHOUSE_HOST"],
        port=int(os.environ["CLICKHOUSE_PORT"]),
        database=os.environ["SMOKE_DATABASE"],
    )
    async for batch in stream.take(100, within=0.5):
        rows = []
        for raw in batch:
            event = json.loads(raw)
            time = datetime.fromisoformat(event["time"]).replace(tzinfo=None)
            rows.append((event["id"], event["type"], event["city"], time))
        client.execute("INSERT INTO smoke_events (id, type, city, time) VALUES", rows)


if __name__ == "__main__":
    app.main()
