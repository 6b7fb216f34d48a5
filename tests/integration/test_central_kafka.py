"""``ev-central --kafka`` as a real process against real Tansu (Kafka) and a fake monitor.

The test plays the bridge (producing CP records and telemetry to ``cp.*``, sealed under
the key the fake monitor was issued at its login, as its engine seals them) and the
driver app (producing to ``driver.requests``, reading ``driver.updates``).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import threading
import time
import urllib.request

import pytest
from confluent_kafka import Consumer, Producer

from protocol import data, seal
from protocol import driver as d
from protocol import messages as m
from protocol.topics import CP_EVENTS, CP_TELEMETRY, DEADLETTER, DRIVER_REQUESTS, DRIVER_UPDATES
from tests.integration.test_cp_server import FakeMonitor
from tests.support import (
    BIN,
    free_port,
    in_clear,
    spawn,
    stop,
    tampered,
    wait_for,
    wait_port,
)

pytestmark = pytest.mark.integration
SESSION_MS = "2000"


class Monitor(FakeMonitor):
    """A fake monitor that keeps heartbeating what its engine is said to be doing."""

    def __init__(self, address: str, cp_id: str, secret: str) -> None:
        super().__init__(address, cp_id)
        assert isinstance(self.login(secret), m.Welcome)
        self.state, self.session_id, self.driver_id = "available", None, None
        self._beating = True
        self.heartbeat()
        threading.Thread(target=self._beat, daemon=True).start()

    def _beat(self) -> None:
        while self._beating and not self.closed:
            self.heartbeat(state=self.state, session_id=self.session_id,
                           driver_id=self.driver_id)
            time.sleep(0.5)

    def engine(self, state: str, session_id: str | None = None, driver_id: str | None = None):
        self.state, self.session_id, self.driver_id = state, session_id, driver_id

    def close(self) -> None:
        self._beating = False
        super().close()


class Reader:
    """Everything on some topics, from the start, in a background thread."""

    def __init__(self, bootstrap: str, *topics: str) -> None:
        self.records: list[tuple[str, bytes | None, bytes]] = []
        self._consumer = Consumer({
            "bootstrap.servers": bootstrap, "group.id": f"test-{m.new_id()}",
            "auto.offset.reset": "earliest", "session.timeout.ms": int(SESSION_MS),
            "heartbeat.interval.ms": 300, "fetch.wait.max.ms": 20})
        self._consumer.subscribe(list(topics))
        self._running = True
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        while self._running:
            for record in self._consumer.consume(100, 0.1):
                if record.error() is None:
                    self.records.append((record.topic(), record.key(), record.value()))

    def updates(self, driver_id: str) -> list[d.DriverMessage]:
        return [d.decode_update(value) for topic, key, value in list(self.records)
                if topic == DRIVER_UPDATES and key == driver_id.encode()]

    def expect(self, cls: type, driver_id: str = "D1", timeout: float = 10.0, **fields):
        def found():
            return next((u for u in self.updates(driver_id) if isinstance(u, cls) and all(
                getattr(u, k) == v for k, v in fields.items())), None)
        return wait_for(found, timeout, interval=0.05)

    def close(self) -> None:
        self._running = False
        self._thread.join(2)
        self._consumer.close()


class Events:
    """The dashboard's server-sent events, read in a background thread until Central
    stops (closing the response from another thread would wait for a keepalive)."""

    def __init__(self, url: str) -> None:
        self.events: list[tuple[str, object]] = []
        self._response = urllib.request.urlopen(url + "/events", timeout=60)
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        name = None
        try:
            for raw in self._response:
                line = raw.decode().rstrip("\n")
                if line.startswith("event: "):
                    name = line[7:]
                elif line.startswith("data: ") and name:
                    self.events.append((name, json.loads(line[6:])))
        except (OSError, ValueError, AttributeError):  # AttributeError: closed under us
            pass


def get(url: str):
    with urllib.request.urlopen(url, timeout=3) as response:
        return json.loads(response.read())


def metric(url: str, name: str) -> float:
    """One counter of Central's /metrics (0 before it counts anything)."""
    text = urllib.request.urlopen(url + "/metrics", timeout=3).read().decode()
    found = re.search(rf"^evcharging_{name} (\S+)$", text, re.MULTILINE)
    return float(found.group(1)) if found else 0.0


def healthz(url: str, wanted: dict, timeout: float) -> None:
    wait_for(lambda: get(url + "/healthz") == wanted, timeout, interval=0.2)


def ev_central(*args: str, db) -> str:
    done = subprocess.run([str(BIN / "ev-central"), *args, "--db", str(db)],
                          capture_output=True, text=True, timeout=30, check=True)
    return done.stdout.strip().splitlines()[-1]


