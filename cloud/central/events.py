"""Central's domain events, one stream with listeners.

The fleet's core announces what happened (an administrator's action, an
authentication, a key issued, revoked or refused, a replayed message, a CP's state
change, a CP stopped or back in service with the reason and who did it, each step of a
session from authorization to ticket) as frozen dataclasses; the shell hands each one,
in order and under the fleet's lock, to every listener of the :class:`EventStream`: the
audit trail (:class:`cloud.central.audit_trail.AuditTrail`), the dashboard's
application messages (:class:`HubNotes`), the driver desk, and the log
(:func:`log_event`).  ``ev-central cp add`` and ``driver add`` use the same stream
(:func:`cloud.central.audit_trail.standard_stream`), so an action from the command line
reaches the same audit trail.  An actor is ``kind@where`` (``admin@10.0.0.5``,
``cp@10.0.0.9:51000``) or a name; no event ever carries a key or a secret.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from cloud.central.cpstate import REASON_TEXT, StopReason, reasons_text
from protocol.messages import driver_or_ad_hoc

log = logging.getLogger("cloud.central.events")


@dataclass(frozen=True)
class AdminAction:
    """A CP or a driver registered (``add_cp``, ``add_driver``)."""

    actor: str
    action: str
    cp_id: str | None = None
    detail: str = ""


@dataclass(frozen=True)
class AuthOk:
    cp_id: str
    peer: str


@dataclass(frozen=True)
class AuthRefused:
    """A CP's login refused, or an admin call without the right token (``request``)."""

    cp_id: str | None
    peer: str
    reason: str
    actor: str = "cp"
    request: str = ""


@dataclass(frozen=True)
class KeyIssue:
    """A fresh key for the CP at its login (its id, never the key)."""

    cp_id: str
    key_id: str
    peer: str


@dataclass(frozen=True)
class KeyRevocation:
    """Every key of the CP deleted; ``connected``: its link was up and is closed."""

    cp_id: str
    key_ids: tuple[str, ...]
    actor: str
    connected: bool


@dataclass(frozen=True)
class KeyMismatch:
    """A CP's message that did not open (wrong or revoked key, tampered, not sealed):
    refused.  ``plane`` is ``control`` (its link) or ``data`` (MQTT through Kafka)."""

    cp_id: str | None
    source: str
    reason: str
    plane: str
    envelope: str = ""  # its clear parts (protocol.seal.summary)


@dataclass(frozen=True)
class Replay:
    """A CP's message whose id was applied already: refused."""

    cp_id: str
    source: str
    kind: str
    message_id: str


@dataclass(frozen=True)
class StateChange:
    cp_id: str
    before: str
    after: str


@dataclass(frozen=True)
class RefusedInput:
    """Input Central would not take (a NAKed frame, a malformed record)."""

    cp_id: str | None
    source: str
    reason: str
    actor: str = "cp"


@dataclass(frozen=True)
class Failure:
    """Central failed on something (it goes on): the audit trail's ``error``."""

    source: str
    what: str
    cp_id: str | None = None


@dataclass(frozen=True)
class CpCommand:
    """An administrator's operation on a CP beyond stop and resume (an OCPP charger's
    Reset, UnlockConnector, GetConfiguration, ChangeConfiguration, TriggerMessage), and
    what the CP answered (``outcome``: ok, refused by the CP, or failed)."""

    cp_id: str
    actor: str
    action: str
    params: dict
    outcome: str
    answer: str = ""


@dataclass(frozen=True)
class CpStopped:
    cp_id: str
    reason: StopReason
    actor: str


@dataclass(frozen=True)
class CpResumed:
    """``reason`` lifted; the CP stays out of service while ``remaining`` is not empty."""

    cp_id: str
    reason: StopReason
    actor: str
    remaining: frozenset[StopReason] = frozenset()


@dataclass(frozen=True)
class WeatherAlertRaised:
    """The weather office raised an alert for ``location`` (the CPs there follow)."""

    location: str
    temperature_c: str
    threshold_c: str
    actor: str
    cp_ids: tuple[str, ...] = ()


@dataclass(frozen=True)
class WeatherAlertCleared:
    location: str
    actor: str
    cp_ids: tuple[str, ...] = ()


class Step(StrEnum):
    """What happened to a session (see :mod:`cloud.central.drivers`)."""

    AUTHORIZED = "authorized"
    CANCELLED = "cancelled"
    STARTED = "started"
    PROGRESS = "progress"
    ENDED = "ended"


