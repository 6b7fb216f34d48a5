"""The Kafka shell: produce each routed record until Kafka has it, then say so.

:class:`Relayer` owns a :class:`runtime.kafka.Producer` and one thread that serves its
delivery reports and re-produces failed records with backoff.  A record is given up only
when its ``is_live(token)`` turns false (the MQTT session it came from is gone, so the
broker will deliver it again); otherwise it is retried for as long as it takes.  The
caller hears ``on_delivered(token)`` once Kafka confirmed the record: only then may the
MQTT message be acknowledged.

Delivery reports never produce (the producer may run them under its own lock); they
queue the record for the thread, which re-produces it when its backoff is over.
"""

from __future__ import annotations

import collections
import heapq
import itertools
import logging
import threading
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
class Pending:
    record: Relay
    token: Hashable
    attempts: int = 0


@dataclass(order=True)
class _Due:
    at: float
    seq: int
    item: Pending = field(compare=False)


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
        self._room = threading.Condition()
        self._due: list[_Due] = []  # records waiting for their retry, under _lock
        self._outstanding: dict[int, Pending] = {}  # produce attempts awaiting a report
        self._confirmed: collections.deque[Hashable] = collections.deque()
        self._lock = threading.Lock()
        self._seq = itertools.count()
        self._failing = False
        self._progress_at = clock()  # last delivery report, or when work arrived
        self._closed = threading.Event()
        self._thread = threading.Thread(target=self._serve, name="kafka", daemon=True)

    def start(self) -> Relayer:
        self._thread.start()
        return self

    # -- called from the MQTT thread --------------------------------------------
    def submit(self, record: Relay, token: Hashable) -> None:
        """Produce ``record``; blocks while ``max_in_flight`` records await Kafka."""
        with self._room:
            while self.counters.in_flight >= self._max and not self._closed.is_set():
                self._room.wait(0.5)
            if self.counters.in_flight == 0:
                self._progress_at = self._clock()
            self.counters.in_flight += 1
        self._produce(Pending(record, token))

    # -- the Kafka thread ---------------------------------------------------------
    def _serve(self) -> None:
        while not self._closed.is_set():
            wait = 0.1
            with self._lock:
                if self._due:
                    wait = min(wait, max(0.0, self._due[0].at - self._clock()))
            self._producer.poll(wait)
            self._confirm()
            self._retry_due()
            self._check_stall()
        self._confirm()

    def _confirm(self) -> None:
        """Tell the caller, in one burst per poll: the MQTT thread wakes once for many."""
        confirmed = self._confirmed
        while confirmed:
            self._on_delivered(confirmed.popleft())

    def _check_stall(self) -> None:
        """After a restart that lost its state, Kafka answers UNKNOWN_PRODUCER_ID and
        librdkafka bumps the epoch and retries, silently, until message.timeout.ms; the
        producer never recovers by itself.  Rebuild it: its records fail back to us."""
        now = self._clock()
        if not self._outstanding or not self.counters.kafka_up or now - self._progress_at < STALL:
            return
        log.warning("Kafka at %s confirmed nothing for %.0f s: rebuilding the producer",
                    self.bootstrap, now - self._progress_at)
        self._progress_at = now
        # the attempts still outstanding are given up here and sent again; their late
        # callbacks from the old producer are ignored
        self._producer.renew(f"nothing confirmed for {STALL:.0f} s")
        with self._lock:
            lost, self._outstanding = list(self._outstanding.values()), {}
            for item in lost:
                heapq.heappush(self._due, _Due(now, next(self._seq), item))

    def _retry_due(self) -> None:
        now = self._clock()
        while True:
            with self._lock:
                if not self._due or self._due[0].at > now:
                    return
                item = heapq.heappop(self._due).item
            if self._is_live(item.token):
                self.counters.retried += 1
                self._produce(item)
            else:
                self._done()

    def _produce(self, item: Pending) -> None:
        record = item.record
        with self._lock:
            attempt = next(self._seq)
            self._outstanding[attempt] = item

        def delivered(error: KafkaError | None, msg: object) -> None:
            self._delivered(item, attempt, error)

        try:
            self._producer.produce(record.kafka_topic, record.key, record.value, delivered)
        except KafkaException as error:
            self._delivered(item, attempt, error.args[0])

    def _delivered(self, item: Pending, attempt: int, error: KafkaError | None) -> None:
        """A delivery report: on the Kafka thread, or on the MQTT thread while produce()
        waits for room in the producer's queue."""
        with self._lock:
            if self._outstanding.pop(attempt, None) is None:
                return  # an attempt given up with a rebuilt producer, already re-sent
        self._progress_at = self._clock()
        if error is None:
            if self._failing:
                self._failing = False
                log.info("Kafka at %s takes messages again", self.bootstrap)
            self.counters.kafka_up = True
            if item.record.kafka_topic == DEADLETTER:
                self.counters.deadlettered += 1
            else:
                self.counters.relayed += 1
            self._done()
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
        with self._lock:
            heapq.heappush(self._due, _Due(at, next(self._seq), item))

    def _done(self) -> None:
        with self._room:
            self.counters.in_flight -= 1
            self._room.notify()

    # -- shutdown -------------------------------------------------------------------
    def stop(self, timeout: float = 5.0) -> int:
        """Flush what is in flight for up to ``timeout`` s; return how many are left."""
        deadline = self._clock() + timeout
        while self._outstanding and self._clock() < deadline:
            time.sleep(0.02)  # the Kafka thread keeps serving delivery reports
        self._closed.set()
        with self._room:
            self._room.notify_all()
        self._thread.join(2)
        return self.counters.in_flight
