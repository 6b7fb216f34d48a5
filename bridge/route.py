"""The bridge's functional core: what to do with one MQTT message.

:func:`route` takes an MQTT topic and payload and answers :class:`Relay` (the Kafka
topic, key and the payload unchanged) or :class:`DeadLetter` (why not);
:func:`dead_letter_record` turns the latter into the ``deadletter`` record.  No I/O,
no clock: the shells in :mod:`bridge.relay` and :mod:`bridge.mqtt` do that.

The broker, not this code, checks that a CP's MQTT user only writes its own subtree
(Mosquitto ACL ``pattern write evcharging/cp/%u/#`` with one user per CP).  Every
payload a CP publishes is sealed under its key (:mod:`protocol.seal`), which the bridge
does not hold: it checks the envelope's clear parts (version, the CP id equal to the
topic's, a well-formed key id, the message type fit for the topic, the size) and relays it as it
came; Central opens it.  One exception: the ``status`` topic also takes a plain
``cp_status`` (the broker publishes the last will ``offline``, fixed when the engine
connected, perhaps before it had a key); it only tells presence and bills nothing.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass

from protocol import data, seal
from protocol.errors import ProtocolError
from protocol.rules import KEY_ID
from protocol.topics import DEADLETTER, KAFKA_FOR, parse_mqtt_topic

MAX_PAYLOAD = seal.MAX_ENVELOPE  # 64 KiB, well under Kafka's default 1 MB record limit
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
    """Check one MQTT message's envelope and say where it goes in Kafka."""
    parsed = parse_mqtt_topic(topic)
    if parsed is None:
        return DeadLetter(f"topic {topic[:100]!r} is not evcharging/cp/<cp_id>/<kind>")
    cp_id, kind = parsed
    if len(payload) > MAX_PAYLOAD:
        return DeadLetter(f"payload too large ({len(payload)} bytes, limit {MAX_PAYLOAD})",
                          cp_id)
    try:
        envelope = seal.parse(payload)
    except seal.SealError as error:
        plain = _plain(payload)
        if plain is None:
            return DeadLetter(str(error), cp_id)
        if kind == "status":
            return _plain_status(cp_id, payload)
        return DeadLetter(f"not sealed: a plain {str(plain.get('type'))[:70]!r} message on "
                          f"{kind}", cp_id)
    if envelope.cp_id != cp_id:
        return DeadLetter(f"cp_id {envelope.cp_id[:70]} in envelope does not match topic", cp_id)
    if not KEY_ID.match(envelope.key_id):
        return DeadLetter(f"bad key id {envelope.key_id[:70]!r}", cp_id)
    if envelope.type not in data.KIND_TYPES[kind]:
        return DeadLetter(f"a sealed {envelope.type[:70]!r} message does not belong on {kind}",
                          cp_id)
    return Relay(KAFKA_FOR[kind], cp_id, payload)


def _plain(payload: bytes) -> dict | None:
    """The JSON object of a payload that is not an envelope (no version ``v``), else
    None.  Only asked once an envelope did not parse, so relaying parses once."""
    try:
        body = json.loads(payload)
    except (UnicodeDecodeError, ValueError):
        return None
    return body if isinstance(body, dict) and "v" not in body else None


def _plain_status(cp_id: str, payload: bytes) -> Relay | DeadLetter:
    try:
        message = data.decode(payload)
        data.check_kind(message, "status")
    except ProtocolError as error:
        return DeadLetter(str(error), cp_id)
    if message.cp_id != cp_id:
        return DeadLetter(f"cp_id {message.cp_id} in payload does not match topic", cp_id)
    return Relay(KAFKA_FOR["status"], cp_id, payload)


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
