"""``ev-driver``'s menu on a real pseudo-terminal, as a person sees it.

The app runs with the pty as its controlling terminal (so Ctrl+C is a real SIGINT from
the line discipline); what it writes is replayed on a small screen model that knows the
few controls the app uses (CR, LF, cursor up, erase below, erase line), to check what
each row of the screen shows.
"""

from __future__ import annotations

import fcntl
import os
import pty
import re
import select
import signal
import struct
import subprocess
import termios
import time
from pathlib import Path

import pytest

from sim import brokers as b
from tests.integration.fake_central import DRIVER, FakeCentral
from tests.support import BIN, bound, free_port, stop, wait_for

pytestmark = pytest.mark.integration

COLUMNS = 100
PROMPT = f"{DRIVER}> "
PROGRESS = "HOLD-01  7.40 kW  0.500 kWh  0.18 EUR"
CONTROL = re.compile(r"\x1b\[([0-9;]*)([A-Za-z])|(.)", re.S)


def rows_of(output: str) -> list[str]:
    """The screen's rows (scrollback included) after ``output``."""
    rows, row, col = [[]], 0, 0
    for params, command, char in CONTROL.findall(output):
        if command == "A":
            row = max(0, row - int(params or 1))
        elif command in ("J", "K"):
            del rows[row][col:]
            if command == "J":
                del rows[row + 1:]
        elif char == "\r":
            col = 0
        elif char == "\n":
            row += 1
            if row == len(rows):
                rows.append([])
        elif char and char.isprintable():
            line = rows[row]
            line.extend(" " * (col - len(line) + 1))
            line[col] = char
            col += 1
    return ["".join(r) for r in rows]


class Terminal:
    def __init__(self, kafka: str, state: Path) -> None:
        self.master, self.slave = pty.openpty()
        fcntl.ioctl(self.slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, COLUMNS, 0, 0))
        self.modes = termios.tcgetattr(self.slave)
        self.output = ""
        self.process = subprocess.Popen(
            [str(BIN / "ev-driver"), "--kafka", kafka, "--driver-id", DRIVER,
             "--state-dir", str(state)],
            stdin=self.slave, stdout=self.slave, stderr=self.slave, start_new_session=True,
            preexec_fn=lambda: fcntl.ioctl(0, termios.TIOCSCTTY, 0),
            env={**os.environ, "EV_KAFKA_SESSION_MS": "2000"})

    def read(self, seconds: float = 0.05) -> str:
        end = time.monotonic() + seconds
        while (left := end - time.monotonic()) > 0:
            if select.select([self.master], [], [], left)[0]:
                try:
                    self.output += os.read(self.master, 65536).decode(errors="replace")
                except OSError:
                    break
        return self.output

    def rows(self) -> list[str]:
        return rows_of(self.read())

    def shows(self, text: str, timeout: float = 10) -> list[str]:
        """Wait until some row of the screen holds ``text``."""
        return wait_for(lambda: any(text in row for row in self.rows()) and self.rows(), timeout)

    def type(self, keys: str) -> None:
        os.write(self.master, keys.encode())

    def exits(self, timeout: float) -> int:
        deadline = time.monotonic() + timeout
        while self.process.poll() is None and time.monotonic() < deadline:
            self.read()
        self.read(0.1)
        return self.process.wait(max(0.0, deadline - time.monotonic()))

    def close(self) -> None:
        stop(self.process)
        os.close(self.master)
        os.close(self.slave)


@pytest.fixture
def terminal(tmp_path):
    made: list[Terminal] = []

    def start(kafka: str) -> Terminal:
        made.append(Terminal(kafka, tmp_path / "state"))
        return made[-1]

    yield start
    for term in made:
        term.close()


@pytest.fixture
def kafka(tmp_path):
    broker = b.kafka_broker(tmp_path, free_port()).start()
    b.create_topics(broker.address)
    yield broker
    broker.stop()


def no_noise(term: Terminal, tmp_path: Path) -> None:
    assert "Traceback" not in term.output
    assert " INFO " not in term.output  # they went to the log file
    assert " INFO " in (tmp_path / "state" / "driver.log").read_text()


