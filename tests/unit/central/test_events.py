"""One stream of domain events, and its listeners: the dashboard's notes (the audit
trail's is tests/unit/central/test_audit_trail.py)."""

from __future__ import annotations

from cloud.central.cpstate import StopReason
from cloud.central.events import (
    AdminAction,
    AuthRefused,
    CpResumed,
    CpStopped,
    EventStream,
    HubNotes,
    KeyMismatch,
    KeyRevocation,
    Replay,
    SessionEvent,
    Step,
)


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
                  CpStopped("CP1", StopReason.KEY_REVOKED, "admin@10.0.0.5"),  # said below
                  KeyRevocation("CP1", ("k-1",), "admin@10.0.0.5", True),
                  KeyMismatch("CP2", "10.0.0.9:4000", "does not open", "control"),
                  Replay("CP2", "kafka cp.events[0]@7", "telemetry", "M1"),
                  SessionEvent(Step.PROGRESS, "CP1", "S1", "D1")):
        listener(event)
    assert notes == [
        ("warning", "CP1", "stopped by alice"),
        ("warning", "CP1", "out of order: weather alert (weather office)"),
        ("info", "CP1", "admin stop lifted by bob; still out of order: weather alert"),
        ("info", "CP1", "resumed by weather office"),
        ("warning", None, "refused connection from 127.0.0.9:4000: unknown CP"),
        ("info", "CP2", "registered by admin"),
        ("warning", "CP1", "key revoked by admin@10.0.0.5: out of order until its monitor "
                           "re-authenticates"),
        ("warning", "CP2", "key problem (control plane): does not open"),
        ("warning", "CP2", "replayed telemetry M1 refused"),
    ]
