"""`python -m streams.analytics_sink`: run the Kafka -> ClickHouse sink until SIGTERM."""

from __future__ import annotations

from streams.analytics_sink.sink import main

raise SystemExit(main())
