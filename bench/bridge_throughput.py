"""MQTT -> Kafka bridge throughput against a bare MQTT subscriber, on this machine.

Both are measured the same way, so that nothing else competes for the CPU while they
run: N telemetry messages are published QoS 1 (by ``publishers`` paho processes) while
the receiver is away, and Mosquitto queues them for its persistent session; then the
receiver comes back and drains them.  The rate is counted from its first message to
its last.

(a) a bare paho subscriber (auto-ack): how fast Mosquitto delivers here;
(b) a real ``ev-bridge``: each message (sealed under its CP's key, as engines publish
them) checked as an envelope, produced to Kafka and acknowledged on
MQTT only after Kafka confirmed it; then every id is looked up in ``cp.telemetry``, so
zero loss is checked, not assumed.
"""

from __future__ import annotations

import contextlib
import json
import multiprocessing
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

import paho.mqtt.client as paho
import psutil
from confluent_kafka import Consumer

from protocol import data, seal
from protocol.codec import JsonCodec
from protocol.topics import CP_TELEMETRY, mqtt_subscription, mqtt_topic
from runtime.kafka import consumer_config
from sim import brokers
from sim.network import free_ports

CPS = 50


def payloads(start: int, stop: int, step: int) -> list[tuple[str, bytes]]:
    out, codecs = [], {}
    for i in range(start, stop, step):
        cp_id = f"CP-{i % CPS:03d}"
        if cp_id not in codecs:
            key = seal.new_key(f"k-{i % CPS:012x}")
            codecs[cp_id] = seal.SealingCodec(JsonCodec(data.DATA_TYPES), cp_id, key)
        message = data.Telemetry(cp_id=cp_id, id=f"m{i}", session_id="s", kw="7.4",
                                 kwh="1.234", eur="0.49", price_eur_kwh="0.40")
        out.append((mqtt_topic(cp_id, "telemetry"), codecs[cp_id].encode(message)))
    return out


def publish(port: int, index: int, count: int, messages: int, ready, go) -> None:
    """One publisher process: its share of the messages, QoS 1, all PUBACKs awaited."""
    work = payloads(index, messages, count)
    client = paho.Client(paho.CallbackAPIVersion.VERSION2, client_id=f"bench-pub-{index}")
    client.max_inflight_messages_set(1000)
    client.max_queued_messages_set(0)
    client.connect("127.0.0.1", port)
    client.loop_start()
    ready.release()
    go.wait()
    infos = [client.publish(topic, payload, qos=1) for topic, payload in work]
    for info in infos:
        info.wait_for_publish(60)
    client.loop_stop()
    client.disconnect()


@contextlib.contextmanager
def publishers(port: int, count: int, messages: int):
    """Start ``count`` publisher processes; yields ``go()`` that releases them."""
    context = multiprocessing.get_context("spawn")
    ready, go = context.Semaphore(0), context.Event()
    procs = [context.Process(target=publish, args=(port, i, count, messages, ready, go))
             for i in range(count)]
    for proc in procs:
        proc.start()
    for _ in procs:
        ready.acquire()
    try:
        yield go.set
    finally:
        for proc in procs:
            proc.join(120)


def bare_rate(port: int, messages: int, count: int) -> float:
    stamps: list[float] = []
    done = threading.Event()

    def on_message(client, userdata, message) -> None:
        stamps.append(time.monotonic())
        if len(stamps) == messages:
            done.set()

    def session(clean: bool) -> paho.Client:
        subscribed = threading.Event()
        client = paho.Client(paho.CallbackAPIVersion.VERSION2, client_id="bench-bare",
                             clean_session=clean)
        client.on_message = on_message
        client.on_subscribe = lambda *args: subscribed.set()
        client.connect("127.0.0.1", port)
        client.subscribe(mqtt_subscription(shared=False), qos=1)
        client.loop_start()
        subscribed.wait(10)
        return client

    first = session(clean=False)  # create the persistent session, then go away
    first.disconnect()  # while its loop still runs, so the DISCONNECT really goes out
    first.loop_stop()
    with publishers(port, count, messages) as go:
        go()
    client = session(clean=False)
    if not done.wait(300):
        raise RuntimeError(f"bare subscriber got {len(stamps)} of {messages}")
    client.disconnect()
    client.loop_stop()
    gone = session(clean=True)  # drop the session: nothing more is queued for it
    gone.disconnect()
    gone.loop_stop()
    return (messages - 1) / (stamps[-1] - stamps[0])


