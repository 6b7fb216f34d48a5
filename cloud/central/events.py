"""Central's domain events, one stream with listeners.

The fleet's core announces what happened (an administrator's action, a refused
authentication, a CP stopped or back in service with the reason and who did it, each
step of a session from authorization to ticket) as frozen dataclasses; the shell hands
each one, in order and under the fleet's lock, to every listener of the
:class:`EventStream`: the audit trail (:class:`AuditTrail`), the dashboard's
application messages (:class:`HubNotes`), the driver desk, and the log
(:func:`log_event`).  ``ev-central cp add`` and ``driver add`` use the same stream, so
an action from the command line reaches the same audit trail.
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
class AuthRefused:
    cp_id: str | None
    peer: str
    reason: str


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


DomainEvent = AdminAction | AuthRefused | CpStopped | CpResumed | SessionEvent
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


class AuditTrail:
    """Writes what an administrator did (and which CP was stopped or resumed, by whom
    and why) into the store's audit log."""

    KINDS = (AdminAction, CpStopped, CpResumed)

    def __init__(self, store) -> None:
        self.store = store

    def __call__(self, event: DomainEvent) -> None:
        if isinstance(event, AdminAction):
            self.store.audit(event.actor, event.action, event.cp_id, event.detail)
        elif isinstance(event, CpStopped):
            self.store.audit(event.actor, "stop", event.cp_id, str(event.reason))
        elif isinstance(event, CpResumed):
            self.store.audit(event.actor, "resume", event.cp_id, str(event.reason))


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
        elif isinstance(event, CpStopped):
            self.note("warning", event.cp_id, stopped_text(event.reason, event.actor))
        elif isinstance(event, CpResumed):
            if event.remaining:
                self.note("info", event.cp_id, f"{event.reason} stop lifted by {event.actor}; "
                          f"still out of order: {reasons_text(event.remaining)}")
            else:
                self.note("info", event.cp_id, f"resumed by {event.actor}")
        elif isinstance(event, AuthRefused):
            self.note("warning", event.cp_id,
                      f"refused connection from {event.peer}: {event.reason}")
        elif isinstance(event, AdminAction) and event.action == "add_cp":
            self.note("info", event.cp_id, f"registered by {event.actor}")


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


def standard_stream(store, note: Callable[[str, str | None, str], None] | None = None
                    ) -> EventStream:
    """The listeners every Central has: the audit trail, the dashboard's notes (when
    there is a dashboard) and the log."""
    events = EventStream()
    events.listen(AuditTrail(store), *AuditTrail.KINDS)
    if note is not None:
        events.listen(HubNotes(note))
    events.listen(log_event)
    return events
