"""Every message that crosses the control plane: one frozen dataclass per type.

Wire form: UTF-8 JSON ``{"type", "id", "cp_id", "ts", ...fields}``.  :func:`decode`
checks the JSON, the type and every field's type and value, and raises a typed
:class:`~protocol.errors.ProtocolError`; :func:`encode` is its inverse.  Energy and
money travel as decimal strings (``"1.234"``), never floats.

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
"""

from __future__ import annotations

import functools
import json
import re
import types
import typing
import uuid
from dataclasses import MISSING, asdict, dataclass, field, fields
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, ClassVar

from protocol.errors import FormatViolation, ProtocolError, UnknownMessageType

CP_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
DRIVER_ID = CP_ID
ENGINE_STATES = ("available", "authorized", "supplying", "stopped", "broken")
HEALTH = ("OK", "KO", "DOWN")
ACTIONS = ("authorize", "stop", "resume", "end_supply")
BUTTONS = ("fault", "plug", "request")
MAX_TEXT = 200
# Who a supply started at the CP without a driver id (its request button) is for: the one
# name the engine, the dashboard, tickets and logs use ("ad hoc charging", as in AFIR).
AD_HOC = "ad hoc"


def driver_or_ad_hoc(driver_id: str | None) -> str:
    return driver_id or AD_HOC


def new_id() -> str:
    return str(uuid.uuid4())


def utc_now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass(frozen=True, kw_only=True)
class Message:
    TYPE: ClassVar[str] = ""
    cp_id: str
    id: str = field(default_factory=new_id)
    ts: str = field(default_factory=utc_now)

    def check(self) -> None:
        """Value checks beyond types; raise FormatViolation."""
        if not CP_ID.match(self.cp_id):
            raise FormatViolation(f"bad cp_id {self.cp_id!r}")
        _timestamp("ts", self.ts)


