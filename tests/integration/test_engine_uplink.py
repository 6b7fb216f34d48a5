"""The real ``ev-cp-e --mqtt`` process, a real Mosquitto and a paho subscriber that opens
the sealed payloads with the key the (fake) monitor handed the engine."""

from __future__ import annotations

import signal
import threading
import time
import uuid
from datetime import datetime

import paho.mqtt.client as mqtt
import pytest

from edge import keys
from protocol import data, seal
from protocol import messages as msg
from tests.integration.test_engine import CP, FakeMonitor, first_monitor, panel, start_engine
from tests.support import free_port, stop, wait_for

pytestmark = pytest.mark.integration
DATA_CODEC = msg.JsonCodec(data.DATA_TYPES)


KEY = seal.Key("k-0123456789ab", bytes(range(32)))


class Subscriber:
    """A persistent QoS 1 session on ``evcharging/cp/<CP>/#`` that keeps what arrives,
    opened with the keys it knows (``unopened``: what did not open)."""

    def __init__(self, address: str, known: tuple[seal.Key, ...] = (KEY,)) -> None:
        self.keys = {key.key_id: key for key in known}
        self.received: list[tuple[str, msg.Message, bool, int]] = []
        self.envelopes: list[seal.Envelope] = []
        self.unopened: list[str] = []
        self._lock = threading.Lock()
        host, port = address.split(":")
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2,
                                  client_id=f"test-{uuid.uuid4().hex[:8]}", clean_session=False)
        self.client.reconnect_delay_set(0.1, 0.5)
        self.client.on_connect = lambda c, *_: c.subscribe(f"evcharging/cp/{CP}/#", qos=1)
        self.client.on_message = self._on_message
        self.client.connect(host, int(port), keepalive=10)
        self.client.loop_start()

    def _on_message(self, client, userdata, message) -> None:
        kind = message.topic.rsplit("/", 1)[1]
        try:
            envelope = seal.parse(message.payload)
            key = self.keys.get(envelope.key_id)
            if key is None:
                raise seal.SealError(f"unknown key {envelope.key_id}")
            decoded = seal.open_message(DATA_CODEC, CP, key, message.payload)
        except seal.SealError as error:
            with self._lock:
                self.unopened.append(str(error))
            return
        data.check_kind(decoded, kind)
        with self._lock:
            self.envelopes.append(envelope)
            self.received.append((kind, decoded, bool(message.retain), message.qos))

    def of(self, cls) -> list:
        with self._lock:
            return [m for _, m, _, _ in self.received if isinstance(m, cls)]

    def unique(self, cls) -> dict[str, msg.Message]:
        return {m.id: m for m in self.of(cls)}

    def wait(self, cls, where=lambda m: True, timeout: float = 10.0):
        return wait_for(lambda: next((m for m in self.of(cls) if where(m)), None), timeout)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


class Rig:
    """One engine on fresh ports, publishing to ``broker``, watched by a subscriber; its
    log (output_dir/engine.log) starts empty."""

    def __init__(self, tmp_path, output_dir, broker) -> None:
        self.tmp_path, self.output_dir, self.broker = tmp_path, output_dir, broker
        self.listen, self.panel_port = free_port(), free_port()
        (output_dir / "engine.log").unlink(missing_ok=True)
        self.sub = Subscriber(broker.address)
        self.engine = None

    def start(self, *extra: str):
        self.engine = start_engine(self.tmp_path, self.output_dir, self.listen, self.panel_port,
                                   "--mqtt", self.broker.address, *extra)
        return self.engine

    def panel(self, *words: str) -> dict:
        return panel(self.panel_port, *words)


@pytest.fixture
def rig(tmp_path, output_dir, brokers):
    rig = Rig(tmp_path, output_dir, brokers[1])
    yield rig
    if rig.engine is not None:
        stop(rig.engine)
    rig.sub.close()


def authorize(monitor: FakeMonitor, session: str) -> msg.CommandResult:
    monitor.expect(msg.HealthReport, lambda r: r.state == "available")
    result = monitor.command("authorize", session_id=session, driver_id="D1",
                             price_eur_kwh="0.30")
    assert result.ok
    return result


def seconds(ts: str) -> float:
    return datetime.fromisoformat(ts.replace("Z", "+00:00")).timestamp()


def assert_no_gap(telemetry: list[data.Telemetry]) -> None:
    """One telemetry a second, none missing: consecutive ones are about 1 s apart."""
    times = sorted(seconds(t.ts) for t in telemetry)
    gaps = [b - a for a, b in zip(times, times[1:], strict=False)]
    assert gaps and max(gaps) < 1.6, gaps


