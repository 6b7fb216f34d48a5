"""Kafka clients as every service here wants them (confluent-kafka).

- Producers are idempotent with ``acks=all``.  A broker that restarts and forgets its
  state (Tansu keeps everything in memory) makes an idempotent producer fail fatally
  with UNKNOWN_PRODUCER_ID; :class:`Producer` then builds a new one and hands the
  failed message back through its delivery callback so the caller can retry it.
- Consumers commit offsets by hand, after the work is durable.  Group timings come
  from ``EV_KAFKA_SESSION_MS`` (default 6000; tests use 2000): a Tansu group join
  takes about half the session timeout.
- Topics are (re)created on start and after a broker restart.

Nothing here depends on Tansu's bugs: the same settings suit Apache Kafka.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from typing import Any

import confluent_kafka
from confluent_kafka import KafkaError, KafkaException

log = logging.getLogger(__name__)

Delivery = Callable[[KafkaError | None, Any], None]


def session_ms() -> int:
    return int(os.environ.get("EV_KAFKA_SESSION_MS", "6000"))


def producer_config(bootstrap: str, **overrides: Any) -> dict[str, Any]:
    return {
        "bootstrap.servers": bootstrap,
        "enable.idempotence": True,
        "acks": "all",
        "linger.ms": 2,
        "message.timeout.ms": 30000,
        "reconnect.backoff.max.ms": 1000,
        "socket.connection.setup.timeout.ms": 3000,
        **overrides,
    }


def consumer_config(bootstrap: str, group: str, **overrides: Any) -> dict[str, Any]:
    session = session_ms()
    return {
        "bootstrap.servers": bootstrap,
        "group.id": group,
        "enable.auto.commit": False,
        "auto.offset.reset": "earliest",
        "session.timeout.ms": session,
        "heartbeat.interval.ms": max(250, session // 6),
        "fetch.wait.max.ms": 20,
        "reconnect.backoff.max.ms": 1000,
        "socket.connection.setup.timeout.ms": 3000,
        "topic.metadata.refresh.interval.ms": 5000,
        **overrides,
    }


def is_fatal(error: KafkaError | None) -> bool:
    return error is not None and (error.fatal() or
                                  error.code() == KafkaError.UNKNOWN_PRODUCER_ID)


class Producer:
    """An idempotent producer that replaces itself after a fatal error.

    ``produce(topic, key, value, on_delivery)``: ``on_delivery(error, msg)`` is called
    from :meth:`poll` once the broker confirmed (error None) or gave up.  After a fatal
    error the producer is rebuilt; messages that were in flight fail with that error and
    their callers retry them (the bridge keeps them unacknowledged on MQTT until then).
    """

    def __init__(self, bootstrap: str, **overrides: Any) -> None:
        self._config = producer_config(bootstrap, **overrides)
        self._lock = threading.Lock()
        self._fatal = False
        self.recreated = 0
        self._producer = self._build()

    def _build(self) -> confluent_kafka.Producer:
        config = {**self._config, "error_cb": self._on_error}
        return confluent_kafka.Producer(config)

    def _on_error(self, error: KafkaError) -> None:
        if is_fatal(error):
            log.warning("Kafka producer failed fatally (%s): it will be rebuilt", error.str())
            self._fatal = True
        elif error.code() in (KafkaError._ALL_BROKERS_DOWN, KafkaError._TRANSPORT):
            log.debug("Kafka: %s", error.str())

    def produce(self, topic: str, key: str | bytes | None, value: bytes,
                on_delivery: Delivery) -> None:
        def delivered(error: KafkaError | None, msg: Any) -> None:
            if is_fatal(error):
                self._fatal = True
            on_delivery(error, msg)

        with self._lock:
            if self._fatal:
                self._renew_if_fatal()
            while True:
                try:
                    self._producer.produce(topic, value=value, key=key, on_delivery=delivered)
                    return
                except BufferError:
                    self._producer.poll(0.05)
                except KafkaException as error:
                    if not is_fatal(error.args[0]):
                        raise
                    self._fatal = True
                    self._renew_if_fatal()

    def poll(self, timeout: float = 0.0) -> int:
        served = self._producer.poll(timeout)
        if self._fatal:  # checked again under the lock
            with self._lock:
                self._renew_if_fatal()
        return served

    def flush(self, timeout: float = 10.0) -> int:
        return self._producer.flush(timeout)

    def __len__(self) -> int:
        return len(self._producer)

    def renew(self, reason: str) -> None:
        """Replace the producer now.  Needed where librdkafka does not call an error
        fatal: after a broker restart that lost its state it answers
        UNKNOWN_PRODUCER_ID by bumping the epoch and retrying silently until
        message.timeout.ms.  Messages in flight fail back through their callbacks."""
        log.warning("rebuilding the Kafka producer: %s", reason)
        with self._lock:
            self._fatal = True
            self._renew_if_fatal()

    def _renew_if_fatal(self) -> None:
        if not self._fatal:
            return
        old, self._fatal = self._producer, False
        try:
            old.purge(in_queue=True, in_flight=True)
            deadline = time.monotonic() + 2.0
            while len(old) and time.monotonic() < deadline:
                old.poll(0.05)  # purged messages' callbacks run now: callers retry them
        except KafkaException:
            pass
        self._producer = self._build()
        self.recreated += 1
        log.info("Kafka producer rebuilt (%d so far)", self.recreated)


def create_topics(admin: Any, topics: list[str], partitions: int, wait: float = 10.0,
                  operation_timeout: float = 0) -> list[str]:
    """Create ``topics`` (one replica each) with an AdminClient; the ones it made.  A
    topic that exists already is no error; any other failure is logged."""
    from confluent_kafka.admin import NewTopic

    futures = admin.create_topics(
        [NewTopic(t, num_partitions=partitions, replication_factor=1) for t in topics],
        operation_timeout=operation_timeout)
    made = []
    for topic, future in futures.items():
        try:
            future.result(wait)
            made.append(topic)
        except KafkaException as error:
            if error.args[0].code() != KafkaError.TOPIC_ALREADY_EXISTS:
                log.warning("cannot create Kafka topic %s: %s", topic, error.args[0].str())
    return made


def reachable(bootstrap: str, timeout: float = 2.0) -> bool:
    """True when a broker answers a metadata request."""
    from confluent_kafka.admin import AdminClient

    try:
        AdminClient({"bootstrap.servers": bootstrap,
                     "socket.connection.setup.timeout.ms": int(timeout * 1000)}
                    ).list_topics(timeout=timeout)
        return True
    except KafkaException:
        return False
