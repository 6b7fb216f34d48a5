"""What Central tells drivers: the pure decisions of cloud.central.drivers, as tables."""

from __future__ import annotations

import pytest

from cloud.central import drivers
from cloud.central.core import Denial
from cloud.central.cptable import Authorization
from cloud.central.events import SessionEvent
from protocol import driver as d
from protocol import messages as m
from protocol.data import Telemetry

T0, T1 = "2026-01-02T10:00:00.000Z", "2026-01-02T10:30:00.000Z"
STARTED = m.SupplyStarted(cp_id="CP1", session_id="S1", started_at=T0, price_eur_kwh="0.35",
                          driver_id="D1")
TELEMETRY = Telemetry(cp_id="CP1", session_id="S1", kw="7.2", kwh="1.5", eur="0.525",
                      price_eur_kwh="0.35", driver_id="D1")


def ended(reason: str) -> m.SupplyEnded:
    return m.SupplyEnded(cp_id="CP1", session_id="S1", started_at=T0, ended_at=T1, kwh="3.2",
                         eur="1.12", price_eur_kwh="0.35", reason=reason, driver_id="D1")


@pytest.mark.parametrize(("reason", "interrupted"), [
    ("unplugged", False),
    ("stopped by driver", False),
    ("stopped by admin@127.0.0.1", True),
    ("engine fault", True),
    ("monitor lost", True),
    ("", True),
])
def test_interrupted(reason, interrupted):
    assert drivers.interrupted(reason) is interrupted


@pytest.mark.parametrize(("kind", "reason", "record", "cls", "fields"), [
    ("authorized", "", None, d.Authorized, {"expires_in_s": 60}),
    ("cancelled", "not plugged in within 60 s", None, d.Cancelled,
     {"reason": "not plugged in within 60 s"}),
    ("cancelled", "CP disconnected", None, d.Cancelled, {"reason": "CP disconnected"}),
    ("started", "", STARTED, d.Plugged, {"started_at": T0, "price_eur_kwh": "0.35"}),
    ("progress", "", TELEMETRY, d.Progress, {"kw": "7.2", "kwh": "1.5", "eur": "0.525"}),
    ("ended", "unplugged", ended("unplugged"), d.Ticket,
     {"kwh": "3.2", "eur": "1.12", "ended_at": T1, "reason": "unplugged", "interrupted": False}),
    ("ended", "engine fault", ended("engine fault"), d.Ticket,
     {"reason": "engine fault", "interrupted": True}),
])
def test_update_for_a_session_event(kind, reason, record, cls, fields):
    update = drivers.update_for(SessionEvent(kind, "CP1", "S1", "D1", reason, record))
    assert isinstance(update, cls)
    assert (update.driver_id, update.cp_id, update.session_id) == ("D1", "CP1", "S1")
    assert {name: getattr(update, name) for name in fields} == fields
    assert d.decode_update(d.encode(update)) == update  # valid on the wire


@pytest.mark.parametrize("kind", ["authorized", "cancelled", "started", "progress", "ended"])
def test_nobody_to_tell_without_a_driver(kind):
    assert drivers.update_for(SessionEvent(kind, "CP1", "S1", None, "", None)) is None


@pytest.mark.parametrize(("outcome", "cls", "field", "value"), [
    (Denial("CP busy"), d.Denied, "reason", "CP busy"),
    (Denial("unknown driver"), d.Denied, "reason", "unknown driver"),
    (Authorization("S9", "CP1", "D1", "driver", T0, 60.0), d.Accepted, "session_id", "S9"),
])
def test_answer_charge(outcome, cls, field, value):
    request = d.ChargeRequest(driver_id="D1", cp_id="CP1")
    answer = drivers.answer_charge(request, outcome)
    assert isinstance(answer, cls) and getattr(answer, field) == value
    assert (answer.ref, answer.driver_id, answer.cp_id) == (request.id, "D1", "CP1")


SESSION = {"cp_id": "CP1", "session_id": "S1"}


@pytest.mark.parametrize(("session", "cp_id", "refusal"), [
    (None, None, "no supply under way"),
    (None, "CP1", "no supply under way"),
    (SESSION, None, None),
    (SESSION, "CP1", None),
    (SESSION, "CP2", "no supply under way"),
])
def test_stop_refusal(session, cp_id, refusal):
    assert drivers.stop_refusal(session, cp_id) == refusal


def test_cp_list_offers_only_activated_cps():
    views = [{"id": f"CP{i}", "location": "x", "price_eur_kwh": "0.3", "state": state,
              "driver_id": None, "kw": None}
             for i, state in enumerate(["ACTIVATED", "SUPPLYING", "BROKEN", "ACTIVATED"])]
    assert drivers.cp_list(views) == [
        {"id": "CP0", "location": "x", "price_eur_kwh": "0.3", "state": "ACTIVATED"},
        {"id": "CP3", "location": "x", "price_eur_kwh": "0.3", "state": "ACTIVATED"}]


def row(n: int, status: str = "ended", reason: str = "unplugged") -> dict:
    return {"id": f"S{n}", "cp_id": "CP1", "driver_id": "D1", "status": status,
            "started_at": T0, "ended_at": T1, "kwh": "1", "eur": "0.35",
            "price_eur_kwh": "0.35", "reason": reason, "source": "driver"}


def test_recent_tickets_are_the_last_five_ended_sessions():
    rows = [row(1, "supplying", None), row(2, "expired", "not plugged in"), row(3),
            row(4, reason="engine fault"), row(5), row(6), row(7), row(8), row(9, "denied")]
    recent = drivers.recent_tickets(rows)
    assert [t["session_id"] for t in recent] == ["S3", "S4", "S5", "S6", "S7"]
    assert [t["interrupted"] for t in recent] == [False, True, False, False, False]
    ticket = d.Ticket(**recent[0])  # the Ticket's own fields
    assert ticket.kwh == "1"


def test_seen_ids_are_bounded():
    seen = drivers.SeenIds(size=3)
    for message_id in "abcd":
        seen.add(message_id)
    assert "a" not in seen and all(x in seen for x in "bcd")
    seen.add("b")  # seen again: it becomes the newest
    seen.add("e")
    assert "c" not in seen and "b" in seen