def test_events_and_telemetry_arrive_with_qos1_and_the_outbox_empties(rig):
    sub, engine = rig.sub, rig.start()
    monitor = FakeMonitor(rig.listen).greet(KEY)
    status = sub.wait(data.CpStatus)
    assert status.status == "online"
    authorize(monitor, "S1")
    rig.panel("press", "plug")
    started = monitor.expect(msg.SupplyStarted)
    wait_for(lambda: len(sub.unique(data.Telemetry)) >= 2)  # two seconds of supply
    rig.panel("press", "plug")
    ended = monitor.expect(msg.SupplyEnded)
    sub.wait(msg.SupplyEnded)
    assert [m.id for m in sub.of(msg.SupplyStarted)] == [started.id]  # the same message
    assert sub.of(msg.SupplyEnded)[0] == ended
    telemetry = list(sub.unique(data.Telemetry).values())
    assert len(telemetry) >= 2
    assert {(t.session_id, t.driver_id, t.price_eur_kwh) for t in telemetry} == {
        ("S1", "D1", "0.30")}
    assert_no_gap(telemetry)
    states = [(s.state, s.session_id) for s in sub.of(data.StateChanged)]
    assert states == [("available", None), ("authorized", "S1"), ("supplying", "S1"),
                      ("available", None)]
    assert [b.button for b in sub.of(data.ButtonPressed)] == ["plug", "plug"]
    assert {qos for *_, qos in sub.received} == {1}
    assert {kind for kind, m, *_ in sub.received if isinstance(m, data.Telemetry)} == {
        "telemetry"}
    wait_for(lambda: rig.panel("status")["outbox"] == 0, 5)
    assert rig.panel("status")["mqtt"] is True
    assert {(e.cp_id, e.key_id) for e in sub.envelopes} == {(CP, KEY.key_id)}
    assert sub.unopened == []
    monitor.close()
    stop(engine)
    assert engine.returncode == 0
    retained = Subscriber(rig.broker.address)  # a clean stop says offline, retained
    try:
        assert retained.wait(data.CpStatus).status == "offline"
        assert retained.received[0][2] is True
    finally:
        retained.close()


def test_a_broker_outage_during_a_supply_loses_nothing(rig, output_dir):
    sub, broker = rig.sub, rig.broker
    rig.start()
    monitor = FakeMonitor(rig.listen).greet(KEY)
    sub.wait(data.CpStatus)
    authorize(monitor, "S2")
    rig.panel("press", "plug")
    sub.wait(data.Telemetry)
    broker.stop()
    wait_for(lambda: rig.panel("status")["outbox"] >= 3, 6)
    assert rig.panel("status")["mqtt"] is False
    broker.start()
    wait_for(lambda: rig.panel("status")["mqtt"], 6)
    rig.panel("press", "plug")
    ended = monitor.expect(msg.SupplyEnded)
    wait_for(lambda: rig.panel("status")["outbox"] == 0, 6)
    sub.wait(msg.SupplyEnded, timeout=6)
    telemetry = list(sub.unique(data.Telemetry).values())
    assert len(telemetry) >= 5
    assert_no_gap(telemetry)
    assert sub.of(msg.SupplyStarted)[0].session_id == "S2"
    assert sub.unique(msg.SupplyEnded) == {ended.id: ended}
    log = (output_dir / "engine.log").read_text()
    assert log.count("cannot reach MQTT broker at") == 1
    assert "uplink.py" not in log and "paho" not in log  # no traceback of ours
    monitor.close()


def test_a_killed_engine_goes_offline_and_sends_its_outbox_after_restart(rig):
    sub, broker = rig.sub, rig.broker
    engine = rig.start()
    FakeMonitor(rig.listen).greet(KEY)
    assert sub.wait(data.CpStatus).status == "online"
    engine.send_signal(signal.SIGKILL)  # the last will: offline, retained, sealed
    engine.wait(5)
    sub.wait(data.CpStatus, lambda s: s.status == "offline")

    engine = rig.start()
    monitor = first_monitor(rig.listen, KEY)
    authorize(monitor, "S3")
    rig.panel("press", "plug")
    started = monitor.expect(msg.SupplyStarted)
    sub.wait(msg.SupplyStarted)
    broker.stop()
    wait_for(lambda: rig.panel("status")["outbox"] >= 2, 6)
    engine.send_signal(signal.SIGKILL)
    engine.wait(5)
    cut = time.time()
    broker.start()
    rig.start()
    first_monitor(rig.listen, KEY)  # the key lives in memory only: the monitor hands it again
    ended = sub.wait(msg.SupplyEnded, timeout=8)
    assert (ended.session_id, ended.reason) == ("S3", "engine restarted")
    offline_telemetry = [t for t in sub.of(data.Telemetry) if seconds(t.ts) < cut]
    assert_no_gap(offline_telemetry)
    assert {m.id for m in sub.of(msg.SupplyStarted)} == {started.id}  # maybe twice
    wait_for(lambda: rig.panel("status")["outbox"] == 0, 5)
    status = sub.wait(data.CpStatus, lambda s: s.status == "online" and seconds(s.ts) > cut)
    assert status.cp_id == CP
    assert sub.unopened == []


