"""The Kafka shell: produce each routed record until Kafka has it, then say so.

:class:`Relayer` owns a :class:`runtime.kafka.Producer`.  It has no thread of its own:
the bridge's single I/O thread calls :meth:`Relayer.submit` for each MQTT message and
:meth:`Relayer.pump` between reads, which serves delivery reports, re-produces failed
records whose backoff is over and rebuilds a stalled producer.  One thread for MQTT and
Kafka means no locks and no cross-thread wake-ups on the per-message path.

A record is given up only when its ``is_live(token)`` turns false (the MQTT session it
came from is gone, so the broker will deliver it again); otherwise it is retried for as
long as it takes.  The caller hears ``on_delivered(token)`` once Kafka confirmed the
record (in one burst per :meth:`pump`): only then may the MQTT message be acknowledged.
While :attr:`Relayer.full` (``max_in_flight`` records await Kafka) the caller stops
reading.

Delivery reports never produce (the producer may run them inside ``produce``); they
queue the record, which :meth:`pump` re-produces when its backoff is over.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import Any

from confluent_kafka import KafkaError, KafkaException

from bridge.route import Relay
from protocol.topics import DEADLETTER
from runtime.kafka import Producer

log = logging.getLogger(__name__)

MISSING_TOPIC = (KafkaError.UNKNOWN_TOPIC_OR_PART, KafkaError._UNKNOWN_TOPIC)
FIRST_RETRY, MAX_RETRY = 0.2, 5.0
STALL = 5.0  # s without a delivery report while Kafka answers: rebuild the producer


@dataclass
class Counters:
    relayed: int = 0
    deadlettered: int = 0
    retried: int = 0
    in_flight: int = 0
    kafka_up: bool = False

    def snapshot(self) -> dict[str, int]:
        return {"relayed_total": self.relayed, "deadlettered_total": self.deadlettered,
                "retried_total": self.retried, "in_flight": self.in_flight,
                "kafka_up": int(self.kafka_up)}


@dataclass(slots=True)
class InFlight:
    """A relayed MQTT message not yet confirmed by Kafka (its PUBACK waits for that)."""

    record: Relay
    token: Hashable
    attempts: int = 0


@dataclass(order=True)
class _Due:
    at: float
    seq: int
    item: InFlight = field(compare=False)


def retry_delay(attempts: int) -> float:
    """0.2 s doubling up to 5 s: quick after a blip, gentle during an outage."""
    return min(MAX_RETRY, FIRST_RETRY * 2 ** max(0, attempts - 1))


class Relayer:
    def __init__(self, bootstrap: str, on_delivered: Callable[[Hashable], None],
                 is_live: Callable[[Hashable], bool] = lambda token: True,
                 on_missing_topic: Callable[[], None] = lambda: None,
                 max_in_flight: int = 2000, producer: Any = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.bootstrap = bootstrap
        self.counters = Counters()
        self._producer = producer or Producer(
            bootstrap, logger=logging.getLogger("librdkafka"),
            **{"queue.buffering.max.messages": 100000})
        self._on_delivered, self._is_live = on_delivered, is_live
        self._on_missing_topic = on_missing_topic
        self._max = max_in_flight
        self._clock = clock
        self._due: list[_Due] = []  # records waiting for their retry
        self._outstanding: dict[int, InFlight] = {}  # produce attempts awaiting a report
        self._confirmed: list[Hashable] = []
        self._seq = itertools.count()
        self._failing = False
        self._progress_at = clock()  # last delivery report, or when work arrived

    def start(self) -> Relayer:
        return self

    @property
    def full(self) -> bool:
        """``max_in_flight`` records await Kafka: stop reading until :meth:`pump` frees room."""
        return self.counters.in_flight >= self._max

    @property
    def outstanding(self) -> int:
        """Produce attempts awaiting their delivery report."""
        return len(self._outstanding)

    def submit(self, record: Relay, token: Hashable) -> None:
        """Produce ``record``; never blocks (the caller respects :attr:`full`)."""
        counters = self.counters
        if counters.in_flight == 0:
            self._progress_at = self._clock()
        counters.in_flight += 1
        self._produce(InFlight(record, token))

    def pump(self, timeout: float = 0.0) -> None:
        """Serve delivery reports (waiting up to ``timeout`` s for the first), tell the
        caller what Kafka confirmed, retry what is due, rebuild a stalled producer."""
        self._producer.poll(timeout)
        self._confirm()
        if self._due:
            self._retry_due()
        self._check_stall()

    def quiet_for(self) -> float:
        """Seconds since the last delivery report (or since work arrived)."""
        return self._clock() - self._progress_at

    def next_due(self) -> float | None:
        """When the earliest retry is due (clock time), or None."""
        return self._due[0].at if self._due else None

    def _confirm(self) -> None:
        """Tell the caller, in one burst per poll."""
        confirmed = self._confirmed
        if confirmed:
            self._confirmed = []
            on_delivered = self._on_delivered
            for token in confirmed:
                on_delivered(token)

    def _check_stall(self) -> None:
        """After a restart that lost its state, Kafka answers UNKNOWN_PRODUCER_ID and
        librdkafka bumps the epoch and retries, silently, until message.timeout.ms; the
        producer never recovers by itself.  Rebuild it: its records fail back to us."""
        if not self._outstanding or not self.counters.kafka_up:
            return
        now = self._clock()
        if now - self._progress_at < STALL:
            return
        log.warning("Kafka at %s confirmed nothing for %.0f s: rebuilding the producer",
                    self.bootstrap, now - self._progress_at)
        self._progress_at = now
        # the attempts still outstanding are given up here and sent again; their late
        # callbacks from the old producer are ignored
        lost, self._outstanding = list(self._outstanding.values()), {}
        self._producer.renew(f"nothing confirmed for {STALL:.0f} s")
        for item in lost:
            heapq.heappush(self._due, _Due(now, next(self._seq), item))

    def _retry_due(self) -> None:
        now = self._clock()
        due = self._due
        while due and due[0].at <= now:
            item = heapq.heappop(due).item
            if self._is_live(item.token):
                self.counters.retried += 1
                self._produce(item)
            else:
                self._done()

    def _produce(self, item: InFlight) -> None:
        record = item.record
        attempt = next(self._seq)
        self._outstanding[attempt] = item

        def delivered(error: KafkaError | None, msg: object) -> None:
            self._delivered(item, attempt, error)

        try:
            self._producer.produce(record.kafka_topic, record.key, record.value, delivered)
        except KafkaException as error:
            self._delivered(item, attempt, error.args[0])

    def _delivered(self, item: InFlight, attempt: int, error: KafkaError | None) -> None:
        """A delivery report: from :meth:`pump`, or from ``produce`` while it waits for
        room in the producer's queue."""
        if self._outstanding.pop(attempt, None) is None:
            return  # an attempt given up with a rebuilt producer, already re-sent
        self._progress_at = self._clock()
        if error is None:
            counters = self.counters
            if self._failing:
                self._failing = False
                log.info("Kafka at %s takes messages again", self.bootstrap)
            counters.kafka_up = True
            if item.record.kafka_topic == DEADLETTER:
                counters.deadlettered += 1
            else:
                counters.relayed += 1
            counters.in_flight -= 1
            self._confirmed.append(item.token)  # acked in a batch after this poll
            return
        if not self._failing:
            self._failing = True
            log.warning("Kafka did not take a message (%s): keeping it unacknowledged "
                        "and retrying", error.str())
        if error.code() in MISSING_TOPIC:
            self._on_missing_topic()
        item.attempts += 1
        at = self._clock() + retry_delay(item.attempts)
        heapq.heappush(self._due, _Due(at, next(self._seq), item))

    def _done(self) -> None:
        self.counters.in_flight -= 1

    # -- shutdown -------------------------------------------------------------------
    def stop(self, timeout: float = 5.0) -> int:
        """Flush what is in flight for up to ``timeout`` s; return how many are left.
        Only for callers without an I/O loop of their own (the bridge drains itself)."""
        deadline = self._clock() + timeout
        while self._outstanding and self._clock() < deadline:
            self.pump(0.02)
        return self.counters.in_flight
