"""What a CP publishes on the data plane (MQTT, relayed into Kafka ``cp.*`` topics).

Every payload is a message of :mod:`protocol.messages`' kind (``type``, ``id``,
``cp_id``, ``ts``); ``id`` makes handling idempotent end to end.  Supply records are the
same ``SupplyStarted`` / ``SupplyEnded`` the control plane carries: Central stores
either copy once, by ``session_id``.
"""

from __future__ import annotations

from dataclasses import dataclass

from protocol import messages as m
from protocol.errors import FormatViolation
from protocol.messages import Answered, Message, SupplyEnded, SupplyStarted
from protocol.rules import Button, DecimalStr, DriverId, Presence
from protocol.states import EngineState


@dataclass(frozen=True, kw_only=True)
class StateChanged(Message):
    """The engine's state or health changed (published on ``events``)."""

    TYPE = "state_changed"
    state: EngineState
    health: Answered
    session_id: str | None = None
    driver_id: DriverId | None = None
    reason: str = ""


@dataclass(frozen=True, kw_only=True)
class ButtonPressed(Message):
    TYPE = "button_pressed"
    button: Button


@dataclass(frozen=True, kw_only=True)
class Telemetry(Message):
    """One second of a supply (published on ``telemetry``)."""

    TYPE = "telemetry"
    session_id: str
    kw: DecimalStr
    kwh: DecimalStr
    eur: DecimalStr
    price_eur_kwh: DecimalStr
    driver_id: DriverId | None = None


@dataclass(frozen=True, kw_only=True)
class CpStatus(Message):
    """Retained on ``status``: ``online`` on connect, ``offline`` as the last will."""

    TYPE = "cp_status"
    status: Presence


DATA_TYPES: dict[str, type[Message]] = {
    cls.TYPE: cls
    for cls in (StateChanged, ButtonPressed, Telemetry, CpStatus, SupplyStarted, SupplyEnded)
}
# which MQTT topic kind may carry which types
KIND_TYPES = {
    "events": {"state_changed", "button_pressed", "supply_started", "supply_ended"},
    "telemetry": {"telemetry"},
    "status": {"cp_status"},
}


def decode(payload: bytes) -> Message:
    """Parse a data-plane payload; raises a typed ProtocolError."""
    return m.decode(payload, DATA_TYPES)


def check_kind(message: Message, kind: str) -> None:
    if message.TYPE not in KIND_TYPES[kind]:
        raise FormatViolation(f"a {message.TYPE} message does not belong on {kind}")
