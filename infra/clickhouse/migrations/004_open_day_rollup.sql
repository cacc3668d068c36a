-- The open day's occupancy up to its last settled hour (dashboards/rollups.py fills it),
-- so a live page reads base tables only for the last part of today (< 75 minutes) and
-- the cut slot at its window's start.
--
-- Today's rows keep changing (stays extended, records arriving late), so the job
-- recomputes the settled part whenever the base rows it depends on changed or another
-- hour settled, under a fresh `version`, and then records it in `rollup_open`. Readers
-- take the rows of exactly the version `rollup_open` names. Each computation is a
-- partition of its own (PARTITION BY version), so the job drops superseded ones with a
-- cheap DROP PARTITION: 18.16's ALTER … DELETE is an asynchronous rewrite of whole parts,
-- and keeping them (like the daily rollups' superseded computations) would leave
-- hundreds of dead computations per day. Within a partition a retried insert collapses.
--
-- Plain Date/DateTime, no LowCardinality, no TTL: valid on ClickHouse 18.16 and current
-- servers. No personal columns.

-- One row per rollup and open day; FINAL keeps the latest computation. `through` ends the
-- settled part ([day, through) is rolled up); `source` is the digest of the base rows it
-- read; a row with an empty `source` and `through` at the day's start says its rows were
-- dropped (the day has its whole-day computation in `rollup_days`).
CREATE TABLE IF NOT EXISTS rollup_open (
    rollup String,
    day Date,
    through DateTime,
    source String,
    computed_at DateTime,
    version UInt64
) ENGINE = ReplacingMergeTree(version)
ORDER BY (rollup, day);

-- Vehicles per zone and slot (5, 15 and 60 minutes) of the open day's settled part.
CREATE TABLE IF NOT EXISTS occupancy_open (
    city String,
    day Date,
    slot_s UInt32,
    zone String,
    slot DateTime,
    vehicles UInt64,
    version UInt64
) ENGINE = ReplacingMergeTree()
PARTITION BY version
ORDER BY (city, slot_s, day, zone, slot);
