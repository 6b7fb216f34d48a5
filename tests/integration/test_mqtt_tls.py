"""MQTT over TLS: a real Mosquitto with a TLS listener and certificates made by openssl;
the engine's uplink and the bridge trust only the site's CA (--mqtt-cafile)."""

from __future__ import annotations

import json
import queue
import subprocess
import time
from pathlib import Path

import paho.mqtt.client as paho
import pytest

from protocol import data
from protocol.topics import CP_EVENTS, mqtt_topic
from sim.brokers import mqtt_broker
from tests.integration.test_bridge import BridgeProcess, records, sealed
from tests.support import BIN, free_port, make_certificates, spawn, stop, wait_for, wait_port

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def certificates(tmp_path_factory) -> dict[str, Path]:
    return make_certificates(tmp_path_factory.mktemp("tls"))


@pytest.fixture
def tls_broker(tmp_path, certificates):
    """Mosquitto with a plain listener (for the test's own subscriber) and a TLS one."""
    tls_port = free_port()
    broker = mqtt_broker(tmp_path / "mqtt", free_port(), extra_config=(
        f"listener {tls_port} 127.0.0.1\n"
        f"certfile {certificates['cert']}\nkeyfile {certificates['key']}\n"
        "tls_version tlsv1.2\n")).start()
    wait_port(tls_port)
    yield broker, f"127.0.0.1:{tls_port}"
    broker.stop()


def subscribe(port: int, topic: str) -> tuple[paho.Client, queue.Queue]:
    received: queue.Queue = queue.Queue()
    client = paho.Client(paho.CallbackAPIVersion.VERSION2, client_id=f"t-{time.monotonic_ns()}")
    client.on_message = lambda _c, _u, message: received.put(message)
    client.connect("127.0.0.1", port)
    client.subscribe(topic, qos=1)
    client.loop_start()
    return client, received


def engine(tmp_path: Path, address: str, cafile: Path, name: str) -> tuple:
    """The engine, given the CP's key by a (fake) monitor: it publishes only with one."""
    from tests.integration.test_engine import first_monitor
    from tests.integration.test_engine_uplink import KEY

    log, listen = tmp_path / f"{name}.log", free_port()
    process = spawn(["ev-cp-e", "--cp-id", name, "--listen", f"127.0.0.1:{listen}",
                     "--state-dir", str(tmp_path / name), "--mqtt", address,
                     "--mqtt-cafile", str(cafile)], log)
    wait_port(listen)
    process.monitor = first_monitor(listen, KEY, name)
    return process, log


def test_engine_publishes_over_tls(tmp_path, tls_broker, certificates):
    broker, address = tls_broker
    client, received = subscribe(broker.port, mqtt_topic("TLS1", "status"))
    process, log = engine(tmp_path, address, certificates["ca"], "TLS1")
    try:
        message = received.get(timeout=20)
        assert json.loads(message.payload)["cp_id"] == "TLS1"  # an envelope names its CP
        # the publisher thread sends the online status, then logs the connection
        wait_for(lambda: f"MQTT uplink connected to {address}" in log.read_text(), 5)
    finally:
        stop(process)
        client.loop_stop()


def test_engine_refuses_a_broker_its_ca_did_not_sign(tmp_path, tls_broker, certificates):
    broker, address = tls_broker
    client, received = subscribe(broker.port, "evcharging/cp/TLS2/#")
    process, log = engine(tmp_path, address, certificates["stranger"], "TLS2")
    try:
        wait_for(lambda: "TLS: unable to get local issuer certificate" in log.read_text(), 20)
        assert received.empty()
        assert process.poll() is None
        text = log.read_text()
        assert "Traceback" not in text and "MQTT uplink connected" not in text
    finally:
        stop(process)
        client.loop_stop()


def test_bad_cafile_is_a_one_line_error(tmp_path):
    garbage = tmp_path / "ca.crt"
    garbage.write_text("not a certificate\n")
    for path, expected in ((tmp_path / "missing.crt", "cannot read CA file"),
                           (garbage, "holds no usable certificate")):
        for command in (["ev-cp-e", "--cp-id", "X", "--state-dir", str(tmp_path / "s"),
                         "--mqtt", "127.0.0.1:1"], ["ev-bridge"]):
            result = subprocess.run([str(BIN / command[0]), *command[1:], "--mqtt-cafile",
                                     str(path)],
                                    capture_output=True, text=True, timeout=30)
            assert result.returncode == 2, result.stderr
            assert expected in result.stderr and len(result.stderr.splitlines()) == 1


def test_bridge_relays_over_tls(tmp_path, monkeypatch, brokers, tls_broker, certificates):
    monkeypatch.setenv("EV_KAFKA_SESSION_MS", "2000")
    kafka, _ = brokers
    broker, address = tls_broker
    bridge = BridgeProcess(tmp_path, kafka, broker)
    bridge.args[bridge.args.index("--mqtt") + 1] = address
    bridge.args += ["--mqtt-cafile", str(certificates["ca"])]
    bridge.start()
    try:
        publisher = paho.Client(paho.CallbackAPIVersion.VERSION2, client_id="tls-cp")
        publisher.connect("127.0.0.1", broker.port)
        publisher.loop_start()
        event = sealed(data.StateChanged(cp_id="TLS3", state="available", health="OK"))
        publisher.publish(mqtt_topic("TLS3", "events"), event, qos=1).wait_for_publish(5)
        publisher.loop_stop()
        assert [r.value() for r in records(kafka.address, [CP_EVENTS], 1)] == [event]
    finally:
        stop(bridge.process, 10)
    assert "Traceback" not in bridge.log()
