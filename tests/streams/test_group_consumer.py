"""Group consumers get their partitions even when a join outlives a short poll.

kafka-python 3.0.12 left about half of the consumers that subscribe right after their
topics were created in the group with no partitions for good (streams/group_consumer.py).
"""

from __future__ import annotations

import time

import pytest

from streams.contract import Topics
from streams.group_consumer import group_consumer
from streams.topology import ensure_topics

pytestmark = pytest.mark.integration


def test_a_consumer_subscribed_to_fresh_topics_gets_every_partition(
    kafka_bootstrap: str, topic_prefix: str
) -> None:
    for trial in range(8):
        topics = Topics(f"{topic_prefix}join{trial}.")
        names = ensure_topics(kafka_bootstrap, topics, 3)
        consumer = group_consumer(
            bootstrap_servers=kafka_bootstrap,
            group_id=f"{topics.prefix}group",
            enable_auto_commit=False,
        )
        try:
            consumer.subscribe(names)
            deadline = time.monotonic() + 30
            # Short polls, as the sink's loop makes them: the join outlives many of them.
            while len(consumer.assignment()) < 3 * len(names) and time.monotonic() < deadline:
                consumer.poll(timeout_ms=10)
            assert len(consumer.assignment()) == 3 * len(names), f"trial {trial}"
        finally:
            consumer.close()
