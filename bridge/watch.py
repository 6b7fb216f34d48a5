"""Is Kafka reachable, and are the bridge's topics there?  One thread asks.

A Kafka broker that restarts empty (Tansu keeps everything in memory) has no topics;
producing to them fails.  The watch recreates them, at start, every few seconds and at
once when the relayer reports a missing topic.  It logs one line per outage.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from confluent_kafka import KafkaException
from confluent_kafka.admin import AdminClient

from protocol.topics import CP_EVENTS, CP_TELEMETRY, DEADLETTER, PARTITIONS
from runtime.kafka import create_topics

log = logging.getLogger(__name__)

TOPICS = (CP_EVENTS, CP_TELEMETRY, DEADLETTER)


class KafkaWatch:
    def __init__(self, bootstrap: str, on_change: Callable[[bool], None] = lambda up: None,
                 topics: tuple[str, ...] = TOPICS, partitions: int = PARTITIONS,
                 every: float = 2.0, when_down: float = 1.0) -> None:
        self.bootstrap, self.topics, self.partitions = bootstrap, topics, partitions
        self.up: bool | None = None  # unknown until the first probe
        self._on_change = on_change
        self._every, self._when_down = every, when_down
        self._admin = AdminClient({
            "bootstrap.servers": bootstrap, "socket.connection.setup.timeout.ms": 2000,
            "reconnect.backoff.max.ms": 1000, "logger": logging.getLogger("librdkafka")})
        self._wake = threading.Event()
        self._closed = threading.Event()
        self._thread = threading.Thread(target=self._run, name="kafka-watch", daemon=True)

    def start(self) -> KafkaWatch:
        self._thread.start()
        return self

    def wake(self) -> None:
        """Check now (a produce failed on a missing topic)."""
        self._wake.set()

    def stop(self) -> None:
        self._closed.set()
        self._wake.set()
        self._thread.join(3)

    def _run(self) -> None:
        while not self._closed.is_set():
            self.check()
            self._wake.wait(self._every if self.up else self._when_down)
            self._wake.clear()

    def check(self) -> None:
        try:
            existing = set(self._admin.list_topics(timeout=2).topics)
        except KafkaException:
            self._set(False)
            return
        self._set(True)
        missing = [t for t in self.topics if t not in existing]
        if missing:
            self._create(missing)

    def _create(self, missing: list[str]) -> None:
        made = create_topics(self._admin, missing, self.partitions, operation_timeout=5)
        if made:
            log.info("created Kafka topics %s", ", ".join(sorted(made)))

    def _set(self, up: bool) -> None:
        if up == self.up:
            return
        if up:
            log.info("%s Kafka at %s", "reached" if self.up is None else "reached again",
                     self.bootstrap)
        else:
            log.warning("cannot reach Kafka at %s, retrying", self.bootstrap)
        self.up = up
        self._on_change(up)
