"""The mobile operators' side of Niš SMS parking in a load test (NIS-9, NIS-12).

About three minutes after a charged SMS the operator tells the platform whether the
subscriber could pay; a rejection revokes the ticket. The verdict names the ticket's PIN,
which only the worker knows (it numbers tickets as it sells them), so the generator
cannot write verdicts in advance: `OperatorDesk` reads the worker's outcome records, and
for every SMS sale of this run answers with an `operator.verdict`, rejecting a share of
them (`operator_rejects` in the city's scenario table). Verdicts go back through the
run's sink via `DriveState.inject`, keyed like every other event.

Pure part: `verdict_for(outcome, sender, ...)` builds the event from one outcome record.
"""

from __future__ import annotations

import contextlib
import heapq
import json
import random
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from streams.contract import Event, make_event

VERDICT_DELAY = timedelta(minutes=3)  # NIS-9: "about 3 minutes after the SMS"
REJECT_REASONS = ("insufficient prepaid credit", "premium SMS barred", "subscriber suspended")


def verdict_for(
    outcome: dict[str, Any],
    sender: str,
    rng: random.Random,
    reject_share: float,
    id_prefix: str,
) -> Event | None:
    """The operator's verdict on one accepted SMS sale, or None for any other outcome."""
    facts = outcome.get("facts") or {}
    if outcome.get("type") != "sms.received" or outcome.get("outcome") != "accepted":
        return None
    pin = facts.get("pin")
    if not pin:
        return None
    rejected = rng.random() < reject_share
    at = datetime.fromisoformat(str(outcome["time"]).replace("Z", "+00:00"))
    at += VERDICT_DELAY + timedelta(seconds=rng.uniform(-40, 40))
    data: dict[str, Any] = {
        "msisdn": sender,
        "plate": str(outcome["owner"]),
        "pin": str(pin),
        "accepted": not rejected,
    }
    if rejected:
        data["reason"] = rng.choice(REJECT_REASONS)
    return make_event(
        "operator.verdict",
        str(outcome["city"]),
        data,
        at,
        id=f"{id_prefix}-verdict-{outcome['id']}",
        source=f"urn:loadtest:operator:{facts.get('operator', 'op')}",
    )


class OperatorDesk(threading.Thread):
    """Answers this run's SMS sales from the outcomes topic (see module docstring).

    `senders` maps an SMS event id to its sender's number; the generator fills it
    (`Traffic.sms_senders`). `inject(event)` hands a verdict to the driver.
    """

    def __init__(
        self,
        bootstrap: str,
        outcomes_topic: str,
        senders: dict[str, str],
        inject: Callable[[Event], None],
        *,
        reject_share: dict[str, float],
        id_prefix: str,
        seed: int,
        wall_clock: bool = False,
    ) -> None:
        super().__init__(name="loadtest-operator", daemon=True)
        from kafka import KafkaConsumer

        self.consumer = KafkaConsumer(
            outcomes_topic,
            bootstrap_servers=bootstrap,
            client_id="loadtest-operator",
            auto_offset_reset="latest",
            enable_auto_commit=False,
            group_id=None,
        )
        self.consumer.poll(timeout_ms=1000)  # join now: read every outcome from here on
        self.senders = senders
        self.inject = inject
        self.reject_share = reject_share
        self.id_prefix = id_prefix
        self.rng = random.Random(f"operator:{seed}")
        self.accepted = 0
        self.rejected = 0
        self.stopping = threading.Event()
        # On the wall clock a verdict is sent when its time comes (3 minutes later), not
        # ahead of it; on a simulated clock it goes out at once with its event time.
        self.wall_clock = wall_clock
        self._due: list[tuple[datetime, str, Event]] = []

    def run(self) -> None:
        while not self.stopping.is_set():
            with contextlib.suppress(Exception):
                for records in self.consumer.poll(timeout_ms=300).values():
                    for record in records:
                        self._answer(record.value)
            now = datetime.now(UTC)
            while self._due and self._due[0][0] <= now:
                self.inject(heapq.heappop(self._due)[2])

    def _answer(self, raw: bytes) -> None:
        try:
            outcome = json.loads(raw)
        except ValueError:
            return
        sender = self.senders.pop(str(outcome.get("id")), None)
        share = self.reject_share.get(str(outcome.get("city")))
        if sender is None or share is None:
            return  # not an SMS of this run, or not a city whose operators answer
        verdict = verdict_for(outcome, sender, self.rng, share, self.id_prefix)
        if verdict is None:
            return
        if verdict.data.accepted:  # type: ignore[attr-defined]
            self.accepted += 1
        else:
            self.rejected += 1
        if self.wall_clock:
            heapq.heappush(self._due, (verdict.time, verdict.id, verdict))
        else:
            self.inject(verdict)

    def stop(self) -> None:
        self.stopping.set()
        self.join(timeout=5)
        with contextlib.suppress(Exception):
            self.consumer.close()
