"""Central's domain events into the audit trail: one record per event, with who, from
where, what and how it ended; the steps of a session are not audited."""

from __future__ import annotations

import pytest

from cloud.central.audit_trail import AuditTrail, record_of, standard_stream
from cloud.central.cpstate import StopReason
from cloud.central.events import (
    AdminAction,
    AuthOk,
    AuthRefused,
    CpResumed,
    CpStopped,
    Failure,
    KeyIssue,
    KeyMismatch,
    KeyRevocation,
    RefusedInput,
    Replay,
    SessionEvent,
    StateChange,
    Step,
)
from cloud.central.store import Store


@pytest.fixture
def store(tmp_path):
    store = Store(str(tmp_path / "central.db"))
    yield store
    store.close()


@pytest.mark.parametrize(("event", "expected"), [
    (AdminAction("cli", "add_cp", "CP1", "Madrid"),
     ("registered", "admin", "console", "CP1", {"location": "Madrid"}, "ok")),
    (AdminAction("admin@10.0.0.5", "add_driver", None, "D1"),
     ("registered", "admin", "10.0.0.5", None, {"driver_id": "D1"}, "ok")),
    (AuthOk("CP1", "10.0.0.9:51000"), ("auth ok", "cp", "10.0.0.9:51000", "CP1", {}, "ok")),
    (AuthRefused(None, "10.0.0.9:51000", "CP CP9 is not registered"),
     ("auth failed", "cp", "10.0.0.9:51000", None, {"reason": "CP CP9 is not registered"},
      "refused")),
    (KeyIssue("CP1", "k-0123456789ab", "10.0.0.9:51000"),
     ("key issued", "cp", "10.0.0.9:51000", "CP1", {"key_id": "k-0123456789ab"}, "ok")),
    (KeyRevocation("CP1", ("k-1", "k-2"), "admin@10.0.0.5", True),
     ("key revoked", "admin", "10.0.0.5", "CP1", {"key_ids": ["k-1", "k-2"], "link": "closed"},
      "ok")),
    (KeyMismatch("CP1", "kafka cp.events[2]@15", "does not open", "data", "telemetry M1"),
     ("key mismatch", "cp", "kafka cp.events[2]@15", "CP1",
      {"reason": "does not open", "plane": "data", "envelope": "telemetry M1"}, "refused")),
    (Replay("CP1", "kafka cp.telemetry[0]@3", "telemetry", "M1"),
     ("replayed", "cp", "kafka cp.telemetry[0]@3", "CP1", {"type": "telemetry", "id": "M1"},
      "refused")),
    (StateChange("CP1", "ACTIVATED", "BROKEN"),
     ("state change", "service", "central", "CP1", {"from": "ACTIVATED", "to": "BROKEN"}, "ok")),
    (RefusedInput(None, "10.0.0.9:51000", "bad LRC"),
     ("refused input", "cp", "10.0.0.9:51000", None, {"reason": "bad LRC"}, "refused")),
    (Failure("kafka cp.events[0]@9", "could not handle it: boom", "CP1"),
     ("error", "service", "kafka cp.events[0]@9", "CP1", {"what": "could not handle it: boom"},
      "failed")),
    (CpStopped("CP1", StopReason.KEY_REVOKED, "admin@10.0.0.5"),
     ("stop", "admin", "10.0.0.5", "CP1", {"reason": "key revoked"}, "ok")),
    (CpResumed("CP1", StopReason.KEY_REVOKED, "cp@10.0.0.9:51000",
               frozenset({StopReason.ADMIN})),
     ("resume", "cp", "10.0.0.9:51000", "CP1", {"reason": "key revoked",
                                                "remaining": ["admin"]}, "ok")),
])
def test_the_record_of_each_event(event, expected):
    record = record_of(event)
    assert (record.action, record.actor, record.source, record.cp_id, record.params,
            record.outcome) == expected
    assert type(event) in AuditTrail.KINDS


def test_a_sessions_steps_are_not_audited():
    assert record_of(SessionEvent(Step.PROGRESS, "CP1", "S1", "D1")) is None


def test_the_standard_stream_appends_and_nudges(store):
    rows = []
    stream = standard_stream(store, audited=rows.append)
    stream.emit(AdminAction("cli", "add_cp", "CP1", "Madrid"))
    stream.emit(CpStopped("CP1", StopReason.WEATHER, "weather office"))
    stream.emit(CpResumed("CP1", StopReason.WEATHER, "weather office"))
    stream.emit(AuthRefused("CP1", "127.0.0.1:5000", "wrong secret"))
    stream.emit(SessionEvent(Step.PROGRESS, "CP1", "S1", "D1"))
    assert [(r["actor"], r["source"], r["action"], r["cp_id"], r["outcome"])
            for r in reversed(store.audit_log())] == [
        ("admin", "console", "registered", "CP1", "ok"),
        ("service", "weather office", "stop", "CP1", "ok"),
        ("service", "weather office", "resume", "CP1", "ok"),
        ("cp", "127.0.0.1:5000", "auth failed", "CP1", "refused")]
    assert [row["id"] for row in rows] == [1, 2, 3, 4]
