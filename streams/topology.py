"""Creates the product's Kafka topics with the right partitions and retention.

`events.raw` and the tables' changelogs must have the same number of partitions (state
is co-partitioned with its events: `ensure_topics` and `check_changelogs` refuse to start
a worker otherwise); the validity topic is compacted so a new API replica
rebuilds the current picture by reading it from the start.
"""

from __future__ import annotations

import contextlib
import logging
import time

from kafka.admin import KafkaAdminClient, NewTopic
from kafka.errors import TopicAlreadyExistsError

from streams.contract import Topics

log = logging.getLogger(__name__)

WEEK_MS = 7 * 24 * 3600 * 1000


def topic_specs(topics: Topics, partitions: int) -> list[NewTopic]:
    def plain(name: str, retention_ms: int = WEEK_MS) -> NewTopic:
        return NewTopic(
            name,
            num_partitions=partitions,
            replication_factor=1,
            topic_configs={"retention.ms": str(retention_ms)},
        )

    compacted = NewTopic(
        topics.validity,
        num_partitions=partitions,
        replication_factor=1,
        topic_configs={
            "cleanup.policy": "compact",
            "min.cleanable.dirty.ratio": "0.1",
            "segment.ms": str(3600 * 1000),
            "delete.retention.ms": str(24 * 3600 * 1000),
        },
    )
    return [
        plain(topics.raw),
        plain(topics.deadletter, 4 * WEEK_MS),
        compacted,
        plain(topics.notifications),
        plain(topics.ledger, 4 * WEEK_MS),
        plain(topics.outcomes),
        plain(topics.audit, 4 * WEEK_MS),
    ]


def ensure_topics(bootstrap: str, topics: Topics, partitions: int) -> list[str]:
    """Create missing topics; return the names created. Existing ones are left alone,
    but a raw topic with another partition count is an error (state would be split)."""
    admin = KafkaAdminClient(bootstrap_servers=bootstrap, client_id="platform-topology")
    try:
        existing = set(admin.list_topics())
        wanted = [t for t in topic_specs(topics, partitions) if t.name not in existing]
        if wanted:
            # another worker may create them between our list and create
            with contextlib.suppress(TopicAlreadyExistsError):
                admin.create_topics(wanted)
        if topics.raw in existing:
            _require_partitions(admin, [topics.raw], partitions)
        created = [t.name for t in wanted]
        if created:
            log.info("created topics %s", created)
            _wait_for_leaders(admin, created)
        return created
    finally:
        admin.close()


def check_changelogs(bootstrap: str, changelogs: list[str], partitions: int) -> None:
    """Refuse to start when a table's existing changelog has another partition count than
    `events.raw`: a changelog left by a run with another STREAMS_PARTITIONS under the same
    STREAMS_APP_ID. The worker writes each state change to the partition of its event, and
    aiokafka refuses a partition the topic does not have: the worker would crash on every
    batch (seen in a demo whose raw topic had been recreated with 8 partitions next to
    4-partition changelogs). Missing changelogs are fine: Faust creates them."""
    admin = KafkaAdminClient(bootstrap_servers=bootstrap, client_id="platform-topology")
    try:
        existing = set(admin.list_topics())
        present = [name for name in changelogs if name in existing]
        if present:
            _require_partitions(admin, present, partitions)
    finally:
        admin.close()


def _require_partitions(admin: KafkaAdminClient, names: list[str], partitions: int) -> None:
    wrong = {
        d["name"]: len(d["partitions"])
        for d in admin.describe_topics(names)
        if len(d["partitions"]) != partitions
    }
    if wrong:
        found = ", ".join(f"{name} has {count}" for name, count in sorted(wrong.items()))
        raise RuntimeError(
            f"{found} partitions but the worker is configured for {partitions} "
            "(STREAMS_PARTITIONS): state would be split across owners. Use the partition "
            "count these topics were made with, or another STREAMS_APP_ID / topic prefix."
        )


def _wait_for_leaders(admin: KafkaAdminClient, names: list[str], timeout_s: float = 30.0) -> None:
    """Return once every partition of `names` has a leader in the broker's metadata.

    A consumer group leader that assigns partitions before a just-created topic shows in
    the metadata assigns nothing and the worker sits idle, "ready" with no partitions
    (seen on a heavily loaded machine); waiting here closes that window.
    """
    deadline = time.monotonic() + timeout_s
    while True:
        described = admin.describe_topics(names)
        if all(
            d["error_code"] == 0
            and d["partitions"]
            and all(p["error_code"] == 0 and p["leader_id"] >= 0 for p in d["partitions"])
            for d in described
        ):
            return
        if time.monotonic() > deadline:
            raise RuntimeError(f"topics {names} have no leaders after {timeout_s} s")
        time.sleep(0.2)
