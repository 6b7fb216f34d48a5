"""The data plane and drivers under failure, with real brokers and processes.

Engines publish over MQTT (QoS 1, SQLite outbox) sealed under their CP's key, the bridge
relays the envelopes into Kafka, Central opens and consumes them (the tests read Kafka
with the keys Central keeps in its ``cp_keys`` table); drivers talk to Central over
Kafka.  Each test ends with the ledger: what Central billed equals what the engines
journaled, to the cent, once.
"""

from __future__ import annotations

import json
import random
import signal
import sqlite3
import time
from pathlib import Path

import pytest
from confluent_kafka import Consumer

from protocol import seal
from protocol.topics import CP_EVENTS, CP_TELEMETRY
from tests.integration.conftest import LiveNetwork
from tests.support import wait_for

pytestmark = pytest.mark.integration
CHARGE_S = 3


@pytest.fixture
def data_network(tmp_path, brokers):
    kafka, mqtt = brokers
    live = LiveNetwork(tmp_path / "net", 2, kafka=kafka.address, mqtt=mqtt.address,
                       engine_args=("--vehicle-sim", str(CHARGE_S)))
    live.kafka_broker, live.mqtt_broker = kafka, mqtt
    for driver in ("DRV-01", "DRV-02"):
        live.add_driver(driver)
    live.start_central()
    live.start_bridge()
    live.start_cps()
    for cp in live.cps:
        live.wait_state(cp.cp_id, "ACTIVATED", 20)
    yield live
    live.stop()


def opener(db: Path):
    """A record's value as its message (a dict), opened with the key Central keeps."""
    with sqlite3.connect(db) as conn:
        keys = {key_id: seal.Key(key_id, bytes.fromhex(key))
                for key_id, key in conn.execute("SELECT key_id, key FROM cp_keys")}

    def opened(value: bytes) -> dict:
        envelope = seal.parse(value)
        if envelope.key_id not in keys:  # past its grace: its clear parts only
            return {"type": envelope.type, "id": envelope.id, "cp_id": envelope.cp_id}
        return json.loads(seal.open_(keys[envelope.key_id], envelope))
    return opened


def kafka_messages(bootstrap: str, topic: str, settle: float = 3.0,
                   db: Path | None = None) -> list[dict]:
    """Every message of ``topic`` from the beginning (new group each time), opened with
    the keys of Central's database ``db``."""
    read = opener(db) if db is not None else json.loads
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": f"check-{time.time()}",
                         "auto.offset.reset": "earliest", "enable.auto.commit": False,
                         "session.timeout.ms": 2000, "heartbeat.interval.ms": 500,
                         "fetch.wait.max.ms": 20})
    consumer.subscribe([topic])
    out = []
    deadline = time.monotonic() + 30
    while not consumer.assignment() and time.monotonic() < deadline:  # group joined
        out += [read(m.value()) for m in consumer.consume(500, 0.2) if not m.error()]
    quiet_since = time.monotonic()
    while time.monotonic() - quiet_since < settle and time.monotonic() < deadline:
        batch = [m for m in consumer.consume(500, 0.2) if not m.error()]
        if batch:
            quiet_since = time.monotonic()
        out += [read(m.value()) for m in batch]
    consumer.close()
    return out


def ended_in_kafka(live: LiveNetwork) -> set[str]:
    events = kafka_messages(live.kafka, CP_EVENTS, settle=1.0, db=live.db)
    return {e.get("session_id") for e in events if e["type"] == "supply_ended"}


def supply_at_cp(live: LiveNetwork, cp) -> str:
    """A supply asked for at the CP; the simulated vehicle plugs in and leaves."""
    live.panel(cp, "press", "request")
    session = wait_for(lambda: live.get(f"/api/cps/{cp.cp_id}")["session_id"], 5)
    return session


def drained(live: LiveNetwork) -> bool:
    return all(live.panel(cp, "status").get("outbox") == 0 for cp in live.cps)


def settled(live: LiveNetwork) -> bool:
    """Every supply ended, every outbox empty, and Central agrees with the journals."""
    if any(live.state(cp.cp_id) != "ACTIVATED" for cp in live.cps) or not drained(live):
        return False
    return live.journal_totals() == live.central_totals()


def assert_ledger_balances(live: LiveNetwork, timeout: float = 30) -> None:
    try:
        wait_for(lambda: settled(live), timeout, interval=0.5)
    except TimeoutError:
        pass
    journal, central = live.journal_totals(), live.central_totals()
    assert journal == central, f"journals {journal} != Central {central}"
    assert journal[2] > 0
    ids = [s["id"] for s in live.get("/api/sessions") if s["status"] == "ended"]
    assert len(ids) == len(set(ids))


def test_drivers_work_through_their_files_unattended(data_network):
    live = data_network
    a, b = live.cps
    files = {"DRV-01": [a.cp_id, b.cp_id], "DRV-02": [b.cp_id, a.cp_id]}
    for driver, cps in files.items():
        path = live.net.workdir / f"{driver}.txt"
        path.write_text("\n".join(cps) + "\n")
        live.start_driver(driver, "--file", str(path))
    for driver in files:
        process = live.process(driver)
        process.wait(90)
        assert process.returncode == 0, live.log(driver)
    assert_ledger_balances(live)
    for driver in files:
        sessions = live.get(f"/api/sessions?driver_id={driver}")
        assert any(s["status"] == "ended" for s in sessions), sessions
        assert "kWh" in live.log(driver)


