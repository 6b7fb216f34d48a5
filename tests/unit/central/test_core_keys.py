"""The core's security half: a login lifts ``key revoked`` alone, a revocation ends the
supply and tells the CP (in that order), a key problem is shown, a deregistered CP leaves
the table; every state change is announced (for the audit trail)."""

from __future__ import annotations

from cloud.central import effects as fx
from cloud.central.cpstate import StopReason
from cloud.central.events import CpResumed, CpStopped, StateChange
from protocol import messages as m
from tests.unit.central.test_core import WALL, at, of, ready


def supplying(core, cp_id: str = "CP1") -> str:
    authorization, _ = core.charge(cp_id, "D1", True, "driver", at(1))
    record = m.SupplyStarted(cp_id=cp_id, session_id=authorization.session_id,
                             started_at=WALL, price_eur_kwh="0.35", driver_id="D1")
    core.supply_started(record, True, at(2))
    core.heartbeat(m.Heartbeat(cp_id=cp_id, engine="OK", state="supplying",
                               session_id=authorization.session_id, driver_id="D1"), at(2))
    return authorization.session_id


def test_revoking_a_key_ends_the_supply_then_tells_the_cp_and_stops_it():
    core = ready()
    core.logged_in("CP1", "k-1", WALL, "cp@10.0.0.9:1", at(0.5))
    session_id = supplying(core)
    effects = core.revoke_key("CP1", "admin@10.0.0.5", at(3))
    commands = [e for e in effects if isinstance(e, fx.Command.__args__)]
    assert commands == [fx.EndSupply("CP1", session_id, "D1", "key revoked"),
                        fx.RevokeKey("CP1", "key revoked")]
    assert of(effects, fx.SaveStopReasons) == [
        fx.SaveStopReasons("CP1", frozenset({StopReason.KEY_REVOKED}))]
    events = [e.event for e in of(effects, fx.Announce)]
    assert CpStopped("CP1", StopReason.KEY_REVOKED, "admin@10.0.0.5") in events
    assert StateChange("CP1", "SUPPLYING", "STOPPED") in events
    view = core.view("CP1")
    assert (view["state"], view["stop_reasons"], view["key_id"]) == (
        "STOPPED", ["key revoked"], None)


def test_a_revoked_cp_stays_out_of_order_while_disconnected_and_a_login_brings_it_back():
    core = ready()
    core.stop("CP1", StopReason.ADMIN, "alice", at(0.1))
    core.revoke_key("CP1", "admin@10.0.0.5", at(0.2))
    core.disconnected("CP1", "key revoked", at(0.3))
    assert core.view("CP1")["state"] == "STOPPED"
    assert core.charge("CP1", "D1", True, "driver", at(0.4))[0].reason == "stopped"
    core.connected("CP1", None, "0.35", at(1))
    effects = core.logged_in("CP1", "k-2", "2026-01-02T10:00:01.000Z", "cp@10.0.0.9:2", at(1))
    assert [e.event for e in of(effects, fx.Announce)] == [
        CpResumed("CP1", StopReason.KEY_REVOKED, "cp@10.0.0.9:2",
                  frozenset({StopReason.ADMIN})),
        StateChange("CP1", "STOPPED", "DISCONNECTED")]  # until its first heartbeat
    assert of(effects, fx.Resume) == []  # the admin's stop still holds
    view = core.view("CP1")
    assert (view["stop_reasons"], view["key_id"], view["last_auth_at"]) == (
        ["admin"], "k-2", WALL)


def test_a_login_without_a_revoked_key_lifts_nothing():
    core = ready()
    core.stop("CP1", StopReason.WEATHER, "weather office", at(0.1))
    effects = core.logged_in("CP1", "k-1", WALL, "cp@10.0.0.9:1", at(0.2))
    assert of(effects, fx.SaveStopReasons) == [] and core.view("CP1")["stop_reasons"] == [
        "weather"]
    assert core.view("CP1")["key_issued_at"] == WALL


def test_revoking_the_key_of_a_disconnected_cp_sends_nothing():
    core = ready()
    core.disconnected("CP1", "gone", at(0.1))
    effects = core.revoke_key("CP1", "admin@10.0.0.5", at(0.2))
    assert [e for e in effects if isinstance(e, fx.Command.__args__)] == []
    assert core.view("CP1")["state"] == "STOPPED"


def test_key_problems_are_counted_and_the_last_one_shown():
    core = ready()
    core.key_problem("CP1", "does not open", at(1))
    effects = core.key_problem("CP1", "sealed with key 'k-9', not the current one", at(2))
    assert of(effects, fx.Publish)[0].data["key_problems"] == 2
    assert core.view("CP1")["key_problem"] == {
        "reason": "sealed with key 'k-9', not the current one", "at": WALL}
    assert core.key_problem("CP9", "x", at(3)) == [] and core.key_problem(None, "x", at(3)) == []


def test_a_deregistered_cp_leaves_the_table_and_its_link_is_dropped():
    core = ready()
    core.charge("CP1", "D1", True, "driver", at(1))
    effects = core.deregistered("CP1", at(2))
    assert of(effects, fx.Disconnect) == [fx.Disconnect("CP1", "CP deregistered")]
    assert of(effects, fx.ExpireSession)[0].reason == "CP deregistered"
    assert of(effects, fx.Publish)[-1] == fx.Publish("cp_removed", {"id": "CP1"})
    assert core.view("CP1") is None and core.requests() == []
    assert core.deregistered("CP1", at(3)) == []


def test_state_changes_are_announced_but_not_the_first_derivation():
    core = ready()
    effects = core.engine_status("CP1", "KO", "fault", at(1))
    assert [e.event for e in of(effects, fx.Announce)] == [
        StateChange("CP1", "ACTIVATED", "BROKEN")]
    fresh = core.register("CP2", "Lugo", "0.3", frozenset({StopReason.KEY_REVOKED}), at(1))
    assert of(fresh, fx.Announce) == [] and core.view("CP2")["state"] == "STOPPED"
