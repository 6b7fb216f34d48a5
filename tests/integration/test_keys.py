"""Per-CP keys end to end, with real processes and brokers: engines and monitors,
Central, the bridge, Mosquitto and Tansu.  A revoked key takes a CP out of service
until its monitor re-authenticates, with nothing lost or billed twice; a tampered,
replayed or foreign MQTT payload is refused, audited and never applied, and the other
CP goes on."""

from __future__ import annotations

import json
import sqlite3
import threading
import time
import urllib.parse
from decimal import Decimal

import paho.mqtt.client as mqtt
import pytest

from protocol.topics import mqtt_topic
from tests.integration.conftest import LiveNetwork, start_supply
from tests.integration.test_data_plane import drained
from tests.integration.test_engine import journaled_kwh
from tests.support import wait_for

pytestmark = pytest.mark.integration


@pytest.fixture
def keyed(tmp_path, brokers):
    kafka, broker = brokers
    live = LiveNetwork(tmp_path / "net", 2, kafka=kafka.address, mqtt=broker.address)
    live.start_central()
    live.start_bridge()
    live.start_cps()
    for cp in live.cps:
        live.wait_state(cp.cp_id, "ACTIVATED", 20)
    yield live
    live.stop()


def audit(live: LiveNetwork, **where: str) -> list[dict]:
    return live.post("/api/audit?" + urllib.parse.urlencode(where), "GET")


def actions(live: LiveNetwork, cp_id: str) -> list[str]:
    return [row["action"] for row in audit(live, cp_id=cp_id, limit="500")]


def reauth(live: LiveNetwork, cp_id: str) -> str:
    return live.net.run(["ev-cp-m", "reauth", "--control", live.controls[cp_id]])


def current_key_id(live: LiveNetwork, cp_id: str) -> str:
    with sqlite3.connect(live.db) as db:
        [(key_id,)] = db.execute("SELECT key_id FROM cp_keys WHERE cp_id = ? AND retired_at "
                                 "IS NULL", [cp_id]).fetchall()
    return key_id


def session(live: LiveNetwork, session_id: str) -> dict:
    return next(s for s in live.get("/api/sessions") if s["id"] == session_id)


def unplug_all(live: LiveNetwork) -> None:
    for cp in live.cps:
        if live.panel(cp, "status")["state"] == "supplying":
            live.panel(cp, "press", "plug")
        live.wait_state(cp.cp_id, "ACTIVATED", 10)


def ledger_balances(live: LiveNetwork) -> None:
    wait_for(lambda: drained(live), 20, interval=0.5)
    wait_for(lambda: live.journal_totals() == live.central_totals(), 20, interval=0.5)


def test_a_key_revoked_during_a_supply_ends_it_and_reauthentication_brings_the_cp_back(keyed):
    live = keyed
    cp, other = live.cps
    first = start_supply(live, cp)
    wait_for(lambda: journaled_kwh(live.net.workdir / "cps" / cp.cp_id, first) > 0)
    start_supply(live, other)
    key_before = current_key_id(live, cp.cp_id)

    revoked = live.post(f"/api/cps/{cp.cp_id}/key", "DELETE")
    assert (revoked["key_id"], revoked["stop_reasons"]) == (None, ["key revoked"])
    live.wait_state(cp.cp_id, "STOPPED", 3)
    assert "key revoked" in live.get(f"/api/cps/{cp.cp_id}")["stop_reasons"]
    assert live.state(other.cp_id) == "SUPPLYING"  # the other CP goes on
    wait_for(lambda: live.panel(cp, "status")["state"] != "supplying", 5)  # the engine ended it
    time.sleep(1.5)  # the monitor does not log in again by itself
    assert live.state(cp.cp_id) == "STOPPED"

    out = reauth(live, cp.cp_id)
    live.wait_state(cp.cp_id, "ACTIVATED", 10)
    # the engine kept the supply's record and sends it under the new key
    ended = wait_for(lambda: (s := session(live, first))["status"] == "ended" and s, 10)
    assert "key revoked" in ended["reason"]
    key_after = current_key_id(live, cp.cp_id)
    assert f"logged in to Central at {live.central} (key {key_after})" in out
    assert key_after != key_before and live.get(f"/api/cps/{cp.cp_id}")["key_id"] == key_after
    live.panel(cp, "press", "request")  # the vehicle is still plugged in
    live.wait_state(cp.cp_id, "SUPPLYING")
    second = live.get(f"/api/cps/{cp.cp_id}")["session_id"]
    wait_for(lambda: journaled_kwh(live.net.workdir / "cps" / cp.cp_id, second) > 0)
    unplug_all(live)
    ledger_balances(live)
    kwh, eur, count = live.central_totals()
    assert count == 3 and kwh > 0 and eur == sum(
        (Decimal(s["eur"]) for s in live.get("/api/sessions")), Decimal(0))
    seen = actions(live, cp.cp_id)
    for action in ("key issued", "key revoked", "auth ok"):
        assert action in seen, seen
    keys = live.keys_hex()
    logs = live.log("central") + live.log(f"{cp.cp_id}-monitor") + live.log(
        f"{cp.cp_id}-engine") + json.dumps(audit(live, limit="500"))
    assert keys and not any(key in logs for key in keys)  # key ids only, never a key


