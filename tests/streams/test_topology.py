"""Topic creation and the worker's partition checks, on the real Kafka."""

from __future__ import annotations

import pytest
from kafka.admin import KafkaAdminClient, NewTopic

from streams.contract import Topics
from streams.topology import check_changelogs, ensure_topics

pytestmark = pytest.mark.integration


def _create(bootstrap: str, name: str, partitions: int) -> None:
    admin = KafkaAdminClient(bootstrap_servers=bootstrap, client_id="test-topology")
    try:
        admin.create_topics([NewTopic(name, num_partitions=partitions, replication_factor=1)])
    finally:
        admin.close()


def test_changelogs_with_another_partition_count_stop_the_worker_with_a_reason(
    kafka_bootstrap: str, topic_prefix: str
) -> None:
    """A changelog made by a run with another STREAMS_PARTITIONS (same app id) would send
    the worker into a crash on every batch; it is refused before the worker subscribes."""
    four, eight = f"{topic_prefix}topo-a-changelog", f"{topic_prefix}topo-b-changelog"
    _create(kafka_bootstrap, four, 4)
    _create(kafka_bootstrap, eight, 8)
    missing = f"{topic_prefix}topo-c-changelog"  # Faust creates it: not a problem
    check_changelogs(kafka_bootstrap, [eight, missing], 8)
    with pytest.raises(RuntimeError) as refused:
        check_changelogs(kafka_bootstrap, [four, eight, missing], 8)
    assert f"{four} has 4 partitions but the worker is configured for 8" in str(refused.value)
    assert eight not in str(refused.value)


def test_ensure_topics_creates_once_and_refuses_a_raw_topic_of_another_size(
    kafka_bootstrap: str, topic_prefix: str
) -> None:
    topics = Topics(f"{topic_prefix}topo.")
    created = ensure_topics(kafka_bootstrap, topics, 3)
    assert topics.raw in created and topics.validity in created
    assert ensure_topics(kafka_bootstrap, topics, 3) == []
    with pytest.raises(RuntimeError, match=f"{topics.raw} has 3 partitions"):
        ensure_topics(kafka_bootstrap, topics, 8)