@pytest.fixture
def central(brokers, tmp_path, output_dir):
    kafka, mqtt = brokers
    db = tmp_path / "central.db"
    secrets = {cp: ev_central("cp", "add", cp, "--location", f"street {cp}", "--price", "0.30",
                              db=db) for cp in ("CP1", "CP2")}
    for driver_id in ("D1", "D2"):
        ev_central("driver", "add", driver_id, db=db)
    listen, http = free_port(), free_port()
    process = spawn(["ev-central", "--listen", f"127.0.0.1:{listen}", "--http",
                     f"127.0.0.1:{http}", "--kafka", kafka.address, "--db", str(db),
                     "--admin-token", "tok"], output_dir / "central.log",
                    EV_KAFKA_SESSION_MS=SESSION_MS)
    os.environ["EV_KAFKA_SESSION_MS"] = SESSION_MS
    try:
        wait_port(listen)
        wait_port(http)
        url = f"http://127.0.0.1:{http}"
        monitor = Monitor(f"127.0.0.1:{listen}", "CP1", secrets["CP1"])
        wait_for(lambda: get(url + "/api/cps/CP1")["state"] == "ACTIVATED", 5)
        yield {"kafka": kafka, "mqtt": mqtt, "url": url, "monitor": monitor, "process": process,
               "secrets": secrets, "address": f"127.0.0.1:{listen}"}
        monitor.close()
    finally:
        stop(process)
    log = (output_dir / "central.log").read_text()
    assert "Traceback" not in log


def producer(bootstrap: str) -> Producer:
    return Producer({"bootstrap.servers": bootstrap, "linger.ms": 1})


def send(out: Producer, topic: str, key: str, message, sealing: seal.Key | None = None) -> None:
    """``message`` to ``topic``; a CP's message sealed under ``sealing`` (as relayed)."""
    value = m.encode(message)
    if sealing is not None:
        value = seal.seal(sealing, message.cp_id, message.TYPE, message.id, value,
                          seal.new_nonce())
    out.produce(topic, key=key, value=value)
    out.flush(5)


