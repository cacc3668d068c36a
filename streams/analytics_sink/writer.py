"""ClickHouse I/O of the sink: columnar inserts, one client per thread, retry with backoff.

Each thread that writes gets its own `clickhouse_driver.Client` (a client is one TCP
connection and is not thread-safe). `insert_batch` writes every table of a batch as one
columnar INSERT; `insert_until_done` repeats it with exponential backoff while ClickHouse
is unreachable or refuses, until it succeeds or the sink is asked to stop. A batch that
was partly inserted before a failure is simply inserted again: the tables are
ReplacingMergeTrees keyed by record id, so the second copy collapses into the first.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from clickhouse_driver import Client

from infra.settings import ClickHouseSettings
from streams.analytics_sink.batch import Batch
from streams.analytics_sink.rows import COLUMNS

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Backoff:
    """Delays between attempts: initial, doubled each time, capped at `max_s`."""

    initial_s: float = 0.5
    max_s: float = 5.0

    def delay(self, attempt: int) -> float:
        return min(self.max_s, self.initial_s * (2 ** max(0, attempt - 1)))


class ClickHouseWriter:
    def __init__(self, settings: ClickHouseSettings, database: str | None = None) -> None:
        self._kwargs = settings.client_kwargs(database=database)
        self._local = threading.local()

    def client(self) -> Client:
        """This thread's client (created on first use)."""
        client = getattr(self._local, "client", None)
        if client is None:
            client = Client(
                **self._kwargs,
                connect_timeout=3,
                send_receive_timeout=60,
                settings={"insert_block_size": 1_048_576},
            )
            self._local.client = client
        return client

    def reset(self) -> None:
        """Drop this thread's connection (after an error: the next call reconnects)."""
        client = getattr(self._local, "client", None)
        if client is not None:
            try:
                client.disconnect()
            except Exception:  # a broken connection may fail to close
                log.debug("disconnect failed", exc_info=True)
            self._local.client = None

    def execute(self, sql: str, params: Any = None, **kwargs: Any) -> Any:
        return self.client().execute(sql, params, **kwargs)

    def insert_columns(self, table: str, columns: list[list[Any]]) -> None:
        names = ", ".join(COLUMNS[table])
        self.client().execute(
            f"INSERT INTO {table} ({names}) VALUES", columns, columnar=True, types_check=False
        )

    def insert_batch(self, batch: Batch) -> None:
        for table, columns in batch.tables.items():
            if columns[0]:
                # The batch's own lists: clickhouse-driver slices them into blocks (copies)
                # before it replaces NULLs in place, so a retry still sees the NULLs
                # (test_writer checks it).
                self.insert_columns(table, columns)

    def insert_until_done(
        self,
        batch: Batch,
        backoff: Backoff,
        stopping: Callable[[], bool],
        on_retry: Callable[[int, float, Exception], None] | None = None,
    ) -> bool:
        """Insert the batch, retrying with backoff; False only when asked to stop first."""
        attempt = 0
        while True:
            try:
                self.insert_batch(batch)
                return True
            except Exception as exc:  # any failure is retried, none is skipped
                attempt += 1
                self.reset()
                delay = backoff.delay(attempt)
                if on_retry is not None:
                    on_retry(attempt, delay, exc)
                else:
                    log.warning(
                        "insert failed (attempt %d, retry in %.1f s): %s", attempt, delay, exc
                    )
                if _sleep_unless(stopping, delay):
                    return False

    def close(self) -> None:
        self.reset()


def _sleep_unless(stopping: Callable[[], bool], seconds: float) -> bool:
    """Sleep in small steps; True when `stopping()` became true meanwhile."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if stopping():
            return True
        time.sleep(min(0.1, max(0.0, deadline - time.monotonic())))
    return stopping()