def test_telemetry_shows_live_on_the_tile(data_network):
    live = data_network
    cp = live.cps[0]
    supply_at_cp(live, cp)
    view = wait_for(lambda: (v := live.get(f"/api/cps/{cp.cp_id}"))["kwh"] and v, 5)
    assert view["state"] == "SUPPLYING" and float(view["kw"]) > 0
    live.wait_state(cp.cp_id, "ACTIVATED", CHARGE_S + 5)
    assert live.get(f"/api/cps/{cp.cp_id}")["kwh"] is None


def test_bridge_killed_for_30s_loses_nothing_and_bills_once(data_network):
    live = data_network
    live.signal("bridge", signal.SIGKILL)
    sessions = []
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline - (CHARGE_S + 3):
        for cp in live.cps:
            sessions.append(supply_at_cp(live, cp))
        for cp in live.cps:
            live.wait_state(cp.cp_id, "ACTIVATED", CHARGE_S + 6)
    time.sleep(max(0.0, deadline - time.monotonic()))
    # Mosquitto queues for the bridge's persistent session meanwhile: nothing reached
    # Kafka while the bridge was away
    assert not {e.get("session_id")
                for e in kafka_messages(live.kafka, CP_EVENTS, 1.0, live.db)} & set(sessions)
    live.start_bridge()
    assert_ledger_balances(live, 40)
    wait_for(lambda: set(sessions) <= ended_in_kafka(live), 40, interval=0.5)
    telemetry = [t for t in kafka_messages(live.kafka, CP_TELEMETRY, db=live.db)
                 if t["session_id"] in sessions]
    ids = [t["id"] for t in telemetry]
    assert len(set(ids)) >= len(sessions) * (CHARGE_S - 1)
    for session in sessions:  # per supply, every second arrived: kWh never jumps back
        kwh = [float(t["kwh"]) for t in sorted(
            (t for t in telemetry if t["session_id"] == session), key=lambda t: t["ts"])]
        assert kwh == sorted(kwh) and len(kwh) >= CHARGE_S - 1


def test_mqtt_broker_restart_engines_reconnect_and_drain(data_network):
    live = data_network
    cp = live.cps[0]
    session = supply_at_cp(live, cp)
    live.mqtt_broker.stop()
    live.wait_state(cp.cp_id, "ACTIVATED", CHARGE_S + 6)  # the control plane goes on
    assert not drained(live)
    live.mqtt_broker.start()
    wait_for(lambda: drained(live), 20, interval=0.5)
    wait_for(lambda: session in ended_in_kafka(live), 40, interval=0.5)
    assert_ledger_balances(live)


def test_kafka_unreachable_is_degraded_and_nothing_is_lost(data_network):
    live = data_network
    cp = live.cps[0]
    live.kafka_broker.stop()
    wait_for(lambda: live.get("/healthz")["status"] == "degraded", 15, interval=0.5)
    session = supply_at_cp(live, cp)  # the control plane still works
    live.wait_state(cp.cp_id, "ACTIVATED", CHARGE_S + 6)
    live.kafka_broker.start()  # empty: Tansu forgets everything
    wait_for(lambda: live.get("/healthz")["status"] == "ok", 30, interval=0.5)
    wait_for(lambda: drained(live), 30, interval=0.5)
    wait_for(lambda: session in ended_in_kafka(live), 40, interval=0.5)
    assert_ledger_balances(live)


def test_driver_killed_mid_supply_shows_the_ticket_when_back(data_network):
    live = data_network
    cp = live.cps[0]
    path = live.net.workdir / "one.txt"
    path.write_text(cp.cp_id + "\n")
    live.start_driver("DRV-01", "--file", str(path))
    live.wait_state(cp.cp_id, "SUPPLYING", 15)
    session = live.get(f"/api/cps/{cp.cp_id}")["session_id"]
    live.signal("DRV-01", signal.SIGKILL)
    live.wait_state(cp.cp_id, "ACTIVATED", CHARGE_S + 6)
    row = next(s for s in live.get("/api/sessions") if s["id"] == session)
    live.start_driver("DRV-01")  # interactive, stdin closed: shows its status, then quits
    live.process("DRV-01").wait(30)
    log = live.log("DRV-01")
    assert row["kwh"] in log and row["eur"] in log, log[-2000:]


def test_ledger_balances_after_random_kills(data_network):
    live = data_network
    rng = random.Random(7)
    for driver, cps in {"DRV-01": live.cps, "DRV-02": live.cps[::-1]}.items():
        path = live.net.workdir / f"{driver}.txt"
        path.write_text("\n".join(cp.cp_id for cp in cps * 3) + "\n")
        live.start_driver(driver, "--file", str(path))
    victims = ["bridge", "central"] + [f"{cp.cp_id}-{role}" for cp in live.cps
                                       for role in ("engine", "monitor")]
    restart = {"bridge": live.start_bridge, "central": live.start_central}
    for cp in live.cps:
        restart[f"{cp.cp_id}-engine"] = lambda cp=cp: live.start_engine(cp)
        restart[f"{cp.cp_id}-monitor"] = lambda cp=cp: live.start_monitor(cp)
    for _ in range(5):
        time.sleep(rng.uniform(2, 5))
        victim = rng.choice(victims)
        live.signal(victim, signal.SIGKILL)
        time.sleep(rng.uniform(0.5, 2))
        restart[victim]()
    for driver in ("DRV-01", "DRV-02"):
        live.process(driver).wait(120)
    assert_ledger_balances(live, 60)
