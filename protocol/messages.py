"""Every message that crosses the control plane: one frozen dataclass per type.

Each field declares its rule once (:mod:`protocol.rules`); a message is checked when
it is constructed (:mod:`protocol.fields`), so Central cannot build an invalid
``Command`` and :func:`decode` only parses and constructs.  Energy and money travel as
decimal strings (``"1.234"``), never floats.  The base :class:`Message`, :func:`encode`,
:func:`build` and the codecs live in :mod:`protocol.codec`; they are re-exported here,
so ``from protocol import messages as m`` gives ``m.Heartbeat``, ``m.encode`` and the rest.

Flows (C = Central, M = monitor, E = engine, P = panel client):

- M->E ``Hello``; E->M ``HealthReport`` answers every ``HealthCheck`` (1 s), and is
  pushed unasked with ``seq`` 0 the moment the engine's health or state changes.
- M->C ``Hello`` (id, location); C->M ``Challenge``; M->C ``Authenticate``;
  C->M ``Welcome`` or ``Refused``.  Then M->C ``Heartbeat`` every second and
  ``EngineStatus`` at once on every change (fault, recovery, engine lost).
- C->M->E ``Command`` (authorize, stop, resume, end_supply); E->M->C ``CommandResult``.
- E->M->C ``SupplyRequest`` (request button or card); C answers with an authorize
  ``Command`` or a ``SupplyDenied`` naming the request.
- E->M->C ``SupplyStarted`` / ``SupplyEnded`` records, journaled on the engine until
  C->M->E ``RecordAck`` names them.  Central deduplicates them by ``session_id``.
- M->E ``CentralStatus`` tells the engine whether Central is reachable.
- P->E ``PanelAction``; E->P ``PanelStatus``.
- M->E ``MeterRequest``; E->M ``MeterReading`` (a monitor speaking OCPP samples the
  meter with them; a monitor on the framed protocol never asks).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal  # noqa: F401 - importers read m.Decimal (tests/unit/central)
from typing import Annotated, Any

from protocol.codec import Codec, JsonCodec, Message, build, encode, new_id, utc_now
from protocol.codec import decode as _decode
from protocol.errors import ProtocolError
from protocol.rules import (
    CP_ID,
    CP_ID_OR_EMPTY,
    DRIVER_ID,
    MAX_TEXT,
    Action,
    Button,
    DecimalStr,
    DriverId,
    KeyId,
    KeyText,
    Only,
    PanelVerb,
    Pattern,
    RequestSource,
    Requires,
    Text,
    Timestamp,
    parse_ts,
)
from protocol.states import EngineState, Health

# The enumerations as tuples of strings, for argparse choices and older importers.
ENGINE_STATES = tuple(state.value for state in EngineState)
HEALTH = tuple(health.value for health in Health)
ACTIONS = tuple(action.value for action in Action)
BUTTONS = tuple(button.value for button in Button)
# Who a supply started at the CP without a driver id (its request button) is for: the one
# name the engine, the dashboard, tickets and logs use ("ad hoc charging", as in AFIR).
AD_HOC = "ad hoc"
Answered = Annotated[Health, Only(Health.OK, Health.KO)]  # the engine answered: OK or KO


def driver_or_ad_hoc(driver_id: str | None) -> str:
    return driver_id or AD_HOC


# -- link set-up -------------------------------------------------------------
@dataclass(frozen=True, kw_only=True)
class Hello(Message):
    TYPE = "hello"
    location: Text | None = None


@dataclass(frozen=True, kw_only=True)
class Challenge(Message):
    TYPE = "challenge"
    nonce: str


@dataclass(frozen=True, kw_only=True)
class Authenticate(Message):
    TYPE = "authenticate"
    hmac: str


@dataclass(frozen=True, kw_only=True)
class Welcome(Message):
    """Central let the CP in: ``wrapped_key`` is its new key (``protocol.key_wrap.wrap``);
    from the next frame on, both ends seal every frame with it."""

    TYPE = "welcome"
    enabled: bool
    price_eur_kwh: DecimalStr
    key_id: KeyId | None = None
    wrapped_key: KeyText | None = None


@dataclass(frozen=True, kw_only=True)
class Refused(Message):
    TYPE = "refused"
    reason: str


# -- health ------------------------------------------------------------------
@dataclass(frozen=True, kw_only=True)
class HealthCheck(Message):
    TYPE = "health_check"
    seq: int


@dataclass(frozen=True, kw_only=True)
class HealthReport(Message):
    """The engine's answer: OK/KO plus what it is doing."""

    TYPE = "health_report"
    seq: int
    status: Answered
    state: EngineState
    session_id: str | None = None
    driver_id: DriverId | None = None


@dataclass(frozen=True, kw_only=True)
class Heartbeat(Message):
    TYPE = "heartbeat"
    engine: Health
    state: EngineState | None = None
    session_id: str | None = None
    driver_id: DriverId | None = None


@dataclass(frozen=True, kw_only=True)
class EngineStatus(Message):
    """Sent at once when the engine's health changes: a fault or a recovery."""

    TYPE = "engine_status"
    engine: Health
    reason: str = ""


@dataclass(frozen=True, kw_only=True)
class CentralStatus(Message):
    TYPE = "central_status"
    up: bool
    address: str = ""


