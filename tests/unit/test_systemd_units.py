"""The systemd units in systemd/ and the sd_notify client in runtime/systemd.py.

- every unit passes ``systemd-analyze verify`` without a word, and scores an overall
  exposure of at most 3.0 in ``systemd-analyze security --offline=yes``;
- ``Watchdog`` sends at most one ``WATCHDOG=1`` an interval, only when systemd asked;
- the hang case: the engine's and the monitor's real main loops, in process, kick a
  real notify socket while they turn; when their work hangs (the clock they call blocks)
  the kicks stop while the process and its other threads live on, and come back once
  the loop moves again.  No test hook in production code: the clock is the services'
  ordinary constructor argument.
"""

from __future__ import annotations

import io
import os
import re
import shutil
import socket
import subprocess
import threading
import time
import uuid
from pathlib import Path

import pytest

from runtime import systemd
from tests.support import missing

ROOT = Path(__file__).resolve().parents[2]
UNITS = ROOT / "systemd"
NAMES = ["ev-cp-e", "ev-cp-m", "ev-bridge", "ev-central", "ev-registry", "ev-weather"]
CONFIGS = {"ev-cp-e": "engine", "ev-cp-m": "monitor", "ev-bridge": "bridge",
           "ev-central": "central", "ev-registry": "registry", "ev-weather": "weather"}
VENV_BIN = ROOT / ".venv" / "bin"


def _systemd_analyze() -> str:
    path = shutil.which("systemd-analyze")
    if path is None:
        missing("systemd-analyze is not installed (apt-get install systemd)")
    return path


def _unit(name: str) -> str:
    return (UNITS / f"{name}.service").read_text()


# -- the unit files ------------------------------------------------------------------
@pytest.mark.parametrize("name", NAMES)
def test_unit_declares_notify_watchdog_and_restart(name):
    text = _unit(name)
    config = CONFIGS[name]
    for line in ("Type=notify", "NotifyAccess=main", "WatchdogSec=10", "Restart=always",
                 "RestartSec=2", "StartLimitIntervalSec=60", "StartLimitBurst=10",
                 "User=evcharging", "Group=evcharging", "StateDirectory=evcharging",
                 "Environment=PYTHONUNBUFFERED=1", "UMask=0077",
                 f"ExecStart=/opt/evcharging/venv/bin/{name} "
                 f"--config /etc/evcharging/{config}.toml"):
        assert line in text.splitlines(), f"{name}: {line} missing"
    assert text.index("StartLimitBurst") < text.index("[Service]")  # [Unit] settings


def test_monitor_follows_the_engine():
    lines = _unit("ev-cp-m").splitlines()
    assert "PartOf=ev-cp-e.service" in lines
    assert "Wants=ev-cp-e.service" in lines
    assert any(line.startswith("After=") and "ev-cp-e.service" in line for line in lines)


def test_the_registry_starts_after_central_whose_database_it_shares():
    lines = _unit("ev-registry").splitlines()
    assert any(line.startswith("After=") and "ev-central.service" in line for line in lines)


def test_only_the_engine_reaches_devices():
    engine = _unit("ev-cp-e").splitlines()
    assert "SupplementaryGroups=gpio dialout" in engine
    assert "DevicePolicy=closed" in engine
    assert "PrivateDevices=yes" not in engine
    for name in NAMES[1:]:
        lines = _unit(name).splitlines()
        assert "PrivateDevices=yes" in lines and "PrivateUsers=yes" in lines


@pytest.fixture(scope="module")
def verifiable_units(tmp_path_factory) -> Path:
    """Copies of the units that ``systemd-analyze verify`` can check on this machine.

    verify insists that ExecStart's program exists and is executable (and
    ``--root=DIR`` does not help: it then wants a whole systemd tree, sysinit.target
    and all), so the copies run this checkout's .venv/bin/ev-... instead of
    /opt/evcharging/venv/bin/ev-...; nothing else changes.  verify does not check that
    User=evcharging exists, so that line stays as it is."""
    folder = tmp_path_factory.mktemp("units")
    for name in NAMES:
        text = _unit(name).replace("/opt/evcharging/venv/bin/", f"{VENV_BIN}/")
        (folder / f"{name}.service").write_text(text)
    return folder


