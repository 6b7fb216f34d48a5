"""What Central sends to Kafka: driver updates and dead letters, through one producer.

Kafka takes a record later, in the producer's delivery report; one it did not take is
sent again (SEND_TRIES in all, then one log line).  Dead letters are flushed before the
offsets of the records they stand for are committed, so a refused record is never
committed without its dead letter.
"""

from __future__ import annotations

import logging
from collections import deque
from typing import Any

from confluent_kafka import KafkaError, KafkaException

from protocol.topics import DEADLETTER

log = logging.getLogger(__name__)

SEND_TRIES = 5  # a record Kafka did not take is sent again this often


class Sender:
    def __init__(self, producer: Any) -> None:
        self.producer = producer
        self._resend: deque[tuple[str, str, bytes, int]] = deque(maxlen=10000)
        self._dead_letters = False  # sent since the last flush

    def send(self, topic: str, key: str, value: bytes, tries: int = 1) -> None:
        def delivered(error: KafkaError | None, _msg: Any) -> None:
            if error is None:
                return
            if tries < SEND_TRIES:
                self._resend.append((topic, key, value, tries + 1))
            else:
                log.warning("gave up sending to %s for %s: %s", topic, key, error.str())

        try:
            self.producer.produce(topic, key, value, delivered)
        except KafkaException as error:
            log.warning("cannot send to %s for %s: %s", topic, key, error)

    def dead_letter(self, key: Any, value: bytes) -> None:
        self.send(DEADLETTER, key, value)
        self._dead_letters = True

    def flush_dead_letters(self) -> None:
        """Before a commit: the dead letters of the records committed are in Kafka."""
        if self._dead_letters:
            self.producer.flush(5)
            self._dead_letters = False

    def resend_failed(self) -> None:
        for _ in range(len(self._resend)):
            self.send(*self._resend.popleft())
