"""One stream of domain events, and its listeners: the audit trail, the hub's notes."""

from __future__ import annotations

import pytest

from cloud.central.cpstate import StopReason
from cloud.central.events import (
    AdminAction,
    AuditTrail,
    AuthRefused,
    CpResumed,
    CpStopped,
    EventStream,
    HubNotes,
    SessionEvent,
    Step,
    standard_stream,
)
from cloud.central.store import Store


@pytest.fixture
def store(tmp_path):
    store = Store(str(tmp_path / "central.db"))
    yield store
    store.close()


def test_listeners_get_the_kinds_they_asked_for_in_order_and_survive_a_failure():
    seen: list[tuple[str, object]] = []

    def broken(event):
        raise RuntimeError("boom")

    stream = EventStream()
    stream.listen(broken)
    stream.listen(lambda e: seen.append(("all", e)))
    stream.listen(lambda e: seen.append(("stops", e)), CpStopped, CpResumed)
    stopped = CpStopped("CP1", StopReason.ADMIN, "alice")
    refused = AuthRefused(None, "127.0.0.1:5000", "unknown CP")
    stream.emit(stopped)
    stream.emit(refused)
    assert seen == [("all", stopped), ("stops", stopped), ("all", refused)]


def test_the_audit_trail_records_admin_actions_and_stops_with_their_reason(store):
    stream = standard_stream(store)
    stream.emit(AdminAction("cli", "add_cp", "CP1", "Madrid"))
    stream.emit(CpStopped("CP1", StopReason.WEATHER, "weather office"))
    stream.emit(CpResumed("CP1", StopReason.WEATHER, "weather office"))
    stream.emit(AuthRefused("CP1", "127.0.0.1:5000", "wrong secret"))
    stream.emit(SessionEvent(Step.PROGRESS, "CP1", "S1", "D1"))
    assert [(r["actor"], r["action"], r["cp_id"], r["detail"])
            for r in reversed(store.audit_log())] == [
        ("cli", "add_cp", "CP1", "Madrid"), ("weather office", "stop", "CP1", "weather"),
        ("weather office", "resume", "CP1", "weather")]


def test_the_hub_notes_say_what_happened():
    notes: list[tuple[str, str | None, str]] = []
    listener = HubNotes(lambda *note: notes.append(note))
    for event in (CpStopped("CP1", StopReason.ADMIN, "alice"),
                  CpStopped("CP1", StopReason.WEATHER, "weather office"),
                  CpResumed("CP1", StopReason.ADMIN, "bob", frozenset({StopReason.WEATHER})),
                  CpResumed("CP1", StopReason.WEATHER, "weather office"),
                  AuthRefused(None, "127.0.0.9:4000", "unknown CP"),
                  AdminAction("admin", "add_cp", "CP2", "Lugo"),
                  AdminAction("admin", "add_driver", None, "D1"),
                  SessionEvent(Step.PROGRESS, "CP1", "S1", "D1")):
        listener(event)
    assert notes == [
        ("warning", "CP1", "stopped by alice"),
        ("warning", "CP1", "out of order: weather alert (weather office)"),
        ("info", "CP1", "admin stop lifted by bob; still out of order: weather alert"),
        ("info", "CP1", "resumed by weather office"),
        ("warning", None, "refused connection from 127.0.0.9:4000: unknown CP"),
        ("info", "CP2", "registered by admin"),
    ]
    assert AuditTrail.KINDS == (AdminAction, CpStopped, CpResumed)
