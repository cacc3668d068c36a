"""The writer on real ClickHouse: a batch's columns go in as mapped, and a retried batch
(the same columns inserted again after a failure) still holds its NULLs."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from infra.clickhouse.migrations import drop_database, migrate
from infra.settings import Settings
from streams.analytics_sink.batch import Batcher
from streams.analytics_sink.pseudonyms import Pseudonymizer
from streams.analytics_sink.rows import COLUMNS, Fetched, mappers, rows_of
from streams.analytics_sink.writer import ClickHouseWriter
from streams.contract import Topics
from tests.streams.analytics_sink import records as r

pytestmark = pytest.mark.integration


@pytest.fixture
def writer(services_up: Settings, clickhouse_database: str) -> Iterator[ClickHouseWriter]:
    database = f"{clickhouse_database}_writer"
    migrate(services_up, database)
    writer = ClickHouseWriter(services_up.clickhouse, database)
    yield writer
    writer.close()
    drop_database(services_up, database)


def test_a_batch_inserted_twice_keeps_its_nulls_and_rows(writer: ClickHouseWriter) -> None:
    topics = Topics("")
    values = {
        topics.validity: [r.stay(1).to_json(), r.ride(2).to_json()],
        topics.ledger: [r.charge(3).to_json()],
        topics.audit: [r.check(4).to_json()],
        topics.outcomes: [r.check_out(5).to_json()],
    }
    batcher = Batcher()
    ps = Pseudonymizer(b"k")
    for topic, run in values.items():
        fetched = [Fetched(offset, 0, value) for offset, value in enumerate(run)]
        mappers(topics)[topic](fetched, 0, batcher.tables, ps, [])
        batcher.add_run(topic, 0, len(run) - 1, len(run), 0.0)
    batch = batcher.drain()
    expected = {table: rows_of(batch.tables, table) for table in batch.tables}
    writer.insert_batch(batch)
    writer.insert_batch(batch)  # a retry after a failure sends the same columns again
    for table, rows in expected.items():
        types = dict(
            writer.execute(
                f"SELECT name, type FROM system.columns WHERE "
                f"database = currentDatabase() AND table = '{table}'"
            )
        )
        names = ", ".join(
            f"toUnixTimestamp({c})" if "DateTime" in types[c] else c for c in COLUMNS[table]
        )  # the mapping gives epoch seconds; the driver would read datetimes back
        stored = writer.execute(f"SELECT {names} FROM {table}")
        assert sorted(stored, key=repr) == sorted(rows * 2, key=repr), table
    nulls = writer.execute("SELECT countIf(revoked_at IS NULL) FROM entitlements")[0][0]
    assert nulls == 2 * 3  # one stay and two ride tickets, none revoked, both copies
    assert writer.execute("SELECT countIf(balance_after IS NULL) FROM ledger")[0][0] == 2
