"""Central's domain events into the audit trail (:mod:`cloud.central.audit`), and the
event stream every Central has (:func:`standard_stream`).

:func:`record_of` is pure: one domain event -> one :class:`~cloud.central.audit.Record`
(or None for the events the trail does not keep: a session's steps are in the sessions
table).  :class:`AuditTrail` is the listener that appends it through the store.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from cloud.central.audit import Record, split_actor
from cloud.central.events import (
    AdminAction,
    AuthOk,
    AuthRefused,
    CpCommand,
    CpResumed,
    CpStopped,
    DomainEvent,
    EventStream,
    Failure,
    HubNotes,
    KeyIssue,
    KeyMismatch,
    KeyRevocation,
    RefusedInput,
    Replay,
    StateChange,
    WeatherAlertCleared,
    WeatherAlertRaised,
    log_event,
)

CENTRAL = "central"  # the source of what Central decides by itself


def record_of(event: DomainEvent) -> Record | None:
    """The audit record of ``event``; None for events the trail does not keep."""
    if isinstance(event, AdminAction):
        params = ({"location": event.detail} if event.action == "add_cp"
                  else {"driver_id": event.detail})
        return Record("registered", *split_actor(event.actor), cp_id=event.cp_id,
                      params=params)
    if isinstance(event, AuthOk):
        return Record("auth ok", "cp", event.peer, event.cp_id)
    if isinstance(event, AuthRefused):
        params = {"reason": event.reason, **({"call": event.request} if event.request else {})}
        return Record("auth failed", event.actor, event.peer, event.cp_id, params, "refused")
    if isinstance(event, KeyIssue):
        return Record("key issued", "cp", event.peer, event.cp_id, {"key_id": event.key_id})
    if isinstance(event, KeyRevocation):
        return Record("key revoked", *split_actor(event.actor), cp_id=event.cp_id,
                      params={"key_ids": list(event.key_ids),
                              "link": "closed" if event.connected else "not connected"})
    if isinstance(event, KeyMismatch):
        params: dict[str, Any] = {"reason": event.reason, "plane": event.plane}
        if event.envelope:
            params["envelope"] = event.envelope
        return Record("key mismatch", "cp", event.source, event.cp_id, params, "refused")
    if isinstance(event, Replay):
        return Record("replayed", "cp", event.source, event.cp_id,
                      {"type": event.kind, "id": event.message_id}, "refused")
    if isinstance(event, StateChange):
        return Record("state change", "service", CENTRAL, event.cp_id,
                      {"from": event.before, "to": event.after})
    if isinstance(event, RefusedInput):
        actor = event.actor if event.actor in ("cp", "driver") else "cp"
        return Record("refused input", actor, event.source, event.cp_id,
                      {"reason": event.reason}, "refused")
    if isinstance(event, Failure):
        return Record("error", "service", event.source or CENTRAL, event.cp_id,
                      {"what": event.what}, "failed")
    if isinstance(event, CpCommand):
        params = {"command": event.action, **event.params}
        if event.answer:
            params["answer"] = event.answer
        return Record("cp command", *split_actor(event.actor), cp_id=event.cp_id,
                      params=params, outcome=event.outcome)
    if isinstance(event, CpStopped):
        return Record("stop", *split_actor(event.actor), cp_id=event.cp_id,
                      params={"reason": str(event.reason)})
    if isinstance(event, CpResumed):
        return Record("resume", *split_actor(event.actor), cp_id=event.cp_id,
                      params={"reason": str(event.reason),
                              "remaining": sorted(str(r) for r in event.remaining)})
    if isinstance(event, WeatherAlertRaised):
        return Record("weather alert raised", *split_actor(event.actor),
                      params={"location": event.location, "temperature_c": event.temperature_c,
                              "threshold_c": event.threshold_c, "cp_ids": list(event.cp_ids)})
    if isinstance(event, WeatherAlertCleared):
        return Record("weather alert cleared", *split_actor(event.actor),
                      params={"location": event.location, "cp_ids": list(event.cp_ids)})
    return None


class AuditTrail:
    """Appends the record of each event it is given to the store's audit table, then
    calls ``after(row)`` (the dashboard's nudge) when given."""

    KINDS = (AdminAction, AuthOk, AuthRefused, KeyIssue, KeyRevocation, KeyMismatch, Replay,
             StateChange, RefusedInput, Failure, CpCommand, CpStopped, CpResumed,
             WeatherAlertRaised, WeatherAlertCleared)

    def __init__(self, store, after: Callable[[dict[str, Any]], None] | None = None,
                 queued: bool = False) -> None:
        self.store = store
        self.after = after
        self.queued = queued

    def __call__(self, event: DomainEvent) -> None:
        record = record_of(event)
        if record is None:
            return
        if self.queued:  # by the store's audit writer, then after(row)
            self.store.queue_audit(record, self.after)
            return
        row = self.store.append_audit(record)
        if self.after is not None:
            self.after(row)


def standard_stream(store, note: Callable[[str, str | None, str], None] | None = None,
                    audited: Callable[[dict[str, Any]], None] | None = None,
                    queued: bool = False) -> EventStream:
    """The listeners every Central has: the audit trail (``queued``: appended by the
    store's writer thread, as a running Central does; else at once, as the command
    line does before it exits), the dashboard's notes (when there is a dashboard) and
    the log."""
    events = EventStream()
    events.listen(AuditTrail(store, audited, queued), *AuditTrail.KINDS)
    if note is not None:
        events.listen(HubNotes(note))
    events.listen(log_event)
    return events