@dataclass(frozen=True)
class SessionEvent:
    kind: Step
    cp_id: str
    session_id: str
    driver_id: str | None
    reason: str = ""
    record: Any = None  # the SupplyStarted, Telemetry or SupplyEnded behind it


DomainEvent = (AdminAction | AuthOk | AuthRefused | KeyIssue | KeyRevocation | KeyMismatch
               | Replay | StateChange | RefusedInput | Failure | CpStopped | CpResumed
               | WeatherAlertRaised | WeatherAlertCleared | SessionEvent)
Listener = Callable[[DomainEvent], None]


class EventStream:
    """Hands each event to the listeners of its kind (``listen(listener, *kinds)``; no
    kinds: every event), in the order they were added; a listener that fails is logged
    and never stops the others."""

    def __init__(self) -> None:
        self._listeners: list[tuple[Listener, tuple[type, ...]]] = []
        self._by_kind: dict[type, list[Listener]] = {}

    def listen(self, listener: Listener, *kinds: type) -> None:
        self._listeners.append((listener, kinds))
        self._by_kind.clear()

    def emit(self, event: DomainEvent) -> None:
        kind = type(event)
        listeners = self._by_kind.get(kind)
        if listeners is None:
            listeners = self._by_kind[kind] = [
                listener for listener, kinds in self._listeners
                if not kinds or issubclass(kind, kinds)]
        for listener in listeners:
            try:
                listener(event)
            except Exception:
                log.exception("a listener failed on %s", kind.__name__)


class HubNotes:
    """The dashboard's application messages for the events an operator reads about
    (``note(level, cp_id, text)`` is :meth:`cloud.central.hub.Hub.note`)."""

    def __init__(self, note: Callable[[str, str | None, str], None]) -> None:
        self.note = note

    def __call__(self, event: DomainEvent) -> None:
        if isinstance(event, SessionEvent):
            if event.kind == Step.STARTED:
                self.note("info", event.cp_id,
                          f"supply started for {driver_or_ad_hoc(event.record.driver_id)}")
            elif event.kind == Step.ENDED:
                record = event.record
                self.note("info", event.cp_id,
                          f"supply ended ({record.reason}): {record.kwh} kWh, {record.eur} EUR, "
                          f"driver {driver_or_ad_hoc(record.driver_id)}")
        elif isinstance(event, CpStopped) and event.reason != StopReason.KEY_REVOKED:
            self.note("warning", event.cp_id, stopped_text(event.reason, event.actor))
        elif isinstance(event, CpResumed):
            if event.remaining:
                self.note("info", event.cp_id, f"{event.reason} stop lifted by {event.actor}; "
                          f"still out of order: {reasons_text(event.remaining)}")
            else:
                self.note("info", event.cp_id, f"resumed by {event.actor}")
        elif isinstance(event, WeatherAlertRaised):
            self.note("warning", None, f"weather alert for {event.location}: "
                      f"{event.temperature_c} °C (below {event.threshold_c} °C)")
        elif isinstance(event, WeatherAlertCleared):
            self.note("info", None, f"weather alert for {event.location} cleared")
        elif isinstance(event, AuthRefused) and event.actor == "cp":
            self.note("warning", event.cp_id,
                      f"refused connection from {event.peer}: {event.reason}")
        elif isinstance(event, AdminAction) and event.action == "add_cp":
            self.note("info", event.cp_id, f"registered by {event.actor}")
        elif isinstance(event, KeyRevocation):
            self.note("warning", event.cp_id, f"key revoked by {event.actor}: out of order "
                      "until its monitor re-authenticates")
        elif isinstance(event, KeyMismatch):
            self.note("warning", event.cp_id,
                      f"key problem ({event.plane} plane): {event.reason}")
        elif isinstance(event, Replay):
            self.note("warning", event.cp_id,
                      f"replayed {event.kind} {event.message_id} refused")


def stopped_text(reason: StopReason, actor: str) -> str:
    """``stopped by alice``; another reason says what it is."""
    if reason == StopReason.ADMIN:
        return f"stopped by {actor}"
    return f"out of order: {REASON_TEXT[reason]} ({actor})"


def log_event(event: DomainEvent) -> None:
    """Every domain event but a supply's progress as one debug line (the hub's notes are
    the operator's log)."""
    if getattr(event, "kind", None) != Step.PROGRESS and log.isEnabledFor(logging.DEBUG):
        log.debug("%s", event)