def test_the_menu_has_a_prompt_and_keeps_typing_off_the_progress_line(kafka, terminal,
                                                                      tmp_path):
    central = FakeCentral(kafka.address, {"HOLD-01": "hold"})
    try:
        term = terminal(kafka.address)
        rows = term.shows("no supply under way")
        assert rows[0] == f"log: {tmp_path / 'state' / 'driver.log'} (warnings show here too)"
        assert rows[-1] == PROMPT
        term.type("1\r")
        rows = term.shows("Madrid")
        assert f"{PROMPT}1" in rows and rows[-1] == PROMPT
        term.type("2 HOLD-01\r")
        term.shows(PROGRESS)
        before = term.output.count(PROGRESS)
        for key in "ab":  # each key redraws the live region, progress keeps arriving
            term.type(key)
            term.read(0.6)
        redraws = term.output.count(PROGRESS) - before
        rows = term.rows()
        assert rows[-2:] == [PROGRESS, f"{PROMPT}ab"]
        for row in rows:  # progress, typing and other output never share a row
            assert row.count(" kW ") <= 1 and not (PROMPT in row and " kW " in row)
            assert not row.startswith(PROGRESS) or row == PROGRESS
        assert "supply started at HOLD-01 (0.35 EUR/kWh)" in rows
        term.type("\x15q\r")
        assert term.exits(5) == 0
    finally:
        central.close()
    assert redraws >= 2
    rows = rows_of(term.output)
    assert "your supply at HOLD-01 goes on; start ev-driver again to see how it ends" in rows
    assert PROMPT not in rows[-1]  # the live region is gone: the shell's prompt starts clean
    assert termios.tcgetattr(term.slave) == term.modes  # echo and line mode are back
    no_noise(term, tmp_path)


@pytest.mark.parametrize("keys", ["q\r", "\x03"], ids=["q", "ctrl-c"])
def test_quits_at_once_while_kafka_is_unreachable(terminal, keys):
    address = f"127.0.0.1:{free_port()}"  # nothing listens there
    term = terminal(address)
    term.shows(f"waiting for Kafka at {address}, 1 s")
    rows = term.shows(f"waiting for Kafka at {address}, 2 s")  # it counts
    assert rows[-2:] == [f"waiting for Kafka at {address}, 2 s", PROMPT]
    term.type("1\r")
    term.shows(f"not connected yet: waiting for Kafka at {address}")
    term.type(keys)
    assert term.exits(5) == 0
    assert "Traceback" not in term.output and "KeyboardInterrupt" not in term.output


@pytest.mark.latency
@pytest.mark.parametrize("keys", ["q\r", "\x03"], ids=["q", "ctrl-c"])
def test_quitting_takes_under_a_second_while_kafka_is_unreachable(terminal, keys):
    address = f"127.0.0.1:{free_port()}"  # nothing listens there
    term = terminal(address)
    term.shows(f"waiting for Kafka at {address}, 1 s")
    term.type(keys)
    assert term.exits(bound(1.0)) == 0


def test_carries_on_when_kafka_comes_up(kafka, terminal, tmp_path):
    kafka.stop()
    term = terminal(kafka.address)
    term.shows(f"waiting for Kafka at {kafka.address}, 1 s")
    kafka.start()
    b.create_topics(kafka.address)
    central = FakeCentral(kafka.address, {})
    try:
        rows = term.shows("no supply under way", 20)
        assert rows[-1] == PROMPT and not any("waiting for Kafka" in r for r in rows[-2:])
        term.type("1\r")
        term.shows("Madrid")
        term.type("\x03")
        assert term.exits(5) == 0
    finally:
        central.close()
    no_noise(term, tmp_path)


def test_ctrl_z_gives_the_terminal_back_until_fg(terminal):
    term = terminal(f"127.0.0.1:{free_port()}")
    term.shows(PROMPT)
    echo = termios.ECHO | termios.ICANON
    assert not termios.tcgetattr(term.slave)[3] & echo
    term.type("\x1a")
    stat = Path(f"/proc/{term.process.pid}/stat")
    wait_for(lambda: stat.read_text().split()[2] == "T", 5)  # stopped
    assert termios.tcgetattr(term.slave)[3] & echo == echo  # the shell's own modes
    term.process.send_signal(signal.SIGCONT)  # what fg does
    wait_for(lambda: not termios.tcgetattr(term.slave)[3] & echo, 5)
    term.type("1")
    assert term.shows(f"{PROMPT}1")[-1] == f"{PROMPT}1"
    term.type("\x15q\r")
    assert term.exits(5) == 0
