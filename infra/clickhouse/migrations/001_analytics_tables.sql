-- The analytics schema: one table per record kind the sink reads from Kafka.
--
-- Written for Debian's ClickHouse 18.16 and current servers alike: plain DateTime (UTC,
-- whole seconds), no LowCardinality, no TTL clause (18.16 has none; personal columns are
-- cleared per partition by streams/analytics_sink/retention.py instead).
--
-- Idempotency: every table is a ReplacingMergeTree whose sorting key ends in the record's
-- id, so a redelivered record collapses into the row already there. Merges happen in the
-- background; queries de-duplicate with FINAL or argMax (dashboards/queries.py).
-- `version` picks the surviving copy: the Kafka offset for immutable records (all copies
-- are identical), the event time of the change in microseconds for entitlements and rides
-- (a later change of the same ticket wins).
--
-- Personal columns (pseudonyms only: HMAC of plates, phone numbers, card and account ids)
-- are never part of a sorting key, so they can be cleared by partition.

-- Inbound CloudEvents (events.raw). `subject` is the pseudonym of the state owner.
CREATE TABLE IF NOT EXISTS events (
    event_id String,
    city String,
    type String,
    source String,
    time DateTime,
    subject String,
    zone String,
    amount Int64,
    kafka_partition UInt32,
    kafka_offset UInt64,
    received_at DateTime,
    version UInt64
) ENGINE = ReplacingMergeTree(version)
PARTITION BY toYYYYMMDD(time)
ORDER BY (city, time, event_id);

-- Tickets and stays: one row per change of an entitlement (validity topic, flattened).
-- Sorted by start so a time window reads only its days; copies of one change collapse,
-- different changes of one ticket are told apart by argMax(version) per ticket_id.
CREATE TABLE IF NOT EXISTS entitlements (
    city String,
    ticket_id String,
    kind String,
    product String,
    channel String,
    state String,
    valid_from DateTime,
    valid_until DateTime,
    price Int64,
    currency String,
    zone String,
    plate String,
    subject_kind String,
    subject String,
    revoked_at Nullable(DateTime),
    updated_at DateTime,
    caused_by String,
    version UInt64
) ENGINE = ReplacingMergeTree(version)
PARTITION BY toYYYYMM(valid_from)
ORDER BY (city, valid_from, ticket_id);

-- Money movements (ledger topic). Revenue = charge + capture - refund.
CREATE TABLE IF NOT EXISTS ledger (
    id String,
    city String,
    holder String,
    purse String,
    kind String,
    amount Int64,
    currency String,
    ticket_id String,
    zone String,
    product String,
    channel String,
    balance_after Nullable(Int64),
    caused_by String,
    time DateTime,
    version UInt64
) ENGINE = ReplacingMergeTree(version)
PARTITION BY toYYYYMMDD(time)
ORDER BY (city, time, id);

-- Messages to people (notifications topic); the text itself is not kept (it names plates
-- and PINs), only its kind and length.
CREATE TABLE IF NOT EXISTS notifications (
    id String,
    city String,
    channel String,
    recipient String,
    kind String,
    ticket_id String,
    text_length UInt32,
    caused_by String,
    time DateTime,
    version UInt64
) ENGINE = ReplacingMergeTree(version)
PARTITION BY toYYYYMMDD(time)
ORDER BY (city, time, id);

-- Officers' lookups and the answers given (audit topic, ENF-3).
CREATE TABLE IF NOT EXISTS checks (
    check_id String,
    city String,
    officer String,
    role String,
    subject_kind String,
    subject String,
    zone String,
    at DateTime,
    answered_at DateTime,
    status String,
    ticket_ids Array(String),
    as_of Nullable(DateTime),
    version UInt64
) ENGINE = ReplacingMergeTree(version)
PARTITION BY toYYYYMMDD(answered_at)
ORDER BY (city, answered_at, check_id);

-- Transit rides, one row per ticket of a ride and ride event: `check_in` from the ride
-- entitlements of card systems (validity topic), `check_out` from the worker's TRN-2
-- outcome (stops travelled). A group ride has one ticket per traveller (TRN-6).
CREATE TABLE IF NOT EXISTS rides (
    city String,
    ride_id String,
    event String,
    card String,
    product String,
    at DateTime,
    trip_id String,
    boarding_stop Int32,
    stops Int32,
    price Int64,
    currency String,
    version UInt64
) ENGINE = ReplacingMergeTree(version)
PARTITION BY toYYYYMM(at)
ORDER BY (city, ride_id, event);

-- What the workers decided about each inbound event (outcomes topic).
CREATE TABLE IF NOT EXISTS outcomes (
    id String,
    city String,
    type String,
    owner String,
    outcome String,
    rule String,
    reason String,
    facts String,
    time DateTime,
    version UInt64
) ENGINE = ReplacingMergeTree(version)
PARTITION BY toYYYYMMDD(time)
ORDER BY (city, time, id);

-- Events that failed validation (events.deadletter) and records the sink could not map.
-- `raw` keeps the event with plates and phone numbers replaced by pseudonyms.
CREATE TABLE IF NOT EXISTS dead_letters (
    id String,
    event_id String,
    city String,
    type String,
    reason String,
    problems String,
    raw String,
    source_topic String,
    kafka_partition Int32,
    kafka_offset Int64,
    received_at DateTime,
    version UInt64
) ENGINE = ReplacingMergeTree(version)
PARTITION BY toYYYYMMDD(received_at)
ORDER BY (received_at, id);

-- The sink's own progress per topic partition: committed offset and the end of the log
-- when it committed (Operations page: sink lag).
CREATE TABLE IF NOT EXISTS sink_progress (
    consumer_group String,
    topic String,
    kafka_partition UInt32,
    committed_offset UInt64,
    end_offset UInt64,
    rows_written UInt64,
    at DateTime,
    version UInt64
) ENGINE = ReplacingMergeTree(version)
ORDER BY (consumer_group, topic, kafka_partition);
