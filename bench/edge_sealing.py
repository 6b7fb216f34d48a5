"""What sealing costs the engine: seal() per message (a micro-benchmark), and the CPU of a
real ``ev-cp-e --mqtt`` supplying and publishing 1 Hz telemetry sealed with the key a
(scripted) monitor issued it, to a real Mosquitto.

The scripted monitor speaks the framed protocol on the engine's monitor port as
``ev-cp-m`` does once logged in: Hello, KeyIssued, CentralStatus up, a health check a
second, and Central's authorize command; the panel plugs the car in."""

from __future__ import annotations

import secrets
import tempfile
import time
import timeit
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psutil

from edge import keys
from edge.engine import panel
from protocol import data, seal
from protocol import messages as m
from protocol.transport import Connection, connect
from sim import brokers
from sim.network import Network, free_ports, wait_port

CP = "CP-BENCH-1"


def seal_cost(rounds: int = 20000) -> dict:
    """Microseconds to seal (and to open) one telemetry message, as the engine does."""
    key = seal.new_key("k-" + secrets.token_hex(6))
    telemetry = data.Telemetry(cp_id=CP, session_id="S1", kw="7.400", kwh="1.234",
                               eur="0.432", price_eur_kwh="0.35", driver_id="D1")
    payload = m.JsonCodec(data.DATA_TYPES).encode(telemetry)
    nonce = seal.new_nonce()
    sealed = keys.seal_payload(key, CP, payload, nonce)
    seal_s = min(timeit.repeat(lambda: keys.seal_payload(key, CP, payload, seal.new_nonce()),
                               number=rounds, repeat=3)) / rounds
    open_s = min(timeit.repeat(lambda: seal.open_(key, seal.parse(sealed)),
                               number=rounds, repeat=3)) / rounds
    return {"plain_bytes": len(payload), "sealed_bytes": len(sealed),
            "seal_us_per_message": round(seal_s * 1e6, 1),
            "open_us_per_message": round(open_s * 1e6, 1)}


class ScriptedMonitor:
    def __init__(self, port: int, key: seal.Key) -> None:
        self.results: dict[str, m.CommandResult] = {}
        self.conn = Connection(connect(f"127.0.0.1:{port}"), initiator=True, name="bench",
                               on_message=self._on_message)
        self.conn.start()
        if not self.conn.wait_open(3):
            raise RuntimeError("the engine's monitor link did not open")
        self.conn.send(m.Hello(cp_id=CP))
        self.conn.send(keys.issued(CP, key))
        self.conn.send(m.CentralStatus(cp_id=CP, up=True))
        self._seq = 0

    def _on_message(self, message: m.Message) -> None:
        if isinstance(message, m.CommandResult):
            self.results[message.ref] = message

    def check(self) -> None:
        self._seq += 1
        self.conn.send(m.HealthCheck(cp_id=CP, seq=self._seq))

    def authorize(self) -> str:
        expires = (datetime.now(UTC) + timedelta(seconds=30)).isoformat()
        command = m.Command(cp_id=CP, action="authorize", session_id="S1", driver_id="D1",
                            price_eur_kwh="0.30", expires_at=expires)
        self.conn.send(command)
        return command.id


def supplying_cpu(window: float = 30.0) -> dict:
    """The engine's CPU while supplying, every payload sealed; RSS at the end."""
    ports = free_ports()
    with tempfile.TemporaryDirectory(prefix="ev-bench-seal-") as tmp:
        mqtt = brokers.mqtt_broker(Path(tmp) / "mqtt", next(ports)).start()
        network = Network(Path(tmp))
        listen, panel_port = next(ports), next(ports)
        try:
            network.start("engine", ["ev-cp-e", "--cp-id", CP, "--listen",
                                     f"127.0.0.1:{listen}", "--panel",
                                     f"127.0.0.1:{panel_port}", "--state-dir", tmp,
                                     "--mqtt", mqtt.address])
            wait_port(listen, 15, "engine")
            wait_port(panel_port, 15, "engine panel")
            monitor = ScriptedMonitor(listen, seal.new_key("k-" + secrets.token_hex(6)))
            address = f"127.0.0.1:{panel_port}"
            deadline = time.monotonic() + 10
            while panel.request(address, "status").get("state") != "available":
                monitor.check()
                if time.monotonic() > deadline:
                    raise RuntimeError("the engine never became available")
                time.sleep(0.2)
            ref = monitor.authorize()
            while ref not in monitor.results:
                monitor.check()
                time.sleep(0.1)
            panel.request(address, "press", "plug")
            time.sleep(2)
            status = panel.request(address, "status")
            if status.get("state") != "supplying" or not status.get("mqtt"):
                raise RuntimeError(f"not supplying over MQTT: {status.get('state')}")
            proc = psutil.Process(network.processes["engine"].pid)
            before, started = proc.cpu_times(), time.monotonic()
            while time.monotonic() - started < window:
                monitor.check()
                time.sleep(1.0)
            after, elapsed = proc.cpu_times(), time.monotonic() - started
            used = (after.user - before.user) + (after.system - before.system)
            status = panel.request(address, "status")
            return {"engine_supplying_sealed_cpu_percent": round(100 * used / elapsed, 2),
                    "engine_rss_mib": round(proc.memory_info().rss / 2**20, 1),
                    "outbox_at_end": status.get("outbox"), "window_s": round(elapsed, 1)}
        finally:
            network.stop()
            mqtt.stop()


def run() -> dict:
    return {**seal_cost(), **supplying_cpu()}
