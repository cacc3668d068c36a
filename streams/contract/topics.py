"""Kafka topic names. One place, so every producer and reader agrees.

`PLATFORM_TOPIC_PREFIX` (default empty) prefixes every name; tests use it to run a whole
pipeline on a shared broker without seeing anybody else's records.
"""

from __future__ import annotations

import os
from dataclasses import dataclass


@dataclass(frozen=True)
class Topics:
    prefix: str = ""

    def _name(self, base: str) -> str:
        return f"{self.prefix}{base}"

    @property
    def raw(self) -> str:
        """Inbound CloudEvents from every channel; key: `routing_key()` of the event."""
        return self._name("events.raw")

    @property
    def deadletter(self) -> str:
        return self._name("events.deadletter")

    @property
    def validity(self) -> str:
        """Compacted; key: `validity_key(...)` or `clock_key(...)`."""
        return self._name("validity")

    @property
    def notifications(self) -> str:
        return self._name("notifications")

    @property
    def ledger(self) -> str:
        return self._name("ledger")

    @property
    def outcomes(self) -> str:
        return self._name("outcomes")

    @property
    def audit(self) -> str:
        return self._name("audit")

    def system(self, system: str) -> str:
        """Inbound events of one kind of system, keyed by the state owner."""
        return self._name(f"system.{system}")


def topics_from_env() -> Topics:
    return Topics(prefix=os.environ.get("PLATFORM_TOPIC_PREFIX", ""))
