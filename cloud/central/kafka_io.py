"""Central's thin Kafka adapter: ``cp.events``, ``cp.telemetry`` and ``driver.requests``
in, ``driver.updates`` and ``deadletter`` out; ``deadletter`` in too, for what the bridge
refused (counted, and audited as input refused with the bridge's reason: the Errors
panel shows it; Central's own dead letters were audited when it wrote them).

One thread owns the consumer (group ``central``, manual commits) and probes the broker
every second.  A batch (:mod:`cloud.central.kafka_pace`: the first record waited for up
to 0.1 s, then up to 499 more already fetched) is decoded 50 records at a time, a CP's
record opened with its key, and handled record by record
(:mod:`cloud.central.kafka_intake`: what is malformed, does not open or is a CP's
message again goes to ``deadletter`` with the reason, and is audited; the rest is
routed by its type to the Fleet or the driver desk, whose SQLite writes are done when
they return); only then are the batch's offsets committed.  A record whose handling
fails is read again (three tries, then dead-lettered).  The thread's CPU time spent
handling batches is ``kafka_handling_cpu_seconds_total`` in ``/metrics``: records per
CPU second is what the data plane can take.

An unreachable broker is one log line and a degraded dashboard, never a crash: the
control plane and the dashboard go on.  When the broker answers again, or when it comes
back without our topics (Tansu forgets everything on restart), the topics are created
and the consumer is rebuilt so it rejoins its group; a consumer that keeps failing is
rebuilt too (and the dashboard shows Central degraded meanwhile).  The producer
(:class:`runtime.kafka.Producer`, not idempotent here: see ``__init__``) reconnects by
itself; :class:`~cloud.central.kafka_out.Sender` sends again what it could not deliver.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

import confluent_kafka
from confluent_kafka import KafkaError, KafkaException, TopicPartition
from confluent_kafka.admin import AdminClient

from cloud.central.kafka_intake import Intake, Reread
from cloud.central.kafka_out import Sender
from cloud.central.kafka_pace import BATCH, BATCH_WAIT, rest_after
from protocol import driver as d
from protocol.topics import (
    CP_EVENTS,
    CP_TELEMETRY,
    DEADLETTER,
    DRIVER_REQUESTS,
    DRIVER_UPDATES,
    KAFKA_TOPICS,
    PARTITIONS,
)
from runtime.kafka import Producer, consumer_config, create_topics

log = logging.getLogger(__name__)
# librdkafka's own connection chatter ("Connect to ... failed") stays out of the logs:
# reachability is reported once per outage by the probe.
RDKAFKA_LOG = logging.getLogger("cloud.central.rdkafka")
RDKAFKA_LOG.setLevel(logging.CRITICAL)

GROUP = "central"
TOPICS_IN = (CP_EVENTS, CP_TELEMETRY, DRIVER_REQUESTS, DEADLETTER)
PROBE_EVERY, PROBE_TIMEOUT = 1.0, 1.0
STUCK_AFTER = 10.0  # consumer errors this long while the broker answers: rebuild it
CLOSE_WAIT = 0.5  # seconds a consumer may take to leave its group before it is left to it


class KafkaIO:
    def __init__(self, fleet, bootstrap: str, producer: Any = None, admin: Any = None) -> None:
        self.fleet = fleet
        self.bootstrap = bootstrap
        # Not idempotent: librdkafka's idempotent producer never recovers from a broker
        # that forgot its producer id (it bumps its epoch forever).  Updates and dead
        # letters carry their own ids, so a duplicate after a retry is harmless.
        self.producer = producer or Producer(bootstrap, logger=RDKAFKA_LOG,
                                             **{"enable.idempotence": False})
        self.sender = Sender(self.producer)
        self.intake = Intake(fleet, self.sender, self.send_update)
        self.admin = admin or AdminClient({
            "bootstrap.servers": bootstrap, "logger": RDKAFKA_LOG,
            "socket.connection.setup.timeout.ms": 3000, "reconnect.backoff.max.ms": 1000})
        self.up: bool | None = None  # as the dashboard shows it: reachable and not failing
        self._reachable: bool | None = None  # the broker answered the last probe
        self._failing_since: float | None = None  # the consumer kept failing: degraded
        self._consumer: confluent_kafka.Consumer | None = None
        self._errors_since: float | None = None
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="kafka", daemon=True)

    def start(self) -> KafkaIO:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        self._thread.join(10)

    # -- out -------------------------------------------------------------------------
    def send_update(self, update: d.DriverMessage) -> None:
        self.sender.send(DRIVER_UPDATES, update.driver_id, d.encode(update))

    # -- the loop ----------------------------------------------------------------------
    def _run(self) -> None:
        next_probe = 0.0
        try:
            while not self._stopping.is_set():
                try:
                    if time.monotonic() >= next_probe:
                        self._probe()
                        next_probe = time.monotonic() + PROBE_EVERY
                    if self._reachable:
                        self.sender.resend_failed()
                        self._consume()
                    else:
                        self._stopping.wait(0.2)
                    self.producer.poll(0)
                except Exception:
                    log.exception("Kafka loop failed; rebuilding the consumer")
                    self._failing(time.monotonic())
                    self._drop_consumer(leave=False)
                    self._stopping.wait(1.0)
        finally:
            self._drop_consumer()
            self.producer.flush(2)

    def _probe(self) -> None:
        try:
            topics = set(self.admin.list_topics(timeout=PROBE_TIMEOUT).topics)
        except KafkaException:
            self._reachable = False
            self._show()
            return
        missing = [topic for topic in KAFKA_TOPICS if topic not in topics]
        if missing:
            self._create(missing)
        if missing or self._reachable is False:
            self._drop_consumer(leave=False)  # a new one rejoins from what is committed
        self._reachable = True
        self._show()

    def _show(self) -> None:
        """Tell the Fleet (banner, /healthz, one log line) when Kafka's health changes."""
        up = bool(self._reachable) and self._failing_since is None
        if up != self.up:
            self.fleet.set_kafka(up, self.bootstrap)
            self.up = up

    def _failing(self, now: float) -> None:
        self._failing_since = now
        self._show()

    def _create(self, topics: list[str]) -> None:
        log.info("creating Kafka topics %s", ", ".join(topics))
        create_topics(self.admin, topics, PARTITIONS, wait=5)

    def _consumer_now(self) -> confluent_kafka.Consumer:
        if self._consumer is None:
            config = consumer_config(self.bootstrap, GROUP, logger=RDKAFKA_LOG,
                                     error_cb=lambda e: log.debug("consumer: %s", e.str()))
            self._consumer = confluent_kafka.Consumer(config)
            self._consumer.subscribe(list(TOPICS_IN))
            self._errors_since = None
        return self._consumer

    def _drop_consumer(self, leave: bool = True) -> None:
        """Let the consumer go, leaving its group only while the broker is well: after an
        outage ``close()`` can hang in the rebalance callback with the GIL held
        (librdkafka #4041), freezing all of Central.  Unreferenced, it is destroyed
        without the group close and without the GIL."""
        consumer, self._consumer = self._consumer, None
        if consumer is None:
            return
        if not leave:
            del consumer
            log.debug("consumer dropped without leaving its group")
            return
        # Leaving takes no time while the broker answers; a broker stopping at the same
        # moment as Central (a whole network stopped at once) held Central 1.4 s and
        # more, so Central waits CLOSE_WAIT at most and lets the close finish alone.
        closer = threading.Thread(target=_close, args=(consumer,), name="kafka-close",
                                  daemon=True)
        closer.start()
        closer.join(CLOSE_WAIT)
        if closer.is_alive():
            log.debug("consumer still leaving its group after %.1f s: not waited for",
                      CLOSE_WAIT)

    def _consume(self) -> None:
        consumer = self._consumer_now()
        # wait for the first record only, then take what is already fetched: low latency
        # when traffic is light, batches when it is heavy
        first = consumer.poll(BATCH_WAIT)
        records = [] if first is None else [first, *consumer.consume(BATCH - 1, 0)]
        done: dict[tuple[str, int], int] = {}
        errors = [record.error() for record in records if record.error() is not None]
        busy_since, cpu_since = time.monotonic(), time.thread_time()
        try:
            for record in self.intake.handle_batch(
                    [record for record in records if record.error() is None]):
                done[(record.topic(), record.partition())] = record.offset() + 1
        except Reread:
            self._commit(consumer, done)
            self._drop_consumer()
            return
        finally:
            if records:  # what bounds the data plane's throughput: CPU per record
                self.fleet.count("kafka_handling_cpu_seconds", time.thread_time() - cpu_since)
        self._commit(consumer, done)
        now = time.monotonic()
        self._watch_errors(errors, now)
        self._stopping.wait(rest_after(len(records), now - busy_since))

    def _commit(self, consumer: confluent_kafka.Consumer, done: dict) -> None:
        if not done:
            return
        self.sender.flush_dead_letters()
        offsets = [TopicPartition(t, p, o) for (t, p), o in done.items()]
        try:
            consumer.commit(offsets=offsets, asynchronous=False)
        except KafkaException as error:
            log.info("offset commit failed (%s): those records will be read again",
                     error.args[0].str())

    def _watch_errors(self, errors: list[KafkaError], now: float) -> None:
        """A consumer in error for STUCK_AFTER seconds is rebuilt, and Central shows
        itself degraded until the consumer has been well for as long."""
        if not errors:
            self._errors_since = None
            if self._failing_since is not None and now - self._failing_since > STUCK_AFTER:
                self._failing_since = None
                self._show()
            return
        for error in errors:
            log.debug("consumer: %s", error.str())
        if self._errors_since is None:
            self._errors_since = now
        elif now - self._errors_since > STUCK_AFTER or any(e.fatal() for e in errors):
            log.warning("Kafka consumer failing (%s): rebuilding it", errors[-1].str())
            self._failing(now)
            self._drop_consumer(leave=False)


def _close(consumer: confluent_kafka.Consumer) -> None:
    started = time.monotonic()
    try:
        consumer.close()
    except (KafkaException, RuntimeError) as error:
        log.debug("closing the consumer: %s", error)
    log.debug("consumer closed in %.1f s", time.monotonic() - started)
