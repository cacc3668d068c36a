"""The analytics sink: Kafka records into ClickHouse for the managers' dashboards.

- `pseudonyms.py`: keyed-hash (HMAC) pseudonyms for plates, phone numbers, cards, accounts.
- `rows.py`: pure mapping of one Kafka record to table rows (no I/O).
- `batch.py`: pure batching (row and age thresholds) and the offsets a batch covers.
- `writer.py`: columnar inserts with clickhouse-driver, one client per thread, retries.
- `retention.py`: clears personal columns of partitions older than the retention.
- `sink.py`: the consumer process wiring them (`python -m streams.analytics_sink`).
- `bench.py`: throughput and dashboard-query benchmark (`python -m streams.analytics_sink.bench`).
"""