# -- commands ----------------------------------------------------------------
@dataclass(frozen=True, kw_only=True)
class Command(Message):
    TYPE = "command"
    REQUIRES = (Requires("action", (Action.AUTHORIZE,), ("session_id", "price_eur_kwh")),)
    action: Action
    expires_at: Timestamp
    driver_id: DriverId | None = None
    session_id: str | None = None
    price_eur_kwh: DecimalStr | None = None
    reason: str = ""


@dataclass(frozen=True, kw_only=True)
class CommandResult(Message):
    TYPE = "command_result"
    ref: str
    ok: bool
    reason: str = ""


# -- supplies ----------------------------------------------------------------
@dataclass(frozen=True, kw_only=True)
class SupplyRequest(Message):
    """A supply asked for at the CP itself (request button or card)."""

    TYPE = "supply_request"
    source: RequestSource
    driver_id: DriverId | None = None


@dataclass(frozen=True, kw_only=True)
class SupplyDenied(Message):
    TYPE = "supply_denied"
    ref: str
    reason: str


@dataclass(frozen=True, kw_only=True)
class SupplyStarted(Message):
    TYPE = "supply_started"
    session_id: str
    started_at: Timestamp
    price_eur_kwh: DecimalStr
    driver_id: DriverId | None = None


@dataclass(frozen=True, kw_only=True)
class SupplyEnded(Message):
    TYPE = "supply_ended"
    session_id: str
    started_at: Timestamp
    ended_at: Timestamp
    kwh: DecimalStr
    eur: DecimalStr
    price_eur_kwh: DecimalStr
    reason: str
    driver_id: DriverId | None = None


@dataclass(frozen=True, kw_only=True)
class RecordAck(Message):
    """Central stored the supply record of message ``ref`` (idempotent)."""

    TYPE = "record_ack"
    ref: str
    session_id: str


# -- virtual front panel -----------------------------------------------------
@dataclass(frozen=True, kw_only=True)
class PanelAction(Message):
    """A panel client speaks for the CP it is plugged into: its ``cp_id`` may be empty."""

    TYPE = "panel_action"
    REQUIRES = (Requires("action", (PanelVerb.PRESS, PanelVerb.RELEASE), ("button",)),)
    cp_id: Annotated[str, Pattern(CP_ID_OR_EMPTY)]
    action: PanelVerb
    button: Button | None = None
    driver_id: DriverId | None = None


@dataclass(frozen=True, kw_only=True)
class PanelStatus(Message):
    TYPE = "panel_status"
    status: dict[str, Any]


# -- the meter, for a monitor speaking OCPP 1.6J ------------------------------------
@dataclass(frozen=True, kw_only=True)
class MeterRequest(Message):
    """Monitor -> engine: what the meter and the connector show now (``MeterReading``)."""

    TYPE = "meter_request"


@dataclass(frozen=True, kw_only=True)
class MeterReading(Message):
    """Engine -> monitor, the answer to a ``MeterRequest``: whether a vehicle is plugged
    in and, during a supply, its power and the energy supplied so far."""

    TYPE = "meter_reading"
    plugged: bool
    session_id: str | None = None
    kw: DecimalStr | None = None
    kwh: DecimalStr | None = None


# -- the CP's key -----------------------------------------------------------------
@dataclass(frozen=True, kw_only=True)
class KeyIssued(Message):
    """Monitor -> engine on their local link, after each Welcome: the key to seal MQTT
    payloads with (base64url of its 32 bytes)."""

    TYPE = "key_issued"
    key_id: KeyId
    key: KeyText


@dataclass(frozen=True, kw_only=True)
class KeyRevoked(Message):
    """Central -> monitor (sealed with the key it revokes) and monitor -> engine: the key
    is gone; no more sealed messages until a re-authentication."""

    TYPE = "key_revoked"
    reason: Text = ""


MESSAGE_TYPES: dict[str, type[Message]] = {
    cls.TYPE: cls
    for cls in (
        Hello, Challenge, Authenticate, Welcome, Refused, HealthCheck, HealthReport,
        Heartbeat, EngineStatus, CentralStatus, Command, CommandResult, SupplyRequest,
        SupplyDenied, SupplyStarted, SupplyEnded, RecordAck, PanelAction, PanelStatus,
        KeyIssued, KeyRevoked, MeterRequest, MeterReading,
    )
}
CONTROL_CODEC: Codec = JsonCodec(MESSAGE_TYPES)
"""The control plane's codec: plain JSON, every type above."""


def decode(payload: bytes, types: Mapping[str, type] | None = None) -> Message:
    """Parse one message; ``types`` is the registry to accept (default: control plane)."""
    return _decode(payload, MESSAGE_TYPES if types is None else types)


__all__ = ["Message", "ProtocolError", "decode", "encode", "build", "new_id", "utc_now",
           "parse_ts", "Codec", "JsonCodec", "CONTROL_CODEC", "MESSAGE_TYPES", "CP_ID",
           "DRIVER_ID", "MAX_TEXT", "AD_HOC", "driver_or_ad_hoc", "Action", "Button",
           "RequestSource", "PanelVerb"]
__all__ += [cls.__name__ for cls in MESSAGE_TYPES.values()]
