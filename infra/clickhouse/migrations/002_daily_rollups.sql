-- Daily rollups for long dashboard windows (dashboards/rollups.py fills them).
--
-- Not materialized views: a view adds every inserted block, so a redelivered batch would
-- be counted twice. Instead a periodic job recomputes each closed UTC day from the
-- de-duplicated base tables (the same SQL the dashboards run) and inserts the result under
-- a fresh `version`; `rollup_days` then records that version as the day's current one.
-- Readers take a day from a rollup only at the version `rollup_days` names, so a day
-- recomputed after late records never mixes old and new rows, and a retried insert of one
-- computation collapses (the version is part of every sorting key). The open day and the
-- partial days at a window's edges are still read from the base tables.
--
-- Plain Date/DateTime, no LowCardinality, no TTL: valid on ClickHouse 18.16 and current
-- servers. No personal columns: only counts and sums per city, zone, product, type.

-- One row per rollup and day computed; FINAL keeps the latest computation. `source` is a
-- digest of the base rows the day depended on (row counts per day), so the job recomputes
-- a day exactly when records for it arrived late (or copies were merged away).
CREATE TABLE IF NOT EXISTS rollup_days (
    rollup String,
    day Date,
    source String,
    computed_at DateTime,
    version UInt64
) ENGINE = ReplacingMergeTree(version)
ORDER BY (rollup, day);

-- Vehicles per zone and slot (5, 15 and 60 minutes: the Occupancy page's resolutions).
CREATE TABLE IF NOT EXISTS occupancy_rollup (
    city String,
    day Date,
    slot_s UInt32,
    zone String,
    slot DateTime,
    vehicles UInt64,
    version UInt64
) ENGINE = ReplacingMergeTree()
PARTITION BY toYYYYMM(day)
ORDER BY (city, slot_s, day, version, zone, slot);

-- Visits started per zone and day: count, summed dwell (seconds) and tickets.
CREATE TABLE IF NOT EXISTS visits_rollup (
    city String,
    day Date,
    zone String,
    visits UInt64,
    dwell_s Int64,
    tickets UInt64,
    version UInt64
) ENGINE = ReplacingMergeTree()
PARTITION BY toYYYYMM(day)
ORDER BY (city, day, version, zone);

-- Ledger per hour, zone and channel (revenue = charge + capture - refund).
CREATE TABLE IF NOT EXISTS revenue_rollup (
    city String,
    day Date,
    hour DateTime,
    zone String,
    channel String,
    currency String,
    revenue Int64,
    refunds Int64,
    releases Int64,
    topups Int64,
    payments UInt64,
    version UInt64
) ENGINE = ReplacingMergeTree()
PARTITION BY toYYYYMM(day)
ORDER BY (city, day, version, hour, zone, channel);

-- Ledger per product and purse.
CREATE TABLE IF NOT EXISTS revenue_product_rollup (
    city String,
    day Date,
    product String,
    purse String,
    currency String,
    revenue Int64,
    payments UInt64,
    refunds Int64,
    version UInt64
) ENGINE = ReplacingMergeTree()
PARTITION BY toYYYYMM(day)
ORDER BY (city, day, version, product, purse);

-- Inbound events per minute and type.
CREATE TABLE IF NOT EXISTS events_rollup (
    city String,
    day Date,
    minute DateTime,
    type String,
    events UInt64,
    version UInt64
) ENGINE = ReplacingMergeTree()
PARTITION BY toYYYYMM(day)
ORDER BY (city, day, version, minute, type);

-- Workers' outcomes per type, outcome and rule.
CREATE TABLE IF NOT EXISTS outcomes_rollup (
    city String,
    day Date,
    type String,
    outcome String,
    rule String,
    events UInt64,
    version UInt64
) ENGINE = ReplacingMergeTree()
PARTITION BY toYYYYMM(day)
ORDER BY (city, day, version, type, outcome, rule);
