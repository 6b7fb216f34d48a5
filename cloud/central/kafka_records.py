"""What Central reads from and writes to Kafka, and where each record goes.

:func:`decode_record` turns a consumed record into its message or raises a typed
:class:`~protocol.errors.ProtocolError` whose text is the dead letter's reason.  A CP's
record (``cp.events``, ``cp.telemetry``) is the MQTT payload relayed as is: a sealed
envelope (:mod:`protocol.seal`), opened with the key its ``key_id`` names (the CP's
current key, or an earlier one within its grace), which must belong to the envelope's
CP and the record's key; what does not open raises :class:`KeyProblem`.
:func:`deadletter_record` is what goes to ``deadletter``.  :data:`FROM_KAFKA` routes a
decoded record by its type to the fleet or the driver desk (every data-plane and
driver request type has a handler); a record Central will not take raises
:class:`Refused`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Protocol

from protocol import data, seal
from protocol import driver as d
from protocol import messages as m
from protocol.errors import FormatViolation, ProtocolError
from protocol.topics import CP_TELEMETRY, DRIVER_REQUESTS
from runtime.routing import Routes

FROM_KAFKA = Routes("record type")
DATA_CODEC = m.JsonCodec(data.DATA_TYPES)  # what an engine seals: a data-plane message


class DataKeys(Protocol):
    """The CPs' keys as the data plane asks for them (:class:`cloud.central.keys.Keys`)."""

    def for_data(self, cp_id: str, key_id: str) -> seal.Key | None:
        """The key ``key_id`` of the CP, current or within its grace."""


class KeyProblem(FormatViolation):
    """A CP's record that does not open (not sealed, an unknown, revoked or expired key,
    another CP's key, tampered): the reason, and the CP it claims to come from."""

    def __init__(self, cp_id: str | None, reason: str) -> None:
        super().__init__(reason)
        self.cp_id = cp_id[:64] if cp_id else None


class Refused(Exception):
    """A well-formed record Central will not take (for example from an unknown CP)."""


class Replayed(Refused):
    """A CP's message whose id was applied already."""

    def __init__(self, message: m.Message) -> None:
        super().__init__(f"replayed: {message.TYPE} {message.id} was applied already")
        self.message = message


def report(fleet, record: Any, source: str, error: Exception) -> None:
    """Tell the fleet (its counters, audit trail and tiles) why ``record`` was refused:
    a key problem, a replay, input refused, or Central's own failure."""
    topic, key = record.topic(), record.key()
    if isinstance(error, KeyProblem):
        fleet.on_key_mismatch(error.cp_id, source, str(error), "data",
                              seal.summary(record.value() or b""))
    elif isinstance(error, Replayed):
        message = error.message
        fleet.on_replay(message.cp_id, source, message.TYPE, message.id)
    elif isinstance(error, ProtocolError | Refused):
        actor = "driver" if topic == DRIVER_REQUESTS else "cp"
        owner = _text(key) if actor == "cp" else None
        fleet.on_refused_input(owner, source, str(error), actor)
    else:
        fleet.on_failure(source, str(error))


def decode_record(topic: str, key: bytes | None, value: bytes | None,
                  keys: DataKeys) -> Any:
    """A consumed record as its message; raises ProtocolError with the reason
    (:class:`KeyProblem` for a CP's record that does not open)."""
    if value is None:
        raise FormatViolation("empty record")
    if topic == DRIVER_REQUESTS:
        message = d.decode_request(value)
        owner = message.driver_id
    else:
        message = open_record(key, value, keys)
        if topic == CP_TELEMETRY:
            data.check_kind(message, "telemetry")
        elif message.TYPE not in data.KIND_TYPES["status"]:
            data.check_kind(message, "events")
        owner = message.cp_id
    if key is not None and key != owner.encode():
        raise FormatViolation(f"key {key[:70]!r} does not match {owner!r}")
    return message


