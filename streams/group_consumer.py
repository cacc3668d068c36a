"""Group consumers (kafka-python) that cannot lose a rebalance half-way.

kafka-python 3.0.x (3.0.12 is pinned) runs a group join as a task on its IO thread and
`poll(timeout_ms)` only waits for it as long as the poll's own timer allows. When the
timer runs out first, the task stays in flight and the next poll is meant to pick up
its result — but only while `need_rejoin()` is still true. For the group leader after a
*metadata* change (the usual case: a consumer subscribes to topics that were created a
moment earlier, joins with no partitions, then rejoins once their metadata arrives) the
assignment step inside that task already makes `need_rejoin()` false. The result of the
join is then never applied: the member stays in the group with no partitions, fetches
nothing and never rejoins by itself. kafka-python 2.x guarded this with
`_rejoin_incomplete()`; 3.0 lost it.

We met it as a sink that read nothing for minutes after start (about one start in two on
a loaded machine) and a test reader that never saw the worker's output. The guard below
restores the 2.x rule: a join that has started and not been applied still needs a rejoin.
A join that finished unseen is then simply done again (one extra rebalance, no loss: the
consumer had no partitions, so nothing was read or committed meanwhile).
"""

from __future__ import annotations

from typing import Any

from kafka import KafkaConsumer


def guard_rejoin(consumer: KafkaConsumer) -> KafkaConsumer:
    """Make `consumer` finish every group join it starts (see the module docstring)."""
    coordinator = getattr(consumer, "_coordinator", None)
    if coordinator is None or not hasattr(coordinator, "_join_task"):
        return consumer  # another kafka-python line: nothing to guard
    need_rejoin = coordinator.need_rejoin

    def need_rejoin_or_unfinished_join() -> bool:
        return bool(need_rejoin()) or coordinator._join_task is not None

    coordinator.need_rejoin = need_rejoin_or_unfinished_join
    return consumer


def group_consumer(*topics: str, **config: Any) -> KafkaConsumer:
    """A `KafkaConsumer` in a group (`group_id` in `config`) with the rejoin guard."""
    return guard_rejoin(KafkaConsumer(*topics, **config))
