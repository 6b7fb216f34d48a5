"""The real ``ev-cp-e`` process, driven by a fake monitor and the real panel client."""

from __future__ import annotations

import json
import queue
import signal
import socket
import sqlite3
import subprocess
import threading
import time
from contextlib import closing
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from edge import keys
from edge.engine.journal import Journal
from protocol import messages as msg
from protocol import seal
from protocol.framing import ACK, ENQ, ETX, NAK, STX
from protocol.transport import Connection, connect
from tests.support import BIN, free_port, spawn, stop, wait_for, wait_port

pytestmark = pytest.mark.integration
CP = "CP-IT-1"


class FakeMonitor:
    """Plays the monitor: hello, a health check every 0.5 s, and an inbox."""

    def __init__(self, port: int, cp_id: str = CP) -> None:
        self.cp_id = cp_id
        self.inbox: queue.Queue[msg.Message] = queue.Queue()
        self.closed = threading.Event()
        self.conn = Connection(connect(f"127.0.0.1:{port}"), initiator=True, name="fake-monitor",
                               on_message=self.inbox.put, on_close=lambda _: self.closed.set())
        self.conn.start()
        assert self.conn.wait_open(3)
        self._seq = 0
        threading.Thread(target=self._checks, daemon=True).start()

    def greet(self, key: seal.Key | None = None) -> FakeMonitor:
        """Hello, then (as a logged-in monitor does) the CP's key, and Central is up."""
        self.conn.send(msg.Hello(cp_id=self.cp_id))
        if key is not None:
            self.conn.send(keys.issued(self.cp_id, key))
        self.conn.send(msg.CentralStatus(cp_id=self.cp_id, up=True))
        return self

    def _checks(self) -> None:
        while not self.closed.wait(0.5):
            self._seq += 1
            self.conn.send(msg.HealthCheck(cp_id=self.cp_id, seq=self._seq))

    def expect(self, kind, where=lambda m: True, timeout: float = 5.0):
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            try:
                message = self.inbox.get(timeout=left)
            except queue.Empty:
                break
            if isinstance(message, kind) and where(message):
                return message
        raise AssertionError(f"no {getattr(kind, '__name__', kind)} within {timeout} s")

    def command(self, action: str, **fields) -> msg.CommandResult:
        expires = (datetime.now(UTC) + timedelta(seconds=30)).isoformat()
        sent = msg.Command(cp_id=CP, action=action, expires_at=expires, **fields)
        self.conn.send(sent)
        return self.expect(msg.CommandResult, lambda r: r.ref == sent.id)

    def close(self) -> None:
        self.conn.close()


def first_monitor(port: int, key: seal.Key | None = None, cp_id: str = CP) -> FakeMonitor:
    """A greeted monitor, once the engine takes one: it refuses a second monitor while it
    still holds a link that has not closed yet."""
    def attempt() -> FakeMonitor | None:
        monitor = FakeMonitor(port, cp_id).greet(key)
        if isinstance(monitor.expect((msg.HealthReport, msg.Refused)), msg.Refused):
            monitor.close()
            return None
        return monitor

    return wait_for(attempt, 10)


def journaled_kwh(state_dir, session_id: str) -> Decimal:
    """The energy the running engine's journal holds for a supply (read only)."""
    uri = f"file:{state_dir / 'journal.db'}?mode=ro"
    with closing(sqlite3.connect(uri, uri=True)) as db:
        row = db.execute("SELECT kwh FROM supplies WHERE session_id = ?", [session_id]).fetchone()
    return Decimal(row[0]) if row and row[0] else Decimal(0)


def panel(port: int, *args: str) -> dict:
    done = subprocess.run([str(BIN / "ev-cp-e"), "panel", "--panel", f"127.0.0.1:{port}", *args],
                          capture_output=True, text=True, timeout=10)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.splitlines()[-1])


def start_engine(tmp_path, output_dir, listen: int, panel_port: int, *extra: str):
    process = spawn(["ev-cp-e", "--cp-id", CP, "--listen", f"127.0.0.1:{listen}",
                     "--panel", f"127.0.0.1:{panel_port}", "--state-dir", str(tmp_path),
                     *extra], output_dir / "engine.log")
    wait_port(listen)
    wait_port(panel_port)
    return process


def test_garbage_gets_nak_and_the_engine_keeps_running(tmp_path, output_dir):
    listen, panel_port = free_port(), free_port()
    engine = start_engine(tmp_path, output_dir, listen, panel_port)
    try:
        with socket.create_connection(("127.0.0.1", listen), timeout=3) as raw:
            raw.sendall(bytes([ENQ]))
            assert raw.recv(1) == bytes([ACK])
            raw.sendall(bytes([STX]) + b'{"type":"hello"}' + bytes([ETX, 0x00]))  # bad LRC
            assert raw.recv(1) == bytes([NAK])
            raw.sendall(b"\xff\x13random bytes\x7f")
            assert raw.recv(1) == bytes([NAK])
        monitor = first_monitor(listen)  # once the engine has seen that link close
        assert monitor.expect(msg.HealthReport).state == "available"
        second = FakeMonitor(listen)
        assert second.expect(msg.Refused).reason == "another monitor is connected"
        assert panel(panel_port, "status")["state"] == "available"
        assert engine.poll() is None
        status = panel(panel_port, "press", "request", "--driver", "D9")
        assert status["leds"]["green"] == "on"
        request = monitor.expect(msg.SupplyRequest)
        assert (request.source, request.driver_id) == ("panel", "D9")
        denied = msg.SupplyDenied(cp_id=CP, ref=request.id, reason="unknown driver")
        monitor.conn.send(denied)
        assert panel(panel_port, "release", "request")["state"] == "available"
        wrong = msg.Hello(cp_id="SOMEONE-ELSE")
        monitor.conn.send(wrong)
        assert monitor.expect(msg.Refused).reason == "wrong cp_id"
    finally:
        stop(engine)


