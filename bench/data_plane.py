"""Driver request -> accepted, and telemetry -> dashboard, with real brokers and processes.

- ``driver_latency``: Tansu + ``ev-central --kafka``; simulated CPs on the control
  plane (they refuse the authorization, so each CP is free again at once).  A
  ChargeRequest is produced to ``driver.requests``; the clock stops when Central's
  Accepted naming it arrives on ``driver.updates``.
- ``telemetry_lag``: the whole chain with real processes: engine (``--mqtt``) ->
  Mosquitto -> ``ev-bridge`` -> Tansu -> ``ev-central --kafka`` -> the dashboard's
  server-sent events.  Lag: a telemetry message's ``ts`` (stamped by the engine) ->
  the dashboard event showing its kWh.
"""

from __future__ import annotations

import asyncio
import http.client as httpclient
import json
import secrets
import tempfile
import threading
import time
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

from confluent_kafka import OFFSET_END, Consumer, TopicPartition

from bench.central_fleet import register
from bench.fleetsim import connect_fleet
from bench.stats import summary
from cloud.central.store import Store
from protocol import driver
from protocol.topics import DRIVER_REQUESTS, DRIVER_UPDATES, PARTITIONS, mqtt_topic
from runtime.kafka import Producer, consumer_config
from sim import brokers
from sim.fleet import plan
from sim.network import Network, free_ports, start_cp, wait_port


@contextmanager
def central_with_kafka(workdir: Path, ports, mqtt: bool = False):
    kafka = brokers.kafka_broker(workdir, next(ports)).start()
    mosquitto = brokers.mqtt_broker(workdir / "mqtt", next(ports)).start() if mqtt else None
    network = Network(workdir)
    http, listen = next(ports), next(ports)
    try:
        brokers.create_topics(kafka.address)
        network.start("central", [
            "ev-central", "--listen", f"127.0.0.1:{listen}", "--http", f"127.0.0.1:{http}",
            "--db", str(workdir / "central.db"), f"--admin-token={secrets.token_urlsafe(12)}",
            "--kafka", kafka.address])
        wait_port(http, 15, "Central")
        yield network, kafka.address, mosquitto, f"127.0.0.1:{listen}", f"127.0.0.1:{http}"
    finally:
        network.stop()
        if mosquitto:
            mosquitto.stop()
        kafka.stop()


def updates_consumer(kafka: str) -> Consumer:
    consumer = Consumer(consumer_config(kafka, f"bench-{time.monotonic_ns()}"))
    consumer.assign([TopicPartition(DRIVER_UPDATES, p, OFFSET_END) for p in range(PARTITIONS)])
    return consumer


def wait_update(consumer: Consumer, kind: type, match, timeout: float = 10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        record = consumer.poll(0.05)
        if record is None or record.error():
            continue
        update = driver.decode_update(record.value())
        if isinstance(update, kind) and match(update):
            return time.perf_counter(), update
    raise TimeoutError(f"no {kind.__name__} within {timeout} s")


def driver_latency(rounds: int = 100, cps: int = 5) -> dict:
    ports = free_ports()
    with tempfile.TemporaryDirectory(prefix="ev-bench-") as tmp:
        workdir = Path(tmp)
        credentials = register(workdir / "central.db", cps)
        store = Store(str(workdir / "central.db"))
        store.add_driver("BENCH-DRIVER")
        store.close()
        with central_with_kafka(workdir, ports) as (_, kafka, _, listen, _):
            loop = asyncio.new_event_loop()
            host, port = listen.split(":")
            fleet = loop.run_until_complete(connect_fleet(host, int(port), credentials))
            threading.Thread(target=loop.run_forever, daemon=True).start()
            time.sleep(2)  # heartbeats in: every CP ACTIVATED
            consumer = updates_consumer(kafka)
            producer = Producer(kafka)
            lags = []
            warm_up = 5  # the first requests meet consumers still settling: not counted
            for n in range(rounds + warm_up):
                cp_id = fleet[n % len(fleet)].cp_id
                request = driver.ChargeRequest(driver_id="BENCH-DRIVER", cp_id=cp_id)
                sent = time.perf_counter()
                producer.produce(DRIVER_REQUESTS, request.driver_id, driver.encode(request),
                                 lambda e, m: None)
                producer.poll(0)
                at, _ = wait_update(consumer, driver.Accepted, lambda u, r=request.id: u.ref == r)
                if n >= warm_up:
                    lags.append(at - sent)
                wait_update(consumer, driver.Cancelled, lambda u, c=cp_id: u.cp_id == c)
            consumer.close()
            loop.call_soon_threadsafe(loop.stop)
    return summary("driver request -> accepted", lags)


def telemetry_lag(seconds: float = 30.0) -> dict:
    ports = free_ports()
    with tempfile.TemporaryDirectory(prefix="ev-bench-") as tmp:
        workdir = Path(tmp)
        with central_with_kafka(workdir, ports, mqtt=True) as (network, kafka, mqtt, listen,
                                                               http):
            [cp] = plan(1, ports)
            out = network.run(["ev-central", "cp", "add", cp.cp_id, "--location", cp.location,
                               "--price", str(cp.price), "--db", str(workdir / "central.db")])
            secret = workdir / "cp.secret"
            secret.write_text(out.strip().splitlines()[-1])
            network.start("bridge", ["ev-bridge", "--mqtt", mqtt.address, "--kafka", kafka])
            start_cp(network, cp, listen, secret, "--mqtt", mqtt.address,
                     "--vehicle-sim", str(seconds + 10))
            lags: list[float] = []
            stamps: dict = {}
            engine_stamps(mqtt.address, cp.cp_id, stamps)
            stream = threading.Thread(target=watch_sse, args=(http, cp.cp_id, stamps, lags),
                                      daemon=True)
            stream.start()
            time.sleep(3)
            network.run(["ev-cp-e", "panel", "--panel", f"127.0.0.1:{cp.panel_port}",
                         "press", "request"])
            time.sleep(seconds)
    return summary("telemetry -> dashboard", lags[1:])


def engine_stamps(mqtt: str, cp_id: str, stamps: dict) -> None:
    """kWh -> the ts the engine stamped on the telemetry that carried it."""
    import paho.mqtt.client as paho

    client = paho.Client(paho.CallbackAPIVersion.VERSION2, client_id="bench-stamps")

    def on_message(client, userdata, message) -> None:
        body = json.loads(message.payload)
        stamps[body["kwh"]] = datetime.fromisoformat(body["ts"].replace("Z", "+00:00"))

    client.on_message = on_message
    host, port = mqtt.split(":")
    client.connect(host, int(port))
    client.subscribe(mqtt_topic(cp_id, "telemetry"), qos=1)
    client.loop_start()


def watch_sse(http: str, cp_id: str, stamps: dict, lags: list) -> None:
    """Each dashboard event with a new kWh for ``cp_id``: how long after the engine
    stamped the telemetry that carried it."""
    host, port = http.split(":")
    conn = httpclient.HTTPConnection(host, int(port))
    conn.request("GET", "/events")
    response = conn.getresponse()
    last = None
    while line := response.readline():
        if not line.startswith(b"data:"):
            continue
        now = time.time()
        data = json.loads(line[5:])
        if isinstance(data, dict) and data.get("id") == cp_id and data.get("kwh") not in (
                None, last):
            last = data["kwh"]
            time.sleep(0.05)  # the MQTT copy of the same telemetry may still be on its way
            if last in stamps:
                lags.append(now - stamps[last].timestamp())
