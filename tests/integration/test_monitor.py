"""The real ``ev-cp-m`` process against a fake engine and a fake Central on loopback."""

from __future__ import annotations

import os
import pty
import re
import secrets
import select
import signal
import socket
import subprocess
import threading
import time
import tty
from pathlib import Path

import pytest

from protocol import auth, key_wrap, seal
from protocol import messages as m
from protocol.transport import Connection, SocketStream
from tests.support import BIN, bound, free_port, spawn, stop, wait_for

pytestmark = pytest.mark.integration

CP = "CP07"
SECRET = "correct horse battery staple"
EXPIRES = "2099-01-01T00:00:00Z"


class FakePeer:
    """A server that accepts links and answers each message with ``self.answer``."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.received: list[tuple[float, m.Message]] = []
        self.links: list[Connection] = []
        self._lock = threading.Lock()
        self._running = False

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self) -> FakePeer:
        self._server = socket.create_server(("127.0.0.1", self.port))
        self._server.settimeout(0.05)
        self._running = True
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()
        return self

    def _accept(self) -> None:
        while self._running:
            try:
                sock, _ = self._server.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            sock.settimeout(None)
            self.attach(SocketStream(sock))

    def attach(self, stream) -> Connection:
        holder: list[Connection] = []
        link = Connection(
            stream, initiator=False, name="fake",
            on_message=lambda message, h=holder: self._on_message(h[0], message),
        )
        holder.append(link)
        with self._lock:
            self.links.append(link)
        return link.start()

    def _on_message(self, link: Connection, message: m.Message) -> None:
        with self._lock:
            self.received.append((time.monotonic(), message))
        self.answer(link, message)

    def answer(self, link: Connection, message: m.Message) -> None:
        pass

    def close(self) -> None:
        """Stop listening and close every link (EOT)."""
        self._running = False
        self._thread.join(1)
        self._server.close()
        with self._lock:
            links, self.links = self.links, []
        for link in links:
            link.close("fake closed")

    def of(self, kind: type, since: float = 0.0) -> list:
        with self._lock:
            return [msg for t, msg in self.received if isinstance(msg, kind) and t >= since]

    def first(self, kind: type, since: float = 0.0, timeout: float = 10.0, **match):
        return self.arrival(kind, since, timeout, **match)[1]

    def arrival(self, kind: type, since: float = 0.0, timeout: float = 10.0, **match):
        """(when, message): the first ``kind`` matching ``match`` that came at or after
        ``since`` (time.monotonic()), waiting up to ``timeout``."""
        def found():
            with self._lock:
                for t, x in self.received:
                    if t >= since and isinstance(x, kind) and all(
                            getattr(x, k) == v for k, v in match.items()):
                        return t, x
            return None

        return wait_for(found, timeout)


class FakeEngine(FakePeer):
    status = "OK"  # "OK", "KO" or "silent"

    def answer(self, link: Connection, message: m.Message) -> None:
        if isinstance(message, m.HealthCheck) and self.status != "silent":
            state = "available" if self.status == "OK" else "broken"
            link.send(m.HealthReport(cp_id=CP, seq=message.seq, status=self.status, state=state))
        elif isinstance(message, m.Command):
            link.send(m.CommandResult(cp_id=CP, ref=message.id, ok=True))


class FakeCentral(FakePeer):
    """Central's side of the login: a fresh key at each Welcome, wrapped as Central wraps
    it, and every frame after the Welcome sealed with it, both ways (``keys``: in order)."""

    def __init__(self, port: int, secret: str = SECRET) -> None:
        super().__init__(port)
        self.key_hex = auth.secret_key(secret).hex()
        self.nonces: dict[int, str] = {}
        self.keys: list[seal.Key] = []

    def answer(self, link: Connection, message: m.Message) -> None:
        if isinstance(message, m.Hello):
            self.nonces[id(link)] = nonce = auth.new_nonce()
            link.send(m.Challenge(cp_id=message.cp_id, nonce=nonce))
        elif isinstance(message, m.Authenticate):
            nonce = self.nonces[id(link)]
            if auth.verify(self.key_hex, nonce, message.cp_id, message.hmac):
                key = seal.new_key(f"k-{secrets.token_hex(6)}")
                with self._lock:  # known before anything can be sealed with it
                    self.keys.append(key)
                wrapping = key_wrap.wrapping_key(bytes.fromhex(self.key_hex), nonce, message.cp_id)
                link.send(m.Welcome(cp_id=message.cp_id, enabled=True, price_eur_kwh="0.30",
                                    key_id=key.key_id,
                                    wrapped_key=key_wrap.wrap(key, wrapping, message.cp_id,
                                                          seal.new_nonce())))
                link.codec = seal.SealingCodec(m.CONTROL_CODEC, message.cp_id, key)
            else:  # the refusal goes out before the EOT that closes the link
                link.send(m.Refused(cp_id=message.cp_id, reason="wrong secret"))
                link.close("refused")

    def revoke(self, reason: str = "restore keys", cp_id: str = CP) -> None:
        """What Central does on "restore keys": KeyRevoked sealed with the key, then the
        link goes (the key with it)."""
        with self._lock:
            link = [link for link in self.links if link.is_open][-1]
        link.send(m.KeyRevoked(cp_id=cp_id, reason=reason))
        time.sleep(0.3)  # its ACK
        link.close("key revoked")

    def send(self, message: m.Message) -> None:
        with self._lock:
            live = [link for link in self.links if link.is_open]
        live[-1].send(message)


@pytest.fixture
def engine():
    peer = FakeEngine(free_port()).start()
    yield peer
    peer.close()


@pytest.fixture
def central():
    peer = FakeCentral(free_port()).start()
    yield peer
    peer.close()


@pytest.fixture
def monitor(tmp_path: Path, output_dir: Path, engine, central):
    secret_file = tmp_path / "secret"
    secret_file.write_text(SECRET + "\n")
    log = output_dir / "monitor.log"
    log.unlink(missing_ok=True)
    args = ["ev-cp-m", "--cp-id", CP, "--engine", engine.address, "--central", central.address,
            "--secret-file", str(secret_file), "--location", "Car park A"]
    process = spawn(args, log)
    process.log = log
    yield process
    stop(process)
    assert "Traceback" not in log.read_text()


def output(process) -> str:
    return process.log.read_text()


def sent_at(message: m.Message) -> float:
    """When the sender made ``message`` (its ``ts``), in seconds."""
    return m.parse_ts(message.ts).timestamp()


def test_authenticates_and_sends_heartbeats(monitor, engine, central):
    hello = central.first(m.Hello)
    assert (hello.cp_id, hello.location) == (CP, "Car park A")
    central.first(m.Heartbeat)
    wait_for(lambda: len(central.of(m.Heartbeat)) >= 4, 15)
    beats = central.of(m.Heartbeat)
    gaps = [sent_at(b) - sent_at(a) for a, b in zip(beats, beats[1:], strict=False)]
    assert min(gaps) >= 0.95, gaps  # one a second, never faster (the monitor's own clock)
    assert beats[-1].engine == "OK" and beats[-1].state == "available"
    assert central.of(m.EngineStatus)[-1].engine == "OK"
    assert engine.first(m.Hello).cp_id == CP
    assert engine.first(m.CentralStatus, up=True).address == central.address


def test_engine_fault_timeout_and_recovery(monitor, engine, central):
    central.first(m.EngineStatus, engine="OK")
    engine.status = "KO"
    start = time.monotonic()
    central.first(m.EngineStatus, since=start, engine="KO")
    engine.status = "OK"
    start = time.monotonic()
    central.first(m.EngineStatus, since=start, engine="OK")
    engine.status = "silent"
    start = time.monotonic()
    status = central.first(m.EngineStatus, since=start, engine="KO")
    assert "no answer to a health check within 0.9 s" in status.reason
    engine.status = "OK"
    central.first(m.EngineStatus, since=start, engine="OK")
    changes = [s.engine for s in central.of(m.EngineStatus)]
    assert changes in (["OK", "KO", "OK", "KO", "OK"], ["DOWN", "OK", "KO", "OK", "KO", "OK"])


@pytest.mark.latency
def test_the_monitor_tells_central_in_time(monitor, engine, central):
    """Heartbeats every second; a fault, a recovery, a silent engine and a closed engine
    link reach Central within their bounds (a health check a second, 0.9 s to answer)."""
    def seconds_until(kind, **match) -> float:
        start = time.monotonic()
        return central.arrival(kind, since=start, **match)[0] - start

    central.first(m.EngineStatus, engine="OK")
    wait_for(lambda: len(central.of(m.Heartbeat)) >= 4, 15)
    beats = central.of(m.Heartbeat)
    gaps = [sent_at(b) - sent_at(a) for a, b in zip(beats, beats[1:], strict=False)]
    assert max(gaps) <= bound(1.5), gaps
    engine.status = "KO"
    assert seconds_until(m.EngineStatus, engine="KO") <= bound(1.5)
    engine.status = "OK"
    assert seconds_until(m.EngineStatus, engine="OK") <= bound(1.5)
    engine.status = "silent"
    assert seconds_until(m.EngineStatus, engine="KO") <= bound(2.0)
    engine.status = "OK"
    central.first(m.EngineStatus, since=time.monotonic(), engine="OK")
    start = time.monotonic()
    engine.close()
    assert central.arrival(m.EngineStatus, since=start, engine="DOWN")[0] - start <= bound(0.5)


def test_engine_closing_is_down_then_back(monitor, engine, central):
    central.first(m.EngineStatus, engine="OK")
    start = time.monotonic()
    engine.close()
    central.first(m.EngineStatus, since=start, engine="DOWN")
    assert central.first(m.Heartbeat, since=time.monotonic()).engine == "DOWN"
    command = m.Command(cp_id=CP, action="stop", expires_at=EXPIRES)
    central.send(command)
    result = central.first(m.CommandResult, ref=command.id)
    assert (result.ok, result.reason) == (False, "engine unreachable")
    engine.start()
    start = time.monotonic()
    central.first(m.EngineStatus, since=start, engine="OK")
    assert engine.first(m.CentralStatus, since=start, up=True)
    assert output(monitor).count(f"cannot reach engine at {engine.address}") == 1


def test_command_relayed_and_result_returned(monitor, engine, central):
    central.first(m.EngineStatus, engine="OK")
    command = m.Command(cp_id=CP, action="stop", expires_at=EXPIRES, reason="maintenance")
    central.send(command)
    relayed = engine.first(m.Command)
    assert relayed == command
    result = central.first(m.CommandResult, ref=command.id)
    assert result.ok


class Slammer:
    """A server that accepts each connection and closes it at once, counting them."""

    def __init__(self, port: int) -> None:
        self.accepted = 0
        self._server = socket.create_server(("127.0.0.1", port))
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while True:
            try:
                sock, _ = self._server.accept()
            except OSError:
                return
            sock.close()
            self.accepted += 1

    def close(self) -> None:
        self._server.close()
        self._thread.join(2)


def test_central_lost_then_back(monitor, engine, central):
    central.first(m.Heartbeat)
    engine.first(m.CentralStatus, up=True)
    start = time.monotonic()
    central.close()
    notice = engine.first(m.CentralStatus, since=start, up=False)
    assert notice.address == central.address
    wait_for(lambda: f"cannot reach Central at {central.address}, retrying" in output(monitor))
    slammer = Slammer(central.port)  # each retry now reaches a socket that hangs up
    try:
        wait_for(lambda: slammer.accepted >= 3, 15)
    finally:
        slammer.close()
    assert output(monitor).count("cannot reach Central") == 1  # once per outage
    central.start()
    start = time.monotonic()
    central.first(m.Heartbeat, since=start)
    assert engine.first(m.CentralStatus, since=start, up=True)
    assert monitor.poll() is None


def test_wrong_secret_is_refused_without_a_crash(tmp_path, output_dir, engine):
    central = FakeCentral(free_port(), secret="another secret").start()
    secret_file = tmp_path / "secret"
    secret_file.write_text(SECRET)
    log = output_dir / "monitor.log"
    log.unlink(missing_ok=True)
    process = spawn(["ev-cp-m", "--cp-id", CP, "--engine", engine.address, "--central",
                     central.address, "--secret-file", str(secret_file)], log)
    try:
        wait_for(lambda: "Central refused us: wrong secret" in log.read_text())
        refused = time.monotonic()
        engine.first(m.HealthCheck, since=refused)  # still at work after the refusal
        assert process.poll() is None
        assert central.of(m.Heartbeat) == []
        assert engine.first(m.CentralStatus).up is False
    finally:
        stop(process)
        central.close()
    text = log.read_text()
    assert "Traceback" not in text and SECRET not in text


def test_sigterm_closes_links_and_exits_0(monitor, engine, central):
    central.first(m.Heartbeat)
    monitor.send_signal(signal.SIGTERM)
    assert monitor.wait(5) == 0
    wait_for(lambda: all(not link.is_open for link in engine.links + central.links), 2)


class PtyStream:
    """The engine's end of a pty pair: the monitor opens the other end as a serial port."""

    peer = "pty"

    def __init__(self, fd: int) -> None:
        self.fd = fd

    def read(self, timeout: float) -> bytes | None:
        ready, _, _ = select.select([self.fd], [], [], max(timeout, 0))
        if not ready:
            return b""
        try:
            return os.read(self.fd, 65536) or None
        except OSError:
            return None

    def write(self, data: bytes) -> None:
        os.write(self.fd, data)

    def close(self) -> None:
        pass  # the test closes the descriptors