def open_record(key: bytes | None, value: bytes, keys: DataKeys) -> m.Message:
    """The data-plane message sealed in ``value`` by the CP the record's key names, under
    that CP's current key or an earlier one within its grace; KeyProblem if it does not
    open, with the reason."""
    try:
        envelope = seal.parse(value)
    except seal.SealError as error:
        raise KeyProblem(_key_text(key), str(error)) from None
    if key is not None and key != envelope.cp_id.encode():
        claimed = _key_text(key)
        raise KeyProblem(claimed, f"sealed by {envelope.cp_id[:64]!r}, not by {claimed[:64]!r}")
    sealing_key = keys.for_data(envelope.cp_id, envelope.key_id)
    if sealing_key is None:
        raise KeyProblem(envelope.cp_id, f"key {envelope.key_id[:40]!r} is not a key of "
                                         f"{envelope.cp_id[:64]!r} (unknown, revoked or "
                                         "past its grace)")
    try:
        return seal.open_envelope(DATA_CODEC, envelope.cp_id, sealing_key, envelope)
    except seal.SealError as error:
        raise KeyProblem(envelope.cp_id, str(error)) from None


def _key_text(key: bytes | None) -> str | None:
    """A record's key as text (the CP a CP's record claims to come from)."""
    return key.decode("utf-8", "replace") if key is not None else None


def _text(key: bytes | None) -> str | None:
    """A record's key as the CP an audit record or a tile names: at most 64 characters,
    None for none or an empty one."""
    return _key_text(key)[:64] if key else None


def deadletter_record(record: Any, reason: str) -> bytes:
    """What goes to ``deadletter``: the reason, where the record was, and the record."""
    value = record.value() or b""
    body = {"reason": reason, "by": "central", "ts": m.utc_now(), "topic": record.topic(),
            "partition": record.partition(), "offset": record.offset(),
            "key": _key_text(record.key()),
            "payload": value[:65536].decode("utf-8", "replace")}
    return json.dumps(body, ensure_ascii=False).encode()


@dataclass(frozen=True)
class BridgeDeadLetter:
    """What the bridge dead-lettered: the CP its MQTT topic names, where, and why."""

    cp_id: str | None
    mqtt_topic: str
    reason: str

    def source(self) -> str:
        return f"bridge {self.mqtt_topic}"[:200]


def bridge_deadletter(key: bytes | None, value: bytes | None) -> BridgeDeadLetter | None:
    """A ``deadletter`` record the bridge wrote (``source: mqtt``), or None for one
    Central wrote itself (``by: central``: audited when it was refused) or one it
    cannot read (then its reason is unknown; ``bridge_deadletters`` counts it anyway)."""
    try:
        body = json.loads(value or b"")
    except (ValueError, UnicodeDecodeError):
        body = None
    if not isinstance(body, dict):
        return BridgeDeadLetter(_text(key), "?", "unreadable dead letter")
    if body.get("by") == "central":
        return None
    reason = body.get("reason") if isinstance(body.get("reason"), str) else "no reason given"
    topic = body.get("mqtt_topic") if isinstance(body.get("mqtt_topic"), str) else "?"
    return BridgeDeadLetter(_text(key), topic[:150], reason[:300])


@FROM_KAFKA.on(*d.REQUEST_TYPES.values())
def driver_request(fleet, desk, request: d.DriverMessage) -> None:
    desk.handle(request)


@FROM_KAFKA.on(data.StateChanged, data.ButtonPressed, data.CpStatus)
def seen_on_the_control_plane(fleet, desk, message: m.Message) -> None:
    """State changes, buttons, online/offline: the control plane has them."""


@FROM_KAFKA.on(data.Telemetry)
def telemetry(fleet, desk, message: data.Telemetry) -> None:
    _known(fleet, message.cp_id)
    fleet.on_telemetry(message)


@FROM_KAFKA.on(data.SupplyStarted)
def supply_started(fleet, desk, message: m.SupplyStarted) -> None:
    _known(fleet, message.cp_id)
    fleet.on_supply_started(message)


@FROM_KAFKA.on(data.SupplyEnded)
def supply_ended(fleet, desk, message: m.SupplyEnded) -> None:
    _known(fleet, message.cp_id)
    fleet.on_supply_ended(message)


def _known(fleet, cp_id: str) -> None:
    """Refuse a record of a CP that is not registered (one registered a moment ago by
    another process, and not noticed by the fleet yet, is)."""
    if fleet.cp(cp_id) is None and not fleet.registry.knows(cp_id):
        raise Refused(f"unknown CP {cp_id!r}")
