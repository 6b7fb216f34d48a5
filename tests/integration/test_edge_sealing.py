"""The whole edge with sealing: a real engine (``ev-cp-e --mqtt``) and a real monitor
(``ev-cp-m --control``) against a fake Central that speaks the framed protocol sealed
with the key it issues at each login, and a real Mosquitto watched by a subscriber that
opens every payload with the keys that Central issued.

Revocation: Central's KeyRevoked ends the supply under way, nothing is published and the
monitor does not log in again until ``ev-cp-m reauth``; then a new key, and what waited
in the engine's outbox goes out sealed under it."""

from __future__ import annotations

import base64
import subprocess
import time
from datetime import UTC, datetime, timedelta

import pytest

from protocol import data
from protocol import messages as m
from sim import brokers as b
from tests.integration.test_engine import CP, panel, start_engine
from tests.integration.test_engine_uplink import Subscriber
from tests.integration.test_monitor import SECRET, FakeCentral
from tests.support import BIN, free_port, missing, spawn, stop, wait_for

pytestmark = pytest.mark.integration


class IssuedKeys:
    """The subscriber's key ring: whatever the fake Central has issued so far."""

    def __init__(self, central: FakeCentral) -> None:
        self._central = central

    def get(self, key_id: str):
        with self._central._lock:
            return next((k for k in self._central.keys if k.key_id == key_id), None)


@pytest.fixture
def mosquitto(tmp_path):
    if not b.have_mosquitto():
        missing("mosquitto is not installed (apt-get install mosquitto)")
    broker = b.mqtt_broker(tmp_path / "mqtt", free_port()).start()
    yield broker
    broker.stop()


@pytest.fixture
def edge(tmp_path, output_dir, mosquitto):
    """Central, the engine and the monitor; the subscriber on the CP's topics."""
    central = FakeCentral(free_port()).start()
    listen, panel_port, control = free_port(), free_port(), free_port()
    for name in ("engine.log", "monitor.log"):
        (output_dir / name).unlink(missing_ok=True)
    sub = Subscriber(mosquitto.address, known=())
    sub.keys = IssuedKeys(central)
    engine = start_engine(tmp_path, output_dir, listen, panel_port, "--mqtt", mosquitto.address)
    secret_file = tmp_path / "secret"
    secret_file.write_text(SECRET + "\n")
    monitor = spawn(["ev-cp-m", "--cp-id", CP, "--engine", f"127.0.0.1:{listen}",
                     "--central", central.address, "--secret-file", str(secret_file),
                     "--control", f"127.0.0.1:{control}"], output_dir / "monitor.log")
    rig = type("Edge", (), {})()
    rig.central, rig.sub, rig.engine, rig.monitor = central, sub, engine, monitor
    rig.control = f"127.0.0.1:{control}"
    rig.panel = lambda *words: panel(panel_port, *words)
    yield rig
    stop(monitor)
    stop(engine)
    sub.close()
    central.close()
    logs = (output_dir / "engine.log").read_text() + (output_dir / "monitor.log").read_text()
    assert "Traceback" not in logs
    for key in central.keys:  # no key ever reaches a log line, in any spelling
        b64 = base64.urlsafe_b64encode(key.secret).decode().rstrip("=")
        for spelling in (key.secret.hex(), b64):
            assert spelling not in logs
    assert SECRET not in logs


def authorize(central: FakeCentral, session: str) -> None:
    expires = (datetime.now(UTC) + timedelta(seconds=30)).isoformat()
    command = m.Command(cp_id=CP, action="authorize", session_id=session, driver_id="D1",
                        price_eur_kwh="0.30", expires_at=expires)
    central.send(command)
    assert central.first(m.CommandResult, ref=command.id).ok


def reauth(control: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(BIN / "ev-cp-m"), "reauth", "--control", control],
                          capture_output=True, text=True, timeout=30)


def test_payloads_are_sealed_with_the_issued_key_revoked_then_reauthenticated(edge,
                                                                                output_dir):
    central, sub = edge.central, edge.sub
    central.first(m.Heartbeat)  # the link is sealed both ways: it opened with the key
    first = central.keys[0]
    assert sub.wait(data.CpStatus, lambda s: s.status == "online")
    wait_for(lambda: edge.panel("status").get("key_id") == first.key_id)
    authorize(central, "S1")
    edge.panel("press", "plug")
    central.first(m.SupplyStarted, session_id="S1")
    wait_for(lambda: len(sub.unique(data.Telemetry)) >= 2)
    assert sub.unopened == []
    assert {e.key_id for e in sub.envelopes} == {first.key_id}
    assert {e.cp_id for e in sub.envelopes} == {CP}

    central.revoke(cp_id=CP)  # sealed with the key, then the link goes
    wait_for(lambda: edge.panel("status").get("key_revoked") is True)
    revoked_at = time.monotonic()
    wait_for(lambda: "key revoked by Central: press a to re-authenticate (or run ev-cp-m "
             "reauth)" in (output_dir / "monitor.log").read_text())
    time.sleep(0.5)  # what was under way when the key went
    published = len(sub.envelopes)
    time.sleep(2.0)  # a supplying engine would publish telemetry every second
    assert len(sub.envelopes) == published, "published after the key was revoked"
    assert central.of(m.Hello, since=revoked_at) == []  # no login by itself
    assert sub.of(m.SupplyEnded) == []  # it waits in the outbox for a new key
    assert edge.panel("status")["state"] != "supplying"

    done = reauth(edge.control)
    assert done.returncode == 0, done.stderr
    assert "logged in to Central" in done.stdout
    wait_for(lambda: len(central.keys) == 2)
    second = central.keys[1]
    assert second.key_id in done.stdout and second.secret.hex() not in done.stdout
    ended = sub.wait(m.SupplyEnded)
    assert ended.session_id == "S1" and ended.reason == "key revoked"
    assert [e.key_id for e in sub.envelopes if e.id == ended.id] == [second.key_id]
    assert {e.key_id for e in sub.envelopes[published:]} == {second.key_id}
    assert sub.unopened == []
    wait_for(lambda: edge.panel("status").get("key_revoked") is False)


def test_reauth_without_a_monitor_is_one_line_and_exit_2(tmp_path):
    done = reauth(f"127.0.0.1:{free_port()}")
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and "cannot reach the monitor" in done.stderr
    done = subprocess.run([str(BIN / "ev-cp-m"), "reauth", "--control", "10.1.2.3:7100"],
                          capture_output=True, text=True, timeout=30)
    assert done.returncode == 2 and "not a loopback address" in done.stderr
    assert "Traceback" not in done.stderr