def test_drivers_supplies_telemetry_and_a_kafka_outage(central):
    kafka, url, monitor = central["kafka"], central["url"], central["monitor"]
    healthz(url, {"status": "ok", "kafka": True}, 10)
    out, reader = producer(kafka.address), Reader(kafka.address, DRIVER_UPDATES, DEADLETTER)

    # charge request -> Accepted, authorize on the CP's link -> Authorized
    request = d.ChargeRequest(driver_id="D1", cp_id="CP1")
    send(out, DRIVER_REQUESTS, "D1", request)
    accepted = reader.expect(d.Accepted, ref=request.id, timeout=20)
    command = monitor.expect(m.Command, 5)
    assert (command.action, command.session_id) == ("authorize", accepted.session_id)
    session = command.session_id
    monitor.send(m.CommandResult(cp_id="CP1", ref=command.id, ok=True))
    monitor.engine("authorized", session, "D1")
    assert reader.expect(d.Authorized, session_id=session).expires_in_s == 60

    # the bridge's copies of the records and the telemetry -> Plugged, Progress, live tile
    started = m.SupplyStarted(cp_id="CP1", session_id=session, started_at=m.utc_now(),
                              price_eur_kwh="0.30", driver_id="D1")
    send(out, CP_EVENTS, "CP1", started, monitor.key)
    monitor.engine("supplying", session, "D1")
    send(out, CP_TELEMETRY, "CP1", data.Telemetry(
        cp_id="CP1", session_id=session, kw="7.2", kwh="0.004", eur="0.0012",
        price_eur_kwh="0.30", driver_id="D1"), monitor.key)
    reader.expect(d.Plugged, session_id=session)
    assert reader.expect(d.Progress, session_id=session).kwh == "0.004"
    view = wait_for(lambda: (v := get(url + "/api/cps/CP1"))["kw"] and v, 5)
    assert (view["state"], view["kw"], view["kwh"], view["eur"], view["driver_id"]) == (
        "SUPPLYING", "7.2", "0.004", "0.0012", "D1")
    status = d.StatusRequest(driver_id="D1")
    send(out, DRIVER_REQUESTS, "D1", status)
    current = reader.expect(d.DriverStatus, ref=status.id).current
    assert (current["session_id"], current["kwh"]) == (session, "0.004")

    # the end record twice (once replayed): one Ticket, counted once
    ended = m.SupplyEnded(cp_id="CP1", session_id=session, started_at=started.started_at,
                          ended_at=m.utc_now(), kwh="0.004", eur="0.0012", price_eur_kwh="0.30",
                          reason="unplugged", driver_id="D1")
    send(out, CP_EVENTS, "CP1", ended, monitor.key)
    send(out, CP_EVENTS, "CP1", m.SupplyEnded(**{**vars(ended), "id": m.new_id()}),
         monitor.key)
    monitor.engine("available")
    ticket = reader.expect(d.Ticket, session_id=session)
    assert (ticket.kwh, ticket.eur, ticket.interrupted) == ("0.004", "0.0012", False)
    wait_for(lambda: get(url + "/api/cps/CP1")["kw"] is None, 5)
    # the replayed record (the third on cp.events) is handled; a status request sent
    # after that is answered after any Ticket it could have made, on the same partition
    wait_for(lambda: metric(url, "events_consumed_total") >= 3, 10)
    after = d.StatusRequest(driver_id="D1")
    send(out, DRIVER_REQUESTS, "D1", after)
    reader.expect(d.DriverStatus, ref=after.id)
    assert len([u for u in reader.updates("D1") if isinstance(u, d.Ticket)]) == 1
    [row] = get(url + "/api/sessions?cp_id=CP1")
    assert (row["status"], row["kwh"], row["eur"]) == ("ended", "0.004", "0.0012")

    # denials, a refused authorization, a list, a stop with nothing to stop
    pending = d.ChargeRequest(driver_id="D1", cp_id="CP1")
    send(out, DRIVER_REQUESTS, "D1", pending)
    reader.expect(d.Accepted, ref=pending.id)
    cases = [("D9", "CP1", "unknown driver"), ("D2", "CP1", "CP busy"),
             ("D2", "CP9", "unknown CP"), ("D2", "CP2", "disconnected")]
    for driver_id, cp_id, reason in cases:
        denied = d.ChargeRequest(driver_id=driver_id, cp_id=cp_id)
        send(out, DRIVER_REQUESTS, driver_id, denied)
        assert reader.expect(d.Denied, driver_id, ref=denied.id).reason == reason
    refused = monitor.expect(m.Command, 5)
    monitor.send(m.CommandResult(cp_id="CP1", ref=refused.id, ok=False, reason="engine busy"))
    cancelled = reader.expect(d.Cancelled, session_id=refused.session_id)
    assert "refused by the CP" in cancelled.reason
    listing = d.ListRequest(driver_id="D2")
    send(out, DRIVER_REQUESTS, "D2", listing)
    wait_for(lambda: get(url + "/api/cps/CP1")["state"] == "ACTIVATED", 5)
    assert reader.expect(d.CpList, "D2", ref=listing.id).cps in (
        [], [{"id": "CP1", "location": "street CP1", "price_eur_kwh": "0.30",
              "state": "ACTIVATED"}])
    stop_request = d.StopRequest(driver_id="D2")
    send(out, DRIVER_REQUESTS, "D2", stop_request)
    assert reader.expect(d.Denied, "D2", ref=stop_request.id).reason == "no supply under way"

    # malformed -> deadletter with a reason
    out.produce(DRIVER_REQUESTS, key="D1", value=b'{"type": "charge_request", "driver_id": "D1"}')
    out.flush(5)
    letter = wait_for(lambda: next((json.loads(v) for t, _, v in list(reader.records)
                                    if t == DEADLETTER), None), 10)
    assert "missing field 'cp_id'" in letter["reason"] and letter["topic"] == DRIVER_REQUESTS
    reader.close()

    # Kafka down: Central goes on, degraded; back (empty): ok, and requests work again
    events = Events(url)
    kafka.stop()
    healthz(url, {"status": "degraded", "kafka": False}, 10)
    banner = wait_for(lambda: next((e for n, e in events.events if n == "kafka"), None), 5)
    assert banner["text"] == f"Kafka unreachable at {kafka.address}: live telemetry and " \
                             "driver requests paused"
    assert get(url + "/api/cps/CP1")["state"] == "ACTIVATED"  # the control plane goes on
    kafka.start()
    healthz(url, {"status": "ok", "kafka": True}, 15)
    wait_for(lambda: [e for n, e in events.events if n == "kafka" and e["up"]], 5)
    out, reader = producer(kafka.address), Reader(kafka.address, DRIVER_UPDATES)
    again = d.ChargeRequest(driver_id="D1", cp_id="CP1")
    send(out, DRIVER_REQUESTS, "D1", again)
    reader.expect(d.Accepted, ref=again.id, timeout=20)
    reader.close()
    metrics = urllib.request.urlopen(url + "/metrics", timeout=3).read().decode()
    for name in ("kafka_up 1", "events_consumed_total", "telemetry_consumed_total 1",
                 "driver_requests_total", "deadlettered_total 1"):
        assert f"evcharging_{name}" in metrics