def test_engine_over_a_serial_line(tmp_path, output_dir, central):
    master, slave = pty.openpty()
    tty.setraw(slave)
    engine = FakeEngine(0)
    engine.attach(PtyStream(master))
    secret_file = tmp_path / "secret"
    secret_file.write_text(SECRET)
    log = output_dir / "monitor.log"
    log.unlink(missing_ok=True)
    process = spawn(["ev-cp-m", "--cp-id", CP, "--serial", os.ttyname(slave), "--central",
                     central.address, "--secret-file", str(secret_file)], log)
    try:
        central.first(m.EngineStatus, engine="OK")
        command = m.Command(cp_id=CP, action="resume", expires_at=EXPIRES)
        central.send(command)
        assert central.first(m.CommandResult, ref=command.id).ok
        engine.status = "silent"
        start = time.monotonic()
        status = central.first(m.EngineStatus, since=start, engine="KO")
        assert "no answer to a health check" in status.reason
    finally:
        stop(process)
        for link in engine.links:
            link.close()
        os.close(master)
        os.close(slave)
    assert "Traceback" not in log.read_text()


def test_missing_secret_file_is_one_line_and_exit_2(tmp_path, output_dir):
    log = output_dir / "monitor.log"
    log.unlink(missing_ok=True)
    process = spawn(["ev-cp-m", "--cp-id", CP, "--engine", "127.0.0.1:1",
                     "--secret-file", str(tmp_path / "absent")], log)
    assert process.wait(10) == 2
    lines = log.read_text().strip().splitlines()
    assert len(lines) == 1 and "cannot read secret file" in lines[0]