def test_the_simulated_vehicle_plugs_in_and_unplugs_by_itself(rig):
    sub = rig.sub
    rig.start("--vehicle-sim", "1.5")
    monitor = FakeMonitor(rig.listen).greet(KEY)
    result = authorize(monitor, "S4")
    started = monitor.expect(msg.SupplyStarted)
    # the engine's own times: it plugs a second after the authorization, unplugs 1.5 s
    # into the supply (exact times on a hand-turned clock: tests/unit/engine/test_service_uplink)
    assert seconds(started.started_at) - seconds(result.ts) >= 0.95
    ended = monitor.expect(msg.SupplyEnded)
    assert (ended.session_id, ended.reason) == ("S4", "unplugged")
    assert seconds(ended.ended_at) - seconds(ended.started_at) >= 1.45

    authorize(monitor, "S5")  # a supply ended by a fault: the vehicle unplugs too
    monitor.expect(msg.SupplyStarted, lambda s: s.session_id == "S5")
    rig.panel("press", "fault")
    assert monitor.expect(msg.SupplyEnded).reason == "fault"
    wait_for(lambda: not rig.panel("status")["plugged"])
    wait_for(lambda: len(sub.of(data.ButtonPressed)) >= 5)
    assert [b.button for b in sub.of(data.ButtonPressed)] == [
        "plug", "plug", "plug", "fault", "plug"]
    monitor.close()


def test_a_new_key_reseals_what_waits_and_a_revoked_key_holds_everything(rig):
    newer, last = seal.Key("k-newer", bytes(32)), seal.Key("k-last", bytes([9]) * 32)
    sub = rig.sub
    sub.keys.update({newer.key_id: newer, last.key_id: last})
    engine = rig.start()
    monitor = FakeMonitor(rig.listen).greet(KEY)
    sub.wait(data.CpStatus)
    monitor.conn.send(keys.issued(CP, newer))  # a new login: the uplink connects again
    online = sub.wait(data.CpStatus, lambda s: s.status == "online" and s.id != sub.of(
        data.CpStatus)[0].id)
    assert next(e for e in sub.envelopes if e.id == online.id).key_id == newer.key_id
    authorize(monitor, "S6")
    rig.panel("press", "plug")
    sub.wait(data.Telemetry)
    monitor.conn.send(msg.KeyRevoked(cp_id=CP, reason="restore keys"))
    ended = monitor.expect(msg.SupplyEnded)  # on the framed link at once, journaled
    assert (ended.session_id, ended.reason) == ("S6", "key revoked")
    wait_for(lambda: rig.panel("status")["key_revoked"], 5)
    status = rig.panel("status")
    assert (status["state"], status["key_id"], status["mqtt"]) == ("available", None, False)
    seen = len(sub.received)
    rig.panel("press", "fault")  # events while revoked wait in the outbox
    rig.panel("press", "fault")
    time.sleep(1.5)
    assert len(sub.received) == seen and rig.panel("status")["outbox"] >= 3
    refused = monitor.command("authorize", session_id="S7", driver_id="D1",
                              price_eur_kwh="0.30")
    assert (refused.ok, refused.reason) == (False, "key revoked")

    monitor.conn.send(keys.issued(CP, last))  # re-authenticated: everything goes, resealed
    assert sub.wait(msg.SupplyEnded, timeout=8) == ended
    wait_for(lambda: rig.panel("status")["outbox"] == 0, 5)
    late = sub.envelopes[seen:]
    assert late and {e.key_id for e in late} == {last.key_id}
    assert [b.button for b in sub.of(data.ButtonPressed)][-2:] == ["fault", "fault"]
    assert sub.unopened == []
    monitor.close()
    stop(engine)
    retained = Subscriber(rig.broker.address, (last,))  # the clean stop's offline: newest key
    try:
        assert retained.wait(data.CpStatus).status == "offline"
    finally:
        retained.close()
