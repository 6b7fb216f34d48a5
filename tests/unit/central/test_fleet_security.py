"""The fleet's security operations on a real store: a login issues and persists a key,
revocation ends the supply, tells the CP and deletes every key, a re-authentication
lifts ``key revoked`` only, a CP deregistered by another process is dropped by the sweep
and a location or price it changed takes effect there;
all of it audited, never a key."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from cloud.central import keys as keystore
from cloud.central.errors import UnknownCp
from cloud.central.fleet import Fleet
from cloud.central.framed import CommandLedger, FramedPort
from cloud.central.store import Store
from protocol import messages as m

START = datetime(2026, 1, 2, 10, tzinfo=UTC)


class Clocks:
    """Monotonic and wall time that move together, when a test says so."""

    def __init__(self) -> None:
        self.mono = 1000.0

    def __call__(self) -> float:
        return self.mono

    def wall(self) -> str:
        moment = START + timedelta(seconds=self.mono - 1000.0)
        return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


class Link(FramedPort):
    def __init__(self, cp_id: str) -> None:
        self.sent: list[m.Message] = []
        self.finished: list[tuple[str, bool]] = []
        super().__init__(cp_id, self.sent.append, CommandLedger(),
                         finish=lambda reason, revoked: self.finished.append((reason, revoked)))

    def actions(self) -> list[str]:
        return [x.action for x in self.sent if isinstance(x, m.Command)]


@pytest.fixture
def store(tmp_path):
    store = Store(str(tmp_path / "central.db"))
    store.add_cp("CP1", "Calle Mayor 1", "0.35")
    store.add_cp("CP2", "Campus", "0.40")
    store.add_driver("D1")
    yield store
    store.close()


@pytest.fixture
def clocks():
    return Clocks()


@pytest.fixture
def live(store, clocks):
    return Fleet(store, clock=clocks, wallclock=clocks.wall)


def online(fleet: Fleet, cp_id: str = "CP1", peer: str = "10.0.0.9:51000"):
    login = fleet.login(cp_id, peer)
    link = Link(cp_id)
    fleet.on_connected(cp_id, link)
    fleet.on_heartbeat(m.Heartbeat(cp_id=cp_id, engine="OK", state="available"))
    return login, link


def audited(store, *actions) -> list[dict]:
    return [r for r in reversed(store.audit_log(limit=1000)) if r["action"] in actions]


def test_a_login_issues_a_fresh_key_persisted_and_audited_never_the_key(live, store, clocks):
    login, _ = online(live)
    assert login.in_service and login.price_eur_kwh == "0.35"
    [row] = store.db.execute("SELECT key_id, key FROM cp_keys WHERE cp_id = 'CP1'").fetchall()
    assert row == (login.key.key_id, login.key.secret.hex())
    assert store.cp("CP1")["last_auth_at"] == clocks.wall()
    view = live.cp("CP1")
    assert (view["key_id"], view["key_issued_at"], view["last_auth_at"]) == (
        login.key.key_id, clocks.wall(), clocks.wall())
    assert view["registered_at"] == store.cp("CP1")["created_at"]
    assert [(r["action"], r["actor"], r["source"], r["cp_id"], r["params"])
            for r in audited(store, "auth ok", "key issued")] == [
        ("auth ok", "cp", "10.0.0.9:51000", "CP1", {}),
        ("key issued", "cp", "10.0.0.9:51000", "CP1", {"key_id": login.key.key_id})]
    everything = json.dumps(store.audit_log(limit=1000)) + json.dumps(live.cps())
    assert login.key.secret.hex() not in everything


def test_each_login_replaces_the_key_and_the_last_one_opens_data_for_ten_minutes(live, clocks):
    first = live.login("CP1", "10.0.0.9:1").key
    clocks.mono += 30
    second = live.login("CP1", "10.0.0.9:2").key
    assert first.key_id != second.key_id
    assert live.keys.for_data("CP1", first.key_id) == first  # a late MQTT message
    assert live.keys.for_data("CP2", second.key_id) is None  # another CP's
    clocks.mono += 600.5
    assert live.keys.for_data("CP1", first.key_id) is None
    assert live.keys.for_data("CP1", second.key_id) == second


def test_revoking_ends_the_supply_tells_the_cp_deletes_the_keys_and_stops_it(live, store, clocks):
    login, link = online(live)
    authorization = live.charge("CP1", "D1", "driver")
    live.on_supply_started(m.SupplyStarted(cp_id="CP1", session_id=authorization.session_id,
                                           started_at=clocks.wall(), price_eur_kwh="0.35",
                                           driver_id="D1"))
    live.on_heartbeat(m.Heartbeat(cp_id="CP1", engine="OK", state="supplying",
                                  session_id=authorization.session_id, driver_id="D1"))
    view = live.revoke_key("CP1", actor="admin@10.0.0.5")
    assert (view["state"], view["stop_reasons"], view["key_id"]) == (
        "STOPPED", ["key revoked"], None)
    end, revoked = link.sent[-2:]
    assert (end.action, end.session_id, end.reason) == (
        "end_supply", authorization.session_id, "key revoked")
    assert isinstance(revoked, m.KeyRevoked) and revoked.reason == "key revoked"
    assert link.finished == [("key revoked", True)]
    assert store.db.execute("SELECT count(*) FROM cp_keys").fetchone()[0] == 0
    assert live.keys.for_data("CP1", login.key.key_id) is None
    assert store.cp("CP1")["stop_reasons"] == "key revoked"
    [record] = audited(store, "key revoked")
    assert (record["actor"], record["source"], record["params"]) == (
        "admin", "10.0.0.5", {"key_ids": [login.key.key_id], "link": "closed"})
    live.on_disconnected("CP1", "key revoked")
    assert live.cp("CP1")["state"] == "STOPPED"  # even while its link is down
    with pytest.raises(UnknownCp):
        live.revoke_key("CP9")


def test_the_next_login_lifts_key_revoked_and_no_other_reason(live, store):
    online(live)
    live.stop("CP1", actor="alice")
    live.revoke_key("CP1", actor="admin@10.0.0.5")
    live.on_disconnected("CP1", "key revoked")
    restarted = Fleet(store, clock=live.clock, wallclock=live.wallclock)  # persisted
    assert restarted.cp("CP1")["stop_reasons"] == ["admin", "key revoked"]
    login, link = online(restarted, peer="10.0.0.9:52000")
    assert not login.in_service and store.cp("CP1")["stop_reasons"] == "admin"
    assert link.actions() == ["stop"]
    assert restarted.cp("CP1")["state"] == "STOPPED"
    assert restarted.cp("CP1")["stop_reasons"] == ["admin"]
    [lifted] = [r for r in audited(store, "resume") if r["params"]["reason"] == "key revoked"]
    assert (lifted["actor"], lifted["source"], lifted["params"]["remaining"]) == (
        "cp", "10.0.0.9:52000", ["admin"])


def test_a_restarted_central_opens_what_was_sealed_before(live, store):
    key = live.login("CP1", "10.0.0.9:1").key
    restarted = Fleet(store, clock=live.clock, wallclock=live.wallclock)
    assert restarted.keys.for_data("CP1", key.key_id) == key
    assert restarted.cp("CP1")["key_id"] == key.key_id


def test_a_cp_deregistered_elsewhere_is_dropped_by_the_next_sweep(live, store, clocks):
    login, link = online(live, "CP2")
    other = Store(store.path)  # the registry, another process on the same file
    with other.lock, other.db.conn:
        other.db.execute("DELETE FROM cps WHERE id = 'CP2'")
    clocks.mono += 0.2
    live.sweep()
    assert link.finished == [("CP deregistered", False)]
    assert live.cp("CP2") is None and [cp["id"] for cp in live.cps()] == ["CP1"]
    assert keystore.key_state(store.db.conn, "CP2")["has_key"] is False
    assert live.keys.for_data("CP2", login.key.key_id) is None
    assert live.login("CP2", "10.0.0.9:3") is None
    assert "CP2: deregistered: its link is dropped" in [
        f"{x['cp_id']}: {x['text']}" for x in live.messages()]
    other.close()


def test_a_location_or_price_changed_elsewhere_takes_effect_at_the_next_sweep(live, store,
                                                                              clocks):
    online(live, "CP2")
    live.sweep()
    assert (live.cp("CP2")["location"], live.cp("CP2")["price_eur_kwh"]) == ("Campus", "0.40")
    other = Store(store.path)  # the registry, another process on the same file
    other.update_cp("CP2", "Campus, bay 4", "0.45")
    clocks.mono += 0.2
    live.sweep()
    view = live.cp("CP2")
    assert (view["location"], view["price_eur_kwh"], view["state"]) == (
        "Campus, bay 4", "0.45", "ACTIVATED")
    assert (live.cp("CP1")["location"], live.cp("CP1")["price_eur_kwh"]) == (
        "Calle Mayor 1", "0.35")
    other.close()


def test_a_cp_registered_on_the_row_of_a_deregistered_one_is_noticed(live, store, clocks):
    # SQLite gives a new row the rowid of the last row if that was deleted
    live.deregister_cp("CP2", "admin")
    live.add_cp("CP3", "Harbour", "0.30")
    assert live.cp("CP3")["location"] == "Harbour"
    other = Store(store.path)  # the registry, another process: the same, between sweeps
    with other.lock, other.db.conn:
        other.db.execute("DELETE FROM cps WHERE id = 'CP3'")
    other.add_cp("CP4", "Airport", "0.50")
    clocks.mono += 0.2
    live.sweep()
    assert [cp["id"] for cp in live.cps()] == ["CP1", "CP4"]
    live.deregister_cp("CP4", "admin")
    other.add_cp("CP5", "Station", "0.50")
    online(live, "CP5")  # logs in before any sweep
    assert live.cp("CP5")["state"] == "ACTIVATED"
    live.deregister_cp("CP5", "admin")
    other.add_cp("CP6", "Depot", "0.50")  # changed through the API before any sweep
    assert live.change_cp("CP6", "admin", location="Depot, gate 2")["location"] == \
        "Depot, gate 2"
    live.deregister_cp("CP6", "admin")
    other.add_cp("CP7", "Depot", "0.50")  # an OCPP charger logs in before any sweep
    assert live.ocpp_login("CP7", "10.0.0.7:5000") and live.cp("CP7") is not None
    other.close()


def test_key_problems_replays_refused_input_and_failures_are_counted_and_audited(live, store):
    online(live)
    live.on_key_mismatch("CP1", "10.0.0.9:51000", "does not open", "control")
    live.on_replay("CP1", "kafka cp.telemetry[0]@7", "telemetry", "M1")
    live.on_frame_rejected("CP1", "bad LRC", "10.0.0.9:51000")
    live.on_failure("kafka cp.events[0]@9", "could not handle it", "CP1")
    metrics = live.metrics()
    assert (metrics["key_mismatches_total"], metrics["replays_total"],
            metrics["frames_rejected_total"]) == (1, 1, 1)
    assert live.cp("CP1")["key_problems"] == 1
    assert [(r["action"], r["outcome"]) for r in audited(
        store, "key mismatch", "replayed", "refused input", "error")] == [
        ("key mismatch", "refused"), ("replayed", "refused"), ("refused input", "refused"),
        ("error", "failed")]
