"""What Central does with each record it consumes from Kafka (:class:`Intake`).

Records are decoded a chunk at a time (:func:`~cloud.central.kafka_records.decode_record`:
a CP's record opened with its CP's key); then each record is skipped if its ``id`` was
handled already (a CP's message again is a replay: refused), or routed by its type to
the Fleet or the :class:`~cloud.central.driver_desk.DriverDesk`.  What Central will not
or cannot take goes to ``deadletter`` with the reason, counted and audited; a record
whose handling fails raises :class:`Reread`, so that
:class:`~cloud.central.kafka_io.KafkaIO` commits what was done and reads it again (three
tries, then it is dead-lettered).  A dead letter the bridge wrote is counted and audited
once.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

from cloud.central.driver_desk import DriverDesk
from cloud.central.drivers import SeenIds
from cloud.central.kafka_out import Sender
from cloud.central.kafka_records import (
    FROM_KAFKA,
    Refused,
    Replayed,
    bridge_deadletter,
    deadletter_record,
    decode_record,
    report,
)
from protocol import data
from protocol import driver as d
from protocol.errors import ProtocolError
from protocol.topics import CP_EVENTS, CP_TELEMETRY, DEADLETTER, DRIVER_REQUESTS

log = logging.getLogger(__name__)

TRIES = 3  # a record whose handling keeps failing is dead-lettered after this
# Records decoded together, then handled.  Opening one record between two others'
# handling runs on cold caches; a chunk at a time its code stays hot and sealed records
# cost Kafka's thread 2-3 us less each (57 against 59 us), while the decoded messages
# are still in the cache when handled (a whole batch of 500 at once cost plain records
# 2-3 us more; 50 costs them nothing).  README, Benchmarks, after `opening`.
CHUNK = 50
COUNTERS = {CP_EVENTS: "events_consumed", CP_TELEMETRY: "telemetry_consumed",
            DRIVER_REQUESTS: "driver_requests"}


class Reread(Exception):
    """Handling failed: commit what was done and read the rest again."""


class Intake:
    def __init__(self, fleet, sender: Sender,
                 send_update: Callable[[d.DriverMessage], None]) -> None:
        self.fleet, self.sender = fleet, sender
        self.desk = DriverDesk(fleet, send_update)
        self._seen = SeenIds()
        self._tries: Counter[tuple[str, int, int]] = Counter()

    def _refuse(self, record: Any, error: Exception, source: str) -> None:
        """To ``deadletter`` with the reason, counted, and audited (kafka_records.report)."""
        log.warning("dead-lettered %s: %s", source, error)
        self.fleet.count("deadlettered")
        self.sender.dead_letter(record.key(), deadletter_record(record, str(error)))
        report(self.fleet, record, source, error)

    def handle_batch(self, records: list) -> Iterator[Any]:
        """Handle ``records`` in order, yielding each once it is handled: CHUNK records
        are decoded in one pass, then handled, then the next CHUNK."""
        for start in range(0, len(records), CHUNK):
            chunk = records[start:start + CHUNK]
            decoded = [self._decode(record) for record in chunk]
            for record, message in zip(chunk, decoded, strict=True):
                self._handle(record, message)
                yield record

    def _decode(self, record: Any) -> Any:
        """A record's message, or the ProtocolError why it has none (None for a record
        of ``deadletter``, which is not decoded)."""
        topic = record.topic()
        if topic == DEADLETTER:
            return None
        try:
            return decode_record(topic, record.key(), record.value(), self.fleet.keys)
        except ProtocolError as error:
            return error

    def _handle(self, record: Any, message: Any) -> None:
        topic = record.topic()
        if topic == DEADLETTER:
            self._bridge_deadletter(record)
            return
        self.fleet.count(COUNTERS.get(topic, "events_consumed"))
        where = (topic, record.partition(), record.offset())
        source = f"kafka {topic}[{where[1]}]@{where[2]}"
        if isinstance(message, ProtocolError):
            self._refuse(record, message, source)
            return
        if message.id in self._seen:
            if topic != DRIVER_REQUESTS and not isinstance(message, data.CpStatus):
                self._refuse(record, Replayed(message), source)  # (a status is retained)
            return
        try:
            self._dispatch(message)
        except Refused as refusal:
            self._refuse(record, refusal, source)
        except Exception as error:
            self._tries[where] += 1
            if self._tries[where] < TRIES:
                log.warning("could not handle %s[%d]@%d (%s): reading it again", *where, error)
                raise Reread from error
            log.exception("could not handle %s[%d]@%d; dead-lettering it", *where)
            self._refuse(record, RuntimeError(f"Central could not handle it: {error}"), source)
        self._tries.pop(where, None)
        self._seen.add(message.id)

    def _bridge_deadletter(self, record: Any) -> None:
        """A dead letter the bridge wrote: counted and audited once per position."""
        position = f"{record.partition()}@{record.offset()}"
        dead = bridge_deadletter(record.key(), record.value())
        if dead is None or f"deadletter {position}" in self._seen:
            return
        self.fleet.count("bridge_deadletters")
        self.fleet.on_refused_input(dead.cp_id, dead.source(), dead.reason)
        self._seen.add(f"deadletter {position}")

    def _dispatch(self, message: Any) -> None:
        FROM_KAFKA.handler(type(message))(self.fleet, self.desk, message)