def _one_of(name: str, value: object, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise FormatViolation(f"{name} must be one of {', '.join(allowed)}, not {value!r}")


def _decimal(name: str, value: str | None) -> None:
    if value is None:
        return
    try:
        number = Decimal(value)
    except InvalidOperation:
        raise FormatViolation(f"{name} must be a decimal string, not {value!r}") from None
    if not number.is_finite() or number < 0:
        raise FormatViolation(f"{name} must be a finite non-negative decimal")


def _driver(value: str | None) -> None:
    if value is not None and not DRIVER_ID.match(value):
        raise FormatViolation(f"bad driver_id {value!r}")


# -- link set-up -------------------------------------------------------------
@dataclass(frozen=True, kw_only=True)
class Hello(Message):
    TYPE = "hello"
    location: str | None = None

    def check(self) -> None:
        super().check()
        if self.location is not None and len(self.location) > MAX_TEXT:
            raise FormatViolation("location too long")


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
    TYPE = "welcome"
    enabled: bool
    price_eur_kwh: str

    def check(self) -> None:
        super().check()
        _decimal("price_eur_kwh", self.price_eur_kwh)


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
    status: str
    state: str
    session_id: str | None = None
    driver_id: str | None = None

    def check(self) -> None:
        super().check()
        _one_of("status", self.status, ("OK", "KO"))
        _one_of("state", self.state, ENGINE_STATES)
        _driver(self.driver_id)


@dataclass(frozen=True, kw_only=True)
class Heartbeat(Message):
    TYPE = "heartbeat"
    engine: str
    state: str | None = None
    session_id: str | None = None
    driver_id: str | None = None

    def check(self) -> None:
        super().check()
        _one_of("engine", self.engine, HEALTH)
        if self.state is not None:
            _one_of("state", self.state, ENGINE_STATES)
        _driver(self.driver_id)


@dataclass(frozen=True, kw_only=True)
class EngineStatus(Message):
    """Sent at once when the engine's health changes: a fault or a recovery."""

    TYPE = "engine_status"
    engine: str
    reason: str = ""

    def check(self) -> None:
        super().check()
        _one_of("engine", self.engine, HEALTH)


@dataclass(frozen=True, kw_only=True)
class CentralStatus(Message):
    TYPE = "central_status"
    up: bool
    address: str = ""


# -- commands ----------------------------------------------------------------
@dataclass(frozen=True, kw_only=True)
class Command(Message):
    TYPE = "command"
    action: str
    expires_at: str
    driver_id: str | None = None
    session_id: str | None = None
    price_eur_kwh: str | None = None
    reason: str = ""

    def check(self) -> None:
        super().check()
        _one_of("action", self.action, ACTIONS)
        _driver(self.driver_id)
        _decimal("price_eur_kwh", self.price_eur_kwh)
        _timestamp("expires_at", self.expires_at)
        if self.action == "authorize" and not (self.session_id and self.price_eur_kwh):
            raise FormatViolation("authorize needs session_id and price_eur_kwh")


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
    source: str
    driver_id: str | None = None

    def check(self) -> None:
        super().check()
        _one_of("source", self.source, ("button", "card", "panel"))
        _driver(self.driver_id)


@dataclass(frozen=True, kw_only=True)
class SupplyDenied(Message):
    TYPE = "supply_denied"
    ref: str
    reason: str


@dataclass(frozen=True, kw_only=True)
class SupplyStarted(Message):
    TYPE = "supply_started"
    session_id: str
    started_at: str
    price_eur_kwh: str
    driver_id: str | None = None

    def check(self) -> None:
        super().check()
        _driver(self.driver_id)
        _decimal("price_eur_kwh", self.price_eur_kwh)
        _timestamp("started_at", self.started_at)


@dataclass(frozen=True, kw_only=True)
class SupplyEnded(Message):
    TYPE = "supply_ended"
    session_id: str
    started_at: str
    ended_at: str
    kwh: str
    eur: str
    price_eur_kwh: str
    reason: str
    driver_id: str | None = None

    def check(self) -> None:
        super().check()
        _driver(self.driver_id)
        for name in ("kwh", "eur", "price_eur_kwh"):
            _decimal(name, getattr(self, name))
        _timestamp("started_at", self.started_at)
        _timestamp("ended_at", self.ended_at)


@dataclass(frozen=True, kw_only=True)
class RecordAck(Message):
    """Central stored the supply record of message ``ref`` (idempotent)."""

    TYPE = "record_ack"
    ref: str
    session_id: str


# -- virtual front panel -----------------------------------------------------
@dataclass(frozen=True, kw_only=True)
class PanelAction(Message):
    TYPE = "panel_action"
    action: str
    button: str | None = None
    driver_id: str | None = None

    def check(self) -> None:
        if self.cp_id:
            super().check()
        _one_of("action", self.action, ("press", "release", "status"))
        if self.action != "status":
            _one_of("button", self.button, BUTTONS)
        _driver(self.driver_id)


@dataclass(frozen=True, kw_only=True)
class PanelStatus(Message):
    TYPE = "panel_status"
    status: dict[str, Any]


MESSAGE_TYPES: dict[str, type[Message]] = {
    cls.TYPE: cls
    for cls in (
        Hello, Challenge, Authenticate, Welcome, Refused, HealthCheck, HealthReport,
        Heartbeat, EngineStatus, CentralStatus, Command, CommandResult, SupplyRequest,
        SupplyDenied, SupplyStarted, SupplyEnded, RecordAck, PanelAction, PanelStatus,
    )
}


def _timestamp(name: str, value: str) -> None:
    try:
        parse_ts(value)
    except ValueError:
        raise FormatViolation(f"{name} must be an ISO-8601 UTC timestamp, not {value!r}") from None


def parse_ts(value: str) -> datetime:
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if parsed.tzinfo is None:
        raise ValueError("naive timestamp")
    return parsed


def encode(message: Message) -> bytes:
    body = {"type": message.TYPE, **asdict(message)}
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()


def decode(payload: bytes, types: dict[str, type] | None = None) -> Message:
    """Parse one message; ``types`` is the registry to accept (default: control plane)."""
    registry = MESSAGE_TYPES if types is None else types
    try:
        body = json.loads(payload.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise FormatViolation(f"invalid JSON: {error}") from None
    if not isinstance(body, dict):
        raise FormatViolation("message must be a JSON object")
    kind = body.pop("type", None)
    if not isinstance(kind, str):
        raise FormatViolation("message has no type")
    cls = registry.get(kind)
    if cls is None:
        raise UnknownMessageType(f"unknown message type {kind[:40]!r}")
    return build(cls, body)


@functools.cache
def _schema(cls: type) -> tuple[dict[str, Any], dict[str, Any]]:
    """A class's field types and fields, worked out once (they never change)."""
    return typing.get_type_hints(cls), {f.name: f for f in fields(cls)}


def _exact_types(hint: Any) -> frozenset[type]:
    """Types whose exact instances certainly pass ``_is_instance(value, hint)``: a
    quick ``type(value) in ...`` that falls back to the full check when it misses."""
    origin = typing.get_origin(hint)
    if origin in (types.UnionType, typing.Union):
        return frozenset().union(*(_exact_types(arg) for arg in typing.get_args(hint)))
    if hint is type(None):
        return frozenset({type(None)})
    if origin in (dict, list):
        return frozenset({origin})
    if hint in (str, int, bool, float):
        return frozenset({hint})
    return frozenset()


@functools.cache
def _plan(cls: type) -> tuple[frozenset[str], tuple[tuple[str, bool, frozenset[type], Any],
                                                      ...]]:
    """Per field, in order: name, required, exact types that pass, the type hint."""
    hints, known = _schema(cls)
    return frozenset(known), tuple(
        (name, spec.default is MISSING and spec.default_factory is MISSING,
         _exact_types(hints[name]), hints[name])
        for name, spec in known.items())


def build(cls: type[Message], body: dict[str, Any]) -> Message:
    names, plan = _plan(cls)
    if not names.issuperset(body):
        raise FormatViolation(f"{cls.TYPE}: unknown fields {sorted(set(body) - names)}")
    values = {}
    for name, required, exact, hint in plan:
        if name not in body:
            if required:
                raise FormatViolation(f"{cls.TYPE}: missing field {name!r}")
            continue
        value = body[name]
        if type(value) not in exact and not _is_instance(value, hint):
            raise FormatViolation(f"{cls.TYPE}: field {name!r} has the wrong type")
        if isinstance(value, str) and len(value) > 4096:
            raise FormatViolation(f"{cls.TYPE}: field {name!r} too long")
        values[name] = value
    try:
        message = cls(**values)
    except TypeError as error:
        raise FormatViolation(str(error)) from None
    if not isinstance(message.id, str) or not 0 < len(message.id) <= 64:  # type: ignore
        raise FormatViolation("bad message id")
    message.check()
    return message


def _is_instance(value: object, hint: Any) -> bool:
    origin = typing.get_origin(hint)
    if origin in (types.UnionType, typing.Union):
        return any(_is_instance(value, arg) for arg in typing.get_args(hint))
    if hint is type(None):
        return value is None
    if origin is dict:
        return isinstance(value, dict)
    if origin is list:
        return isinstance(value, list)
    if hint is bool:
        return isinstance(value, bool)
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if hint is Any:
        return True
    return isinstance(value, hint)


__all__ = ["Message", "ProtocolError", "decode", "encode", "new_id", "utc_now", "parse_ts"]
__all__ += [cls.__name__ for cls in MESSAGE_TYPES.values()]