def audit(url: str, action: str) -> list[dict]:
    request = urllib.request.Request(f"{url}/api/audit?action={action.replace(' ', '%20')}",
                                     headers={"Authorization": "Bearer tok"})
    with urllib.request.urlopen(request, timeout=3) as response:
        return json.loads(response.read())


def test_tampered_replayed_and_foreign_payloads_are_dead_lettered_and_audited(central):
    kafka, url, monitor = central["kafka"], central["url"], central["monitor"]
    other = Monitor(central["address"], "CP2", central["secrets"]["CP2"])
    out, reader = producer(kafka.address), Reader(kafka.address, DEADLETTER)

    def started(cp_id: str, session_id: str) -> m.SupplyStarted:
        return m.SupplyStarted(cp_id=cp_id, session_id=session_id, started_at=m.utc_now(),
                               price_eur_kwh="0.30")

    forged = started("CP1", "S-TAMPERED")
    value = seal.seal(monitor.key, "CP1", forged.TYPE, forged.id, m.encode(forged),
                      seal.new_nonce())
    out.produce(CP_EVENTS, key="CP1", value=tampered(value))
    send(out, CP_EVENTS, "CP1", started("CP1", "S-FOREIGN"), other.key)  # CP2's key
    genuine = started("CP1", "S-GENUINE")
    value = seal.seal(monitor.key, "CP1", genuine.TYPE, genuine.id, m.encode(genuine),
                      seal.new_nonce())
    for _ in range(2):  # the second time, a replay
        out.produce(CP_EVENTS, key="CP1", value=value)
    send(out, CP_EVENTS, "CP2", started("CP2", "S-CP2"), other.key)

    letters = wait_for(lambda: (found := [json.loads(v) for t, _, v in list(reader.records)
                                          if t == DEADLETTER]) and len(found) >= 3 and found,
                       15)
    reasons = sorted(letter["reason"] for letter in letters)
    assert len(reasons) == 3, reasons
    assert any("does not open" in r for r in reasons)
    assert any("is not a key of 'CP1'" in r for r in reasons)
    assert any(r.startswith("replayed: supply_started") for r in reasons)
    mismatches = wait_for(lambda: (rows := audit(url, "key mismatch")) and len(rows) == 2
                          and rows, 5)
    assert {row["cp_id"] for row in mismatches} == {"CP1"}
    assert all(row["params"]["plane"] == "data" for row in mismatches)
    [replayed] = audit(url, "replayed")
    assert replayed["params"] == {"type": "supply_started", "id": genuine.id}
    assert get(url + "/api/cps/CP1")["key_problems"] == 2
    sessions = {row["id"] for row in get(url + "/api/sessions")}
    assert sessions == {"S-GENUINE", "S-CP2"}  # nothing forged applied, CP2 unaffected
    assert metric(url, "key_mismatches_total") == 2 and metric(url, "replays_total") == 1
    text = json.dumps(mismatches) + json.dumps(letters)
    for key in (monitor.key, other.key):
        assert not any(secret in text for secret in in_clear(key.secret))
    reader.close()
    other.close()


def test_what_the_bridge_dead_letters_reaches_centrals_errors(central, tmp_path):
    """A real ev-bridge between real Mosquitto and Tansu: what it refuses on MQTT is
    counted by Central and shown on GET /api/errors (and the dashboard's Errors panel)."""
    import paho.mqtt.client as paho

    from tests.integration.test_bridge import BridgeProcess

    kafka, url = central["kafka"], central["url"]
    mqtt = central["mqtt"]
    bridge = BridgeProcess(tmp_path, kafka, mqtt).start()
    client = paho.Client(paho.CallbackAPIVersion.VERSION2, client_id="garbage-cp")
    client.connect("127.0.0.1", mqtt.port)
    client.loop_start()
    try:
        client.publish("evcharging/cp/CP1/events", b"{oops", qos=1).wait_for_publish(5)
        errors = wait_for(lambda: [e for e in get(url + "/api/errors")["errors"]
                                   if e["part"] == "bridge"], 20)
        [error] = errors
        assert error["cp_id"] == "CP1" and error["action"] == "refused input"
        assert error["text"].startswith("dead-lettered by the bridge: not a sealed envelope")
        assert metric(url, "bridge_deadletters_total") == 1
        assert metric(url, "deadlettered_total") == 0  # Central refused nothing itself
    finally:
        client.loop_stop()
        client.disconnect()
        stop(bridge.process, 10)
    assert "Traceback" not in bridge.log()
