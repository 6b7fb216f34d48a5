"""ev-bridge against a real Tansu and Mosquitto: relays, dead letters, outages, kills.

The CPs' payloads are sealed under their keys (protocol.seal), as the engine publishes
them; the bridge checks the envelopes and relays them unopened."""

from __future__ import annotations

import json
import signal
import time
import urllib.request

import paho.mqtt.client as paho
import pytest
from confluent_kafka import Consumer

from protocol import data, seal
from protocol.codec import JsonCodec
from protocol.messages import encode
from protocol.topics import CP_EVENTS, CP_TELEMETRY, DEADLETTER, mqtt_topic
from runtime.kafka import consumer_config
from tests.support import free_port, spawn, stop, wait_for

pytestmark = pytest.mark.integration


@pytest.fixture(autouse=True)
def quick_groups(monkeypatch):
    monkeypatch.setenv("EV_KAFKA_SESSION_MS", "2000")


class BridgeProcess:
    def __init__(self, tmp_path, kafka, mqtt) -> None:
        self.log_path = tmp_path / "bridge.log"
        self.metrics = f"127.0.0.1:{free_port()}"
        self.args = ["ev-bridge", "--mqtt", mqtt.address, "--kafka", kafka.address,
                     "--client-id", "bridge-test", "--metrics", self.metrics]
        self.process = None

    def start(self) -> BridgeProcess:
        before = self.log().count("subscribed to")
        self.process = spawn(self.args, self.log_path)
        wait_for(lambda: self.log().count("subscribed to") > before, 15)
        return self

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def counters(self) -> dict[str, int]:
        with urllib.request.urlopen(f"http://{self.metrics}/metrics", timeout=2) as response:
            lines = response.read().decode().splitlines()
        return {k.removeprefix("evbridge_"): int(v)
                for k, v in (line.split() for line in lines if not line.startswith("#"))}


@pytest.fixture
def bridge(tmp_path, brokers):
    kafka, mqtt = brokers
    process = BridgeProcess(tmp_path, kafka, mqtt).start()
    yield process
    stop(process.process, 10)  # may flush for 5 s
    assert "Traceback" not in process.log()


@pytest.fixture
def publisher(brokers):
    _, mqtt = brokers
    client = paho.Client(paho.CallbackAPIVersion.VERSION2, client_id="test-cp",
                         clean_session=True)
    client.max_inflight_messages_set(100)
    client.connect("127.0.0.1", mqtt.port)
    client.loop_start()

    def publish(topic: str, payload: bytes) -> None:
        client.publish(topic, payload, qos=1).wait_for_publish(5)

    yield publish
    client.loop_stop()
    client.disconnect()


KEYS = {cp: seal.Key(f"k-{n:012x}", bytes([n]) * 32)
        for n, cp in enumerate(("CP-1", "CP-2", "TLS3"))}


def sealed(message, key: seal.Key | None = None) -> bytes:
    """``message`` as its engine publishes it: sealed under its CP's key."""
    key = key or KEYS[message.cp_id]
    return seal.SealingCodec(JsonCodec(data.DATA_TYPES), message.cp_id, key).encode(message)


def records(bootstrap: str, topics: list[str], count: int, timeout: float = 20.0) -> list:
    """At least ``count`` records of ``topics`` from the beginning, in a new group."""
    config = consumer_config(bootstrap, f"check-{time.monotonic_ns()}")
    consumer = Consumer(config)
    consumer.subscribe(topics)
    out, deadline = [], time.monotonic() + timeout
    while len(out) < count and time.monotonic() < deadline:
        out += [m for m in consumer.consume(500, 0.2) if not m.error()]
    consumer.close()
    return out


def events(cp_id: str, n: int) -> list[data.StateChanged]:
    return [data.StateChanged(cp_id=cp_id, state="available", health="OK", reason=str(i))
            for i in range(n)]


def ids(found) -> set[str]:
    return {json.loads(m.value())["id"] for m in found}  # an envelope names its message


def test_events_and_telemetry_reach_kafka_keyed_by_cp(brokers, bridge, publisher):
    kafka, _ = brokers
    event = data.StateChanged(cp_id="CP-1", state="supplying", health="OK")
    telemetry = data.Telemetry(cp_id="CP-2", session_id="s1", kw="7.4", kwh="0.1",
                               eur="0.04", price_eur_kwh="0.4")
    event, telemetry = sealed(event), sealed(telemetry)
    publisher(mqtt_topic("CP-1", "events"), event)
    publisher(mqtt_topic("CP-2", "telemetry"), telemetry)
    found = records(kafka.address, [CP_EVENTS, CP_TELEMETRY], 2)
    got = {(m.topic(), m.key(), m.value()) for m in found}
    assert got == {(CP_EVENTS, b"CP-1", event), (CP_TELEMETRY, b"CP-2", telemetry)}