@pytest.mark.parametrize("name", NAMES)
def test_systemd_analyze_verify_says_nothing(name, verifiable_units):
    tool = _systemd_analyze()
    assert (VENV_BIN / name).exists()
    result = subprocess.run([tool, "verify", str(verifiable_units / f"{name}.service")],
                            capture_output=True, text=True, timeout=30)
    assert result.stdout + result.stderr == ""
    assert result.returncode == 0


@pytest.mark.parametrize("name", NAMES)
def test_exposure_is_at_most_3(name):
    tool = _systemd_analyze()
    result = subprocess.run([tool, "security", "--offline=yes", "--no-pager",
                             str(UNITS / f"{name}.service")],
                            capture_output=True, text=True, timeout=30)
    found = re.search(r"Overall exposure level for \S+: (\d+\.\d+)", result.stdout)
    assert found, result.stdout + result.stderr
    assert float(found.group(1)) <= 3.0, result.stdout


# -- the notify client -----------------------------------------------------------------
class NotifySocket:
    """What systemd listens on: an abstract AF_UNIX datagram socket (``@name``)."""

    def __init__(self) -> None:
        self.name = f"@ev-test-{uuid.uuid4().hex}"
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(b"\0" + self.name[1:].encode())
        self.sock.settimeout(0.05)

    def drain(self, seconds: float) -> list[str]:
        got, deadline = [], time.monotonic() + seconds
        while time.monotonic() < deadline:
            try:
                got.append(self.sock.recv(4096).decode())
            except TimeoutError:
                pass
        return got

    def close(self) -> None:
        self.sock.close()


@pytest.fixture
def notify_socket(monkeypatch):
    listener = NotifySocket()
    monkeypatch.setenv("NOTIFY_SOCKET", listener.name)
    yield listener
    listener.close()


def test_notify_is_a_no_op_without_systemd(monkeypatch):
    monkeypatch.delenv("NOTIFY_SOCKET", raising=False)
    assert systemd.notify("READY=1") is False
    assert systemd.ready() is False
    monkeypatch.setenv("NOTIFY_SOCKET", "@ev-test-nobody-listens-" + uuid.uuid4().hex)
    assert systemd.stopping() is False  # nobody listening: False, never an exception


def test_notify_reaches_an_abstract_socket(notify_socket):
    assert systemd.ready("serving")
    assert systemd.status("busy")
    assert systemd.stopping()
    assert notify_socket.drain(0.2) == ["READY=1\nSTATUS=serving", "STATUS=busy", "STOPPING=1"]


def test_notify_reaches_a_path_socket(tmp_path, monkeypatch):
    path = tmp_path / "notify"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind(str(path))
        monkeypatch.setenv("NOTIFY_SOCKET", str(path))
        assert systemd.notify("READY=1")
        assert sock.recv(100) == b"READY=1"


def test_watchdog_interval(monkeypatch):
    monkeypatch.delenv("WATCHDOG_USEC", raising=False)
    monkeypatch.delenv("WATCHDOG_PID", raising=False)
    assert systemd.watchdog_interval() is None
    monkeypatch.setenv("WATCHDOG_USEC", "10000000")
    assert systemd.watchdog_interval() == 5.0
    monkeypatch.setenv("WATCHDOG_PID", str(os.getpid()))
    assert systemd.watchdog_interval() == 5.0
    monkeypatch.setenv("WATCHDOG_PID", str(os.getpid() + 1))  # meant for another process
    assert systemd.watchdog_interval() is None
    monkeypatch.delenv("WATCHDOG_PID")
    for bad in ("0", "-5", "soon"):
        monkeypatch.setenv("WATCHDOG_USEC", bad)
        assert systemd.watchdog_interval() is None