def test_supply_fault_crash_and_recovery(tmp_path, output_dir):
    listen, panel_port = free_port(), free_port()
    engine = start_engine(tmp_path, output_dir, listen, panel_port)
    ended: dict[str, msg.SupplyEnded] = {}
    try:
        monitor = FakeMonitor(listen).greet()
        monitor.expect(msg.HealthReport, lambda r: r.state == "available")
        result = monitor.command("authorize", session_id="S1", driver_id="D1",
                                 price_eur_kwh="0.30")
        assert result.ok
        assert panel(panel_port, "status")["authorization"]["driver_id"] == "D1"

        status = panel(panel_port, "press", "plug")
        assert (status["state"], status["relay"], status["leds"]["blue"]) == (
            "supplying", True, "on")
        started = monitor.expect(msg.SupplyStarted)
        assert (started.session_id, started.driver_id, started.price_eur_kwh) == (
            "S1", "D1", "0.30")
        monitor.expect(msg.HealthReport, lambda r: r.state == "supplying" and r.session_id == "S1")

        status = panel(panel_port, "press", "fault")
        assert (status["state"], status["health"], status["relay"]) == ("broken", "KO", False)
        first = monitor.expect(msg.SupplyEnded)
        assert (first.session_id, first.reason) == ("S1", "fault")
        ended[first.session_id] = first
        monitor.expect(msg.HealthReport, lambda r: (r.status, r.state) == ("KO", "broken"))
        refused = monitor.command("authorize", session_id="S2", driver_id="D2",
                                  price_eur_kwh="0.40")
        assert (refused.ok, refused.reason) == (False, "broken")
        assert panel(panel_port, "press", "fault")["state"] == "available"
        monitor.conn.send(msg.RecordAck(cp_id=CP, ref=started.id, session_id="S1"))

        # still plugged in: the authorization starts the supply at once
        assert monitor.command("authorize", session_id="S2", driver_id="D2",
                               price_eur_kwh="0.40").ok
        second = monitor.expect(msg.SupplyStarted)
        assert second.session_id == "S2"
        monitor.conn.send(msg.RecordAck(cp_id=CP, ref=second.id, session_id="S2"))
        wait_for(lambda: journaled_kwh(tmp_path, "S2") > 0)  # a journal update
        engine.send_signal(signal.SIGKILL)
        engine.wait(5)
        assert monitor.closed.wait(5)

        engine = start_engine(tmp_path, output_dir, listen, panel_port)
        monitor = FakeMonitor(listen).greet()
        resent = {}
        while len(resent) < 2:
            record = monitor.expect(msg.SupplyEnded)
            resent[record.session_id] = record
            monitor.conn.send(msg.RecordAck(cp_id=CP, ref=record.id, session_id=record.session_id))
        assert resent["S1"].id == first.id  # never acknowledged: the same record again
        crashed = resent["S2"]
        assert crashed.reason == "engine restarted"
        assert Decimal(crashed.kwh) > 0
        assert Decimal(crashed.eur) == (Decimal(crashed.kwh) * Decimal("0.40")).quantize(
            Decimal("0.01"))
        ended["S2"] = crashed
        assert panel(panel_port, "status")["state"] == "available"
        monitor.close()
    finally:
        stop(engine)
    assert engine.returncode == 0  # SIGTERM: a clean exit

    journal = Journal(tmp_path / "journal.db")
    assert journal.unreported() == []
    assert journal.totals() == (
        sum(Decimal(r.kwh) for r in ended.values()), sum(Decimal(r.eur) for r in ended.values()))


def test_cli_errors_are_one_line(tmp_path):
    port = free_port()
    cases = [
        (["panel", "--panel", f"127.0.0.1:{port}", "status"], 1,
         f"cannot reach panel at 127.0.0.1:{port}"),
        (["panel", "--panel", f"127.0.0.1:{port}", "press", "horn"], 2, "invalid choice"),
        (["panel", "--panel", f"127.0.0.1:{port}", "press"], 2, "press needs a button"),
        (["--cp-id", "CP1", "--listen", "nowhere"], 2, "--listen"),
        (["--cp-id", "CP1", "--state-dir", "/proc/engine-state"], 2, "--state-dir"),
        (["--cp-id", "CP1", "--pins", "green=17,amber=17"], 2, "same pin"),
        (["--cp-id", "CP1", "--mqtt", "nowhere"], 2, "--mqtt"),
        (["--cp-id", "CP1", "--outbox-max", "0"], 2, "--outbox-max"),
        (["--cp-id", "CP1", "--vehicle-sim", "-1"], 2, "--vehicle-sim"),
        (["--cp-id", "CP1", "--mqtt-password-file", "/nonexistent/pw"], 2,
         "cannot read password file /nonexistent/pw"),
    ]
    for args, code, text in cases:
        done = subprocess.run([str(BIN / "ev-cp-e"), *args], capture_output=True, text=True,
                              timeout=10, cwd=tmp_path)
        assert (done.returncode, done.stdout) == (code, ""), args
        assert len(done.stderr.strip().splitlines()) == 1, done.stderr
        assert text in done.stderr