def test_malformed_and_spoofed_payloads_go_to_deadletter(brokers, bridge, publisher):
    kafka, _ = brokers
    event = data.StateChanged(cp_id="CP-2", state="available", health="OK")
    publisher(mqtt_topic("CP-1", "events"), sealed(event))  # CP-2's envelope on CP-1's topic
    publisher(mqtt_topic("CP-1", "events"), encode(data.StateChanged(
        cp_id="CP-1", state="available", health="OK")))  # not sealed
    publisher(mqtt_topic("CP-1", "events"), b"{oops")
    publisher(mqtt_topic("CP-1", "telemetry"), b"\xff\xfe")
    publisher(mqtt_topic("CP-1", "events"), b'{"v": 9, "cp_id": "CP-1"}')
    wrong_topic = sealed(data.Telemetry(cp_id="CP-1", session_id="s1", kw="7.4", kwh="0.1",
                                        eur="0.04", price_eur_kwh="0.4"))
    publisher(mqtt_topic("CP-1", "events"), wrong_topic)
    publisher("evcharging/cp/CP-1/other", b"{}")
    found = records(kafka.address, [DEADLETTER], 7)
    dead = {m.key(): json.loads(m.value()) for m in found if m.key() is None}
    reasons = sorted(json.loads(m.value())["reason"] for m in found)
    assert len(found) == 7
    assert "cp_id CP-2 in envelope does not match topic" in reasons
    assert "not sealed: a plain 'state_changed' message on events" in reasons
    assert any(r.startswith("not a sealed envelope: invalid JSON") for r in reasons)
    assert "unknown envelope version 9" in reasons
    assert "a sealed 'telemetry' message does not belong on events" in reasons
    assert dead[None]["mqtt_topic"] == "evcharging/cp/CP-1/other"
    binary = [json.loads(m.value()) for m in found if b"telemetry" in m.value()
              and "payload_encoding" in json.loads(m.value())]
    assert binary[0]["payload_encoding"] == "base64"
    assert records(kafka.address, [CP_EVENTS], 1, timeout=2) == []
    assert wait_for(lambda: bridge.counters()["deadlettered_total"] == 7, 5)


def test_kafka_down_keeps_messages_unacked_then_delivers_all(brokers, bridge, publisher):
    kafka, _ = brokers
    for event in events("CP-1", 5):  # the producer has an id and sequence numbers now
        publisher(mqtt_topic("CP-1", "events"), sealed(event))
    wait_for(lambda: bridge.counters()["relayed_total"] == 5, 10)
    kafka.stop()
    sent = events("CP-1", 30)
    for event in sent:
        publisher(mqtt_topic("CP-1", "events"), sealed(event))
    wait_for(lambda: "cannot reach Kafka at " + kafka.address in bridge.log(), 10)
    counters = wait_for(lambda: (c := bridge.counters())["in_flight"] == 30 and c, 10)
    assert counters["relayed_total"] == 5  # all 30 held, none relayed nor acknowledged
    assert counters["kafka_up"] == 0
    kafka.start()  # empty: no topics, no producer ids; the bridge recreates the topics
    found = records(kafka.address, [CP_EVENTS], 30, timeout=30)
    assert ids(found) == {e.id for e in sent}
    wait_for(lambda: bridge.counters()["in_flight"] == 0, 5)
    assert bridge.log().count("cannot reach Kafka") == 1


def test_killed_bridge_gets_what_was_published_meanwhile(brokers, bridge, publisher):
    kafka, _ = brokers
    before = events("CP-1", 5)
    for event in before:
        publisher(mqtt_topic("CP-1", "events"), sealed(event))
    wait_for(lambda: bridge.counters()["relayed_total"] == 5, 10)
    bridge.process.send_signal(signal.SIGKILL)
    bridge.process.wait(5)
    meanwhile = events("CP-2", 20)
    for event in meanwhile:
        publisher(mqtt_topic("CP-2", "events"), sealed(event))
    bridge.start()
    assert "session resumed" in bridge.log()
    found = records(kafka.address, [CP_EVENTS], 25)
    assert ids(found) >= {e.id for e in before + meanwhile}


def test_sigterm_exits_cleanly(bridge):
    bridge.process.send_signal(signal.SIGTERM)
    assert bridge.process.wait(8) == 0
    assert bridge.log().rstrip().endswith("stopped")
