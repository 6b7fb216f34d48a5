"""The driver app's Kafka: requests out on ``driver.requests``, its updates from
``driver.updates``, both keyed by driver_id.

The consumer does not join a group: it assigns itself every partition of
``driver.updates`` at offsets it keeps in the state dir, so a restarted app reads
exactly the updates it missed (a group join on Tansu takes half a session timeout, and
Tansu forgets committed offsets when it restarts).  With no stored offset, or one the
broker no longer has, it starts at the partition's end as measured *before* the first
request goes out, so no answer can slip past; the StatusRequest sent on start covers
the rest.  Records whose key is not this driver's are skipped before decoding.

Kafka is first reached from a background thread (:meth:`KafkaClient.reached`), so that the
app's loop never blocks on a broker that is down; :meth:`KafkaClient.assign` follows in the
app's thread once it answered.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from typing import Any

import confluent_kafka
from confluent_kafka import KafkaError, KafkaException, TopicPartition
from confluent_kafka.admin import AdminClient

from protocol import driver as d
from protocol.errors import ProtocolError
from protocol.topics import DRIVER_REQUESTS, DRIVER_UPDATES, PARTITIONS
from runtime import backoff
from runtime.kafka import Producer, consumer_config, create_topics

log = logging.getLogger(__name__)

QUIET = {"log_level": 2}  # librdkafka's own connection errors: error_cb reports them once


@dataclass(frozen=True)
class Reached:
    """Kafka answered: its cluster id (None when it reported none) and its topics."""

    cluster_id: str | None
    topics: frozenset[str]


class KafkaClient:
    def __init__(self, bootstrap: str, driver_id: str,
                 offsets: dict[str, int] | None = None) -> None:
        self.bootstrap, self.driver_id = bootstrap, driver_id
        self._key = driver_id.encode()
        self.offsets = {int(p): int(o) for p, o in (offsets or {}).items()}
        self.offsets_changed = False
        self.down = False
        self._deliveries: list[tuple[str, bool]] = []
        self._consumer: confluent_kafka.Consumer | None = None
        self._admin: AdminClient | None = None
        self._reached: Reached | None = None
        self._asking = False
        self._closing = threading.Event()
        self._lock = threading.Lock()
        self._producer = Producer(bootstrap, **QUIET)

    # -- reachability, logged once per change ---------------------------------------
    def _on_error(self, error: KafkaError) -> None:
        if error.code() in (KafkaError._ALL_BROKERS_DOWN, KafkaError._TRANSPORT):
            self.report_down()
        else:
            log.debug("Kafka: %s", error.str())

    def report_down(self) -> None:
        if not self.down:
            self.down = True
            log.warning("cannot reach Kafka at %s, retrying", self.bootstrap)

    def _report_up(self) -> None:
        if self.down:
            self.down = False
            log.info("reached Kafka at %s again", self.bootstrap)

    # -- start ------------------------------------------------------------------------
    def reached(self) -> Reached | None:
        """Kafka's cluster once it answered, else None.  Never blocks: a background
        thread asks (again and again, backing off) while the caller goes on, so the
        person can quit at once while Kafka is down."""
        with self._lock:
            if self._reached is None and not self._asking and not self._closing.is_set():
                self._asking = True
                threading.Thread(target=self._ask, daemon=True, name="kafka-reach").start()
            return self._reached

    def _ask(self) -> None:
        admin = None
        delays = backoff.delays(0.5, 3.0)
        while not self._closing.is_set():
            try:
                if admin is None:
                    admin = AdminClient({
                        "bootstrap.servers": self.bootstrap, "error_cb": self._on_error,
                        "socket.connection.setup.timeout.ms": 3000,
                        "reconnect.backoff.max.ms": 1000, **QUIET})
                meta = admin.list_topics(timeout=3)
            except KafkaException as error:
                delay = next(delays)
                log.debug("Kafka did not answer (%s): asking again in %.1f s", error, delay)
                self.report_down()
                self._closing.wait(delay)
                continue
            with self._lock:
                self._admin = admin
                self._reached = Reached(meta.cluster_id or None, frozenset(meta.topics))
                self._asking = False
            return

    def assign(self) -> bool:
        """After :meth:`reached`: make sure the topics exist and assign the partitions.
        False (and :meth:`reached` asks again) if Kafka failed half-way."""
        reached, self._reached = self._reached, None
        assert reached is not None and self._admin is not None, "reached() first"
        try:
            self._assign(reached.topics)
        except KafkaException as error:
            log.debug("Kafka: %s", error)
            self.report_down()
            return False
        self._report_up()
        return True

    def _assign(self, topics: frozenset[str]) -> None:
        missing = [t for t in (DRIVER_REQUESTS, DRIVER_UPDATES) if t not in topics]
        if missing:
            log.info("creating Kafka topics %s", ", ".join(missing))
            create_topics(self._admin, missing, PARTITIONS)
        if self._consumer is None:
            config = consumer_config(self.bootstrap, f"driver-{self.driver_id}",
                                     error_cb=self._on_error, **QUIET)
            self._consumer = confluent_kafka.Consumer(config)
        meta = self._consumer.list_topics(DRIVER_UPDATES, timeout=3).topics.get(DRIVER_UPDATES)
        if meta is None or meta.error is not None or not meta.partitions:
            raise KafkaException(KafkaError(KafkaError.UNKNOWN_TOPIC_OR_PART,
                                            f"{DRIVER_UPDATES} has no partitions yet"))
        assignment = []
        for partition in sorted(meta.partitions):
            low, high = self._consumer.get_watermark_offsets(
                TopicPartition(DRIVER_UPDATES, partition), timeout=3, cached=False)
            stored = self.offsets.get(partition)
            start = stored if stored is not None and low <= stored <= high else high
            self.offsets[partition] = start
            assignment.append(TopicPartition(DRIVER_UPDATES, partition, start))
        self._consumer.assign(assignment)
        self.offsets_changed = True
        log.info("following %s for driver %s (%d partitions)", DRIVER_UPDATES,
                 self.driver_id, len(assignment))

    # -- traffic ----------------------------------------------------------------------
    def send(self, message: d.DriverMessage) -> None:
        message_id = message.id

        def delivered(error: KafkaError | None, _msg: Any) -> None:
            self._deliveries.append((message_id, error is None))
            if error is None:
                self._report_up()
            else:
                log.debug("request %s not delivered: %s", message_id, error.str())

        self._producer.produce(DRIVER_REQUESTS, self._key, d.encode(message), delivered)

    def poll(self, timeout: float) -> list[d.DriverMessage]:
        """This driver's updates that arrived within ``timeout`` seconds."""
        self._producer.poll(0)
        assert self._consumer is not None, "connect() first"
        updates = []
        for record in self._consumer.consume(100, timeout):
            if record.error() is not None:
                if record.error().code() != KafkaError._PARTITION_EOF:
                    log.debug("Kafka: %s", record.error().str())
                continue
            self._report_up()
            self.offsets[record.partition()] = record.offset() + 1
            self.offsets_changed = True
            if record.key() != self._key:
                continue
            try:
                updates.append(d.decode_update(record.value() or b""))
            except ProtocolError as error:
                log.warning("ignored a malformed update at offset %d: %s",
                            record.offset(), error)
        return updates

    def deliveries(self) -> list[tuple[str, bool]]:
        """(request id, delivered) pairs reported since the last call."""
        done, self._deliveries = self._deliveries, []
        return done

    def close(self) -> None:
        """Flush what is queued (2 s at most) and close.  A metadata request still under
        way in the background is left to end with the process."""
        self._closing.set()
        self._producer.flush(2)
        if self._consumer is not None:
            self._consumer.close()