def relayed(metrics: str) -> int:
    try:
        with urllib.request.urlopen(f"http://{metrics}/metrics", timeout=2) as response:
            for line in response.read().decode().splitlines():
                if line.startswith("evbridge_relayed_total "):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def cpu(proc: psutil.Process) -> float:
    times = proc.cpu_times()
    return times.user + times.system


def start_bridge(workdir: Path, kafka: str, mqtt_port: int, metrics: str) -> subprocess.Popen:
    log = workdir / "bridge.log"
    offset = log.stat().st_size if log.exists() else 0
    bridge = subprocess.Popen(
        [str(Path(sys.executable).parent / "ev-bridge"), "--mqtt", f"127.0.0.1:{mqtt_port}",
         "--kafka", kafka, "--client-id", "bench-bridge", "--metrics", metrics],
        stdout=log.open("ab"), stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 20
    while "subscribed to" not in log.read_text()[offset:] and time.monotonic() < deadline:
        time.sleep(0.05)
    return bridge


def bridge_rate(workdir: Path, kafka: str, mqtt_port: int, metrics: str, messages: int,
                count: int, usage: dict, watch: dict | None = None) -> float:
    first = start_bridge(workdir, kafka, mqtt_port, metrics)  # its persistent session
    first.terminate()
    first.wait(10)
    with publishers(mqtt_port, count, messages) as go:
        go()
    bridge = start_bridge(workdir, kafka, mqtt_port, metrics)
    try:
        procs = {"bridge": psutil.Process(bridge.pid), **(watch or {})}
        before = {name: cpu(proc) for name, proc in procs.items()}
        started = time.monotonic()
        while (done := relayed(metrics)) == 0:
            if time.monotonic() - started > 60:
                raise RuntimeError("the bridge relayed nothing")
            time.sleep(0.005)
        t0, n0 = time.monotonic(), done
        while (done := relayed(metrics)) < messages:
            if time.monotonic() - t0 > 300 or bridge.poll() is not None:
                raise RuntimeError(f"bridge relayed {done} of {messages}")
            time.sleep(0.01)
        elapsed = time.monotonic() - t0
        usage.update({f"{name}_cpu_s": round(cpu(proc) - before[name], 2)
                      for name, proc in procs.items()})
    finally:
        bridge.terminate()
        bridge.wait(10)
    return (messages - n0) / elapsed


def ids_in_kafka(kafka: str, messages: int, timeout: float = 60.0) -> set[str]:
    consumer = Consumer(consumer_config(kafka, f"bench-check-{time.monotonic_ns()}"))
    consumer.subscribe([CP_TELEMETRY])
    seen: set[str] = set()
    deadline = time.monotonic() + timeout
    while len(seen) < messages and time.monotonic() < deadline:
        for record in consumer.consume(1000, 0.5):
            if not record.error():
                seen.add(json.loads(record.value())["id"])
    consumer.close()
    return seen


def run(messages: int = 50000, publishers: int = 2) -> dict:
    ports = free_ports()
    with tempfile.TemporaryDirectory(prefix="ev-bench-bridge-") as tmp:
        workdir = Path(tmp)
        kafka = brokers.kafka_broker(workdir, next(ports)).start()
        mqtt = brokers.mqtt_broker(workdir / "mqtt", next(ports)).start()
        try:
            brokers.create_topics(kafka.address)
            bare = bare_rate(mqtt.port, messages, publishers)
            usage: dict = {}
            watch = {name: psutil.Process(b.process.pid) for name, b in
                     (("kafka", kafka), ("mosquitto", mqtt))}
            rate = bridge_rate(workdir, kafka.address, mqtt.port, f"127.0.0.1:{next(ports)}",
                               messages, publishers, usage, watch)
            found = ids_in_kafka(kafka.address, messages)
        finally:
            mqtt.stop()
            kafka.stop()
    missing = messages - len(found & {f"m{i}" for i in range(messages)})
    return {"messages": messages, "publishers": publishers,
            "bare_subscriber_msgs_per_s": round(bare),
            "bridge_to_kafka_msgs_per_s": round(rate),
            "bridge_vs_bare_percent": round(100 * rate / bare, 1),
            "lost_in_kafka": missing, **usage}


if __name__ == "__main__":
    print(json.dumps(run(int(sys.argv[1]) if len(sys.argv) > 1 else 50000), indent=2))