class Tap:
    """What the engines publish on their telemetry topics, as it goes by."""

    def __init__(self, address: str) -> None:
        host, port = address.rsplit(":", 1)
        self.seen: list[tuple[str, bytes]] = []
        self.lock = threading.Lock()
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="test-tap")
        self.client.on_message = self._message
        self.client.connect(host, int(port))
        self.client.subscribe("evcharging/cp/+/telemetry", qos=1)
        self.client.loop_start()

    def _message(self, client, userdata, message) -> None:
        with self.lock:
            self.seen.append((message.topic, message.payload))

    def envelopes(self, cp_id: str) -> list[dict]:
        with self.lock:
            return [json.loads(p) for t, p in self.seen if t == mqtt_topic(cp_id, "telemetry")]

    def publish(self, cp_id: str, envelope: dict) -> None:
        self.client.publish(mqtt_topic(cp_id, "telemetry"), json.dumps(envelope),
                            qos=1).wait_for_publish(5)

    def close(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()


def test_tampered_replayed_and_foreign_payloads_are_refused_audited_and_never_applied(keyed):
    live = keyed
    cp, other = live.cps
    tap = Tap(live.mqtt)
    try:
        start_supply(live, cp)
        start_supply(live, other)
        wait_for(lambda: len(tap.envelopes(cp.cp_id)) >= 2 and tap.envelopes(other.cp_id), 10)
        mine, theirs = tap.envelopes(cp.cp_id)[0], tap.envelopes(other.cp_id)[0]
        assert {"v", "cp_id", "key_id", "type", "id", "nonce", "ct"} <= set(mine)
        assert "kwh" not in mine  # sealed: the meter is not readable on the way
        wait_for(lambda: Decimal(live.get(f"/api/cps/{cp.cp_id}")["kwh"] or 0) > 0, 10)
        before = live.get(f"/api/cps/{cp.cp_id}")["kwh"]

        tampered = {**mine, "ct": mine["ct"][:-2] + ("AA" if mine["ct"][-2:] != "AA" else "BB")}
        foreign = {**theirs, "cp_id": cp.cp_id}  # another CP's key, moved to this CP
        for envelope in (tampered, mine, foreign):  # mine again: a replay
            tap.publish(cp.cp_id, envelope)
        wait_for(lambda: actions(live, cp.cp_id).count("key mismatch") >= 2
                 and "replayed" in actions(live, cp.cp_id), 15, interval=0.3)
        # nothing applied: the meter on the tile never goes back to the replayed reading
        readings = []
        deadline = time.monotonic() + 1.5
        while time.monotonic() < deadline:
            readings.append(Decimal(live.get(f"/api/cps/{cp.cp_id}")["kwh"]))
            time.sleep(0.05)
        assert min(readings) >= Decimal(before)
        assert live.state(cp.cp_id) == "SUPPLYING" and live.state(other.cp_id) == "SUPPLYING"
        problems = live.get(f"/api/cps/{cp.cp_id}")
        assert problems.get("key_problems"), problems
        assert not live.get(f"/api/cps/{other.cp_id}").get("key_problems")
        unplug_all(live)
        ledger_balances(live)
    finally:
        tap.close()
    for name in live.net.processes:
        assert live.net.processes[name].poll() is None, f"{name} exited"
    assert "Traceback" not in live.log("central") + live.log("bridge")
