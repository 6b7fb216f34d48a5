"""The bridge's functional core: what to do with one MQTT message.

:func:`route` takes an MQTT topic and payload and answers :class:`Relay` (the Kafka
topic, key and the payload unchanged) or :class:`DeadLetter` (why not);
:func:`dead_letter_record` turns the latter into the ``deadletter`` record.  No I/O,
no clock: the shells in :mod:`bridge.relay` and :mod:`bridge.mqtt` do that.

The broker, not this code, checks that a CP's MQTT user only writes its own subtree
(Mosquitto ACL ``pattern write evcharging/cp/%u/#`` with one user per CP).  Here the
topic, the payload's ``cp_id`` and the message type must agree.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass

from protocol import data
from protocol.errors import ProtocolError
from protocol.topics import DEADLETTER, KAFKA_FOR, parse_mqtt_topic

MAX_PAYLOAD = 64 * 1024  # well under Kafka's default 1 MB record limit
KEPT_OF_OVERSIZE = 1024  # bytes of an oversize payload kept in its dead letter


@dataclass(frozen=True, slots=True)
class Relay:
    kafka_topic: str
    key: str | None
    value: bytes


@dataclass(frozen=True, slots=True)
class DeadLetter:
    reason: str
    key: str | None = None


def route(topic: str, payload: bytes) -> Relay | DeadLetter:
    """Validate one MQTT message and say where it goes in Kafka."""
    parsed = parse_mqtt_topic(topic)
    if parsed is None:
        return DeadLetter(f"topic {topic[:100]!r} is not evcharging/cp/<cp_id>/<kind>")
    cp_id, kind = parsed
    if len(payload) > MAX_PAYLOAD:
        return DeadLetter(f"payload too large ({len(payload)} bytes, limit {MAX_PAYLOAD})",
                          cp_id)
    try:
        message = data.decode(payload)
        data.check_kind(message, kind)
    except ProtocolError as error:
        return DeadLetter(str(error), cp_id)
    if message.cp_id != cp_id:
        return DeadLetter(f"cp_id {message.cp_id} in payload does not match topic", cp_id)
    return Relay(KAFKA_FOR[kind], cp_id, payload)


def dead_letter_record(dead: DeadLetter, mqtt_topic: str, payload: bytes,
                       ts: str) -> Relay:
    """The ``deadletter`` record: reason, source, topic, payload (text or base64), time."""
    if len(payload) > MAX_PAYLOAD:
        payload = payload[:KEPT_OF_OVERSIZE]
    try:
        text, encoding = payload.decode("utf-8"), None
    except UnicodeDecodeError:
        text, encoding = base64.b64encode(payload).decode("ascii"), "base64"
    body = {"reason": dead.reason, "source": "mqtt", "mqtt_topic": mqtt_topic,
            "payload": text, "ts": ts}
    if encoding:
        body["payload_encoding"] = encoding
    value = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
    return Relay(DEADLETTER, dead.key, value)
