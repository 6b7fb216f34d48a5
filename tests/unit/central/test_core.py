"""The fleet's pure core: facts in, effects out, time passed in (no store, no I/O)."""

from __future__ import annotations

from dataclasses import fields, is_dataclass

from cloud.central import effects as fx
from cloud.central.core import Core, Denial
from cloud.central.cpstate import StopReason
from cloud.central.cptable import Authorization, Moment
from cloud.central.events import CpResumed, CpStopped, StateChange
from protocol import messages as m

WALL = "2026-01-02T10:00:00.000Z"


def at(mono: float) -> Moment:
    return Moment(mono, lambda: WALL)


def ready(cp_id: str = "CP1") -> Core:
    core = Core(new_id=iter(f"S{n}" for n in range(1, 99)).__next__)
    core.register(cp_id, "Madrid", "0.35", frozenset(), at(0))
    core.connected(cp_id, None, "0.35", at(0))
    core.heartbeat(m.Heartbeat(cp_id=cp_id, engine="OK", state="available"), at(0))
    return core


def of(effects, kind) -> list:
    return [effect for effect in effects if isinstance(effect, kind)]


def test_a_weather_stop_and_an_admin_stop_are_independent():
    core = ready()
    weather = core.stop("CP1", StopReason.WEATHER, "weather office", at(0.1))
    admin = core.stop("CP1", StopReason.ADMIN, "alice", at(0.2))
    assert of(weather, fx.Stop) and of(admin, fx.Stop)
    lifted = core.lift("CP1", StopReason.ADMIN, "bob", at(0.3))
    assert core.view("CP1")["state"] == "STOPPED"
    assert core.view("CP1")["stop_reasons"] == ["weather"]
    assert of(lifted, fx.Resume) == []  # the weather still holds it
    assert of(lifted, fx.SaveStopReasons) == [
        fx.SaveStopReasons("CP1", frozenset({StopReason.WEATHER}))]
    assert [e.event for e in of(lifted, fx.Announce)] == [
        CpResumed("CP1", StopReason.ADMIN, "bob", frozenset({StopReason.WEATHER}))]
    back = core.lift("CP1", StopReason.WEATHER, "weather office", at(0.4))
    assert of(back, fx.Resume) == [fx.Resume("CP1", "resumed by weather office")]
    assert core.view("CP1")["state"] == "ACTIVATED"


def test_a_stop_says_who_and_why_and_ends_an_authorization():
    core = ready()
    core.charge("CP1", "D1", True, "driver", at(1))
    effects = core.stop("CP1", StopReason.KEY_REVOKED, "registry", at(2))
    assert [e.event for e in of(effects, fx.Announce) if isinstance(e.event, CpStopped)] == [
        CpStopped("CP1", StopReason.KEY_REVOKED, "registry")]
    assert of(effects, fx.Stop) == [fx.Stop("CP1", "out of order: key revoked")]
    assert of(effects, fx.ExpireSession)[0].reason == "stopped"
    assert core.requests() == []


def test_a_charge_decision_is_effects_not_messages():
    """The core asks for an authorization through the port; it never builds a Command."""
    core = ready()
    outcome, effects = core.charge("CP1", "D1", True, "driver", at(5))
    assert isinstance(outcome, Authorization) and outcome.deadline == 65.0
    assert of(effects, fx.Authorize) == [fx.Authorize("CP1", "S1", "D1", "0.35")]
    assert of(effects, fx.RecordAuthorized)[0].at == WALL
    for effect in effects:
        assert is_dataclass(effect)
        assert not any(isinstance(getattr(effect, f.name), m.Message) for f in fields(effect))
    refused, effects = core.charge("CP1", "D9", False, "driver", at(6))
    assert refused == Denial("unknown driver") and of(effects, fx.RecordDenied)


def test_time_is_an_argument():
    core = ready()
    assert core.sweep(at(2.9)) == []
    effects = core.sweep(at(3.1))
    assert core.view("CP1")["state"] == "DISCONNECTED"
    assert fx.Note("warning", "CP1", "no heartbeat for 3 s") in effects


def charger(cp_id: str = "CP1") -> Core:
    """A CP whose liveness is its link (an OCPP charger): no heartbeats at all."""
    core = Core(new_id=iter(f"S{n}" for n in range(1, 99)).__next__)
    core.register(cp_id, "Madrid", "0.35", frozenset(), at(0))
    core.connected(cp_id, None, "0.35", at(0), heartbeats=False)
    core.status(cp_id, "OK", None, "", at(0))
    return core


def test_a_cp_alive_by_its_link_stays_connected_without_heartbeats_until_the_link_drops():
    core = charger()
    assert core.view("CP1")["state"] == "ACTIVATED"
    assert core.sweep(at(3600)) == []  # an hour without a heartbeat: still connected
    core._refresh(core.cps["CP1"], at(3600))
    assert core.view("CP1")["state"] == "ACTIVATED"
    core.disconnected("CP1", "connection closed", at(3601))
    assert core.view("CP1")["state"] == "DISCONNECTED"
    framed = ready()  # a framed CP: 3 s without a heartbeat and it is DISCONNECTED
    assert of(framed.sweep(at(3.5)), fx.Note)[0].text == "no heartbeat for 3 s"
    assert framed.view("CP1")["state"] == "DISCONNECTED"


def test_a_charger_connecting_is_never_broken_down_on_the_way_to_activated():
    # it went DISCONNECTED -> BROKEN -> ACTIVATED: every OCPP connection was audited as a
    # breakdown and listed on the dashboard's Errors panel
    core = Core(new_id=iter(f"S{n}" for n in range(1, 99)).__next__)
    core.register("CP1", "Madrid", "0.35", frozenset(), at(0))
    effects = core.connected("CP1", None, "0.35", at(1), heartbeats=False)
    effects += core.status("CP1", "OK", None, "", at(1))
    changes = [a.event for a in of(effects, fx.Announce) if isinstance(a.event, StateChange)]
    assert changes == [StateChange("CP1", "DISCONNECTED", "ACTIVATED")]
    assert of(effects, fx.Note)[0].text == "connected"
    assert [n.level for n in of(effects, fx.Note)] == ["info"]


def test_a_status_report_sets_health_and_state_as_a_heartbeat_does():
    core = charger()
    effects = core.status("CP1", "KO", "broken", "GroundFailure", at(1))
    assert core.view("CP1")["state"] == "BROKEN"
    assert of(effects, fx.Note)[0].text == "engine KO: GroundFailure"
    core.status("CP1", "OK", "stopped", "", at(2))  # Unavailable, nothing stops it: resume
    assert core.view("CP1")["state"] == "ACTIVATED"
    assert of(core.status("CP1", "OK", "stopped", "", at(3)), fx.Resume) == []  # once
    assert core.status("CP2", "OK", "available", "", at(3)) == []  # no such CP