def test_the_first_login_waits_for_the_engine_so_a_starting_cp_never_shows_broken(
        monitor, engine, central):
    central.first(m.Heartbeat)
    statuses = central.of(m.EngineStatus)
    assert [s.engine for s in statuses] == ["OK"], statuses  # never DOWN "not connected yet"


def test_without_an_engine_it_logs_in_after_a_grace_and_says_down(tmp_path, output_dir, central):
    secret_file = tmp_path / "secret"
    secret_file.write_text(SECRET + "\n")
    log = output_dir / "monitor.log"
    log.unlink(missing_ok=True)
    process = spawn(["ev-cp-m", "--cp-id", CP, "--engine", f"127.0.0.1:{free_port()}",
                     "--central", central.address, "--secret-file", str(secret_file)], log)
    try:
        start = time.monotonic()
        status = central.first(m.EngineStatus, timeout=15)
        assert status.engine == "DOWN" and time.monotonic() - start >= 4.5
        assert "logging in to Central anyway" in log.read_text()
    finally:
        stop(process)


def test_log_lines_never_glue_to_the_status_line_on_a_terminal(tmp_path, engine):
    """The monitor's terminal: its status line redrawn in place, log lines above it."""
    from tests.support import read_pty, screen

    secret_file = tmp_path / "secret"
    secret_file.write_text(SECRET + "\n")
    main, sub = pty.openpty()
    process = subprocess.Popen(
        [str(BIN / "ev-cp-m"), "--cp-id", CP, "--engine", engine.address, "--central",
         f"127.0.0.1:{free_port()}", "--secret-file", str(secret_file)],
        stdin=sub, stdout=sub, stderr=sub, env={**os.environ, "TERM": "xterm"})
    os.close(sub)
    status = f"{CP}  engine OK  |  cannot reach Central"
    output = ""
    try:  # until the line shows the engine's health and a log line has printed above it
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            output += read_pty(main, 0.2)
            lines, current = screen(output)
            if status in current and any("cannot reach Central" in line for line in lines):
                break
    finally:
        stop(process)
        output += read_pty(main, 0.5)
        os.close(main)
    lines, current = screen(output)
    logs = [line for line in lines if line.strip()]
    assert any("cannot reach Central" in line for line in logs), output
    stamp = re.compile(r"^\d\d:\d\d:\d\d (INFO|WARNING|ERROR) ")
    assert all(stamp.match(line) for line in logs[:-1]), logs  # the last: the status, kept
    assert f"{CP}  engine OK  |  cannot reach Central" in logs[-1] + current