def test_watchdog_kicks_at_most_once_an_interval():
    sent, now = [], [0.0]
    dog = systemd.Watchdog(2.0, send=lambda s: sent.append(s) or True, clock=lambda: now[0])
    assert dog.kick()
    for t in (0.5, 1.0, 1.9):
        now[0] = t
        assert not dog.kick()
    now[0] = 2.0
    assert dog.kick()
    assert sent == ["WATCHDOG=1", "WATCHDOG=1"]


def test_watchdog_is_inert_without_watchdog_usec(monkeypatch):
    monkeypatch.delenv("WATCHDOG_USEC", raising=False)
    sent = []
    dog = systemd.Watchdog(send=sent.append)
    assert not dog.enabled and not dog.kick() and sent == []


# -- the hang case: real main loops, a real socket --------------------------------------
class HangableClock:
    """The clock a service's main loop calls; ``hang()`` makes the next call block."""

    def __init__(self, clock) -> None:
        self._clock = clock
        self._running = threading.Event()
        self._running.set()

    def __call__(self):
        self._running.wait()
        return self._clock()

    def hang(self) -> None:
        self._running.clear()

    def resume(self) -> None:
        self._running.set()


def _prove_kicks_follow_the_loop(notify_socket, clock, other_thread_alive) -> None:
    kicks = notify_socket.drain(1.0)  # 0.1 s interval; the engine turns every 0.25 s
    assert kicks.count("WATCHDOG=1") >= 3, kicks
    clock.hang()
    notify_socket.drain(0.3)  # a kick already past the clock may still land
    assert notify_socket.drain(0.8) == []  # hung: no kick for 8 intervals
    assert other_thread_alive()  # the process did not stop, only its main loop did
    clock.resume()
    assert notify_socket.drain(0.9).count("WATCHDOG=1") >= 2  # moving again: kicks again


def test_engine_kicks_stop_when_its_tick_loop_hangs(notify_socket, tmp_path):
    from edge.engine import hardware
    from edge.engine.journal import Journal
    from edge.engine.meter import Meter
    from edge.engine.service import Engine, real_now, run_ticks

    devices = hardware.build(hardware.DEFAULT_PINS)
    journal = Journal(tmp_path / "journal.db")
    clock = HangableClock(real_now)
    engine = Engine("CP1", journal, devices, Meter(), clock)
    engine.start()
    stop = threading.Event()
    beats = []  # a thread that is not the main loop keeps running meanwhile

    def beat() -> None:
        while not stop.wait(0.05):
            beats.append(1)

    beating = threading.Thread(target=beat, daemon=True)
    loop = threading.Thread(target=run_ticks, daemon=True, args=(
        engine, stop, lambda: None, systemd.Watchdog(0.1)))
    beating.start()
    loop.start()
    try:
        def alive() -> bool:
            before = len(beats)
            time.sleep(0.2)
            return beating.is_alive() and len(beats) > before and loop.is_alive()

        _prove_kicks_follow_the_loop(notify_socket, clock, alive)
    finally:
        stop.set()
        clock.resume()
        loop.join(2)
        beating.join(2)
        journal.close()
        devices.close()
    assert not loop.is_alive()


def test_monitor_kicks_stop_when_its_loop_hangs(notify_socket):
    from edge.monitor.display import MonitorStatus
    from edge.monitor.service import Monitor
    from runtime.terminal import StatusLine

    clock = HangableClock(time.monotonic)
    # nothing listens on port 9 of loopback: the dialers retry on their own threads
    monitor = Monitor(cp_id="CP1", engine="127.0.0.1:9", serial=False, central="127.0.0.1:9",
                      secret="s" * 32, location=None,
                      display=MonitorStatus("CP1", StatusLine(io.StringIO())),
                      clock=clock, watchdog=systemd.Watchdog(0.1))
    monitor.start()
    try:
        def alive() -> bool:
            threads = {t.name: t for t in threading.enumerate()}
            return all(threads[n].is_alive() for n in ("engine-dialer", "central-dialer",
                                                         "monitor-loop"))

        _prove_kicks_follow_the_loop(notify_socket, clock, alive)
    finally:
        clock.resume()
        monitor.stop()
