-- Daily rollups of the Transit page's two month-long figures (dashboards/rollups.py fills
-- them like those of 002_daily_rollups.sql: recomputed per closed UTC day under a fresh
-- `version`, read only at the version `rollup_days` names). No personal columns.

-- Transit tickets sold per product and channel, by the day their validity starts.
CREATE TABLE IF NOT EXISTS tickets_rollup (
    city String,
    day Date,
    product String,
    channel String,
    tickets UInt64,
    amount Int64,
    currency String,
    version UInt64
) ENGINE = ReplacingMergeTree()
PARTITION BY toYYYYMM(day)
ORDER BY (city, day, version, product, channel);

-- Rides (a group on one card at one check-in is one ride), tickets and deposits per hour
-- of check-in.
CREATE TABLE IF NOT EXISTS rides_rollup (
    city String,
    day Date,
    hour DateTime,
    rides UInt64,
    tickets UInt64,
    deposits Int64,
    version UInt64
) ENGINE = ReplacingMergeTree()
PARTITION BY toYYYYMM(day)
ORDER BY (city, day, version, hour);
