"""``ev-weather``'s menu on a real pseudo-terminal: locations added, renamed and removed
while the office runs (the file rewritten, no restart), the list with temperatures and
alerts, and log lines that never land on the prompt's row."""

from __future__ import annotations

import fcntl
import os
import pty
import select
import struct
import subprocess
import termios
import time

import pytest

from tests.integration.test_driver_terminal import rows_of
from tests.support import BIN, free_port, wait_for

from .weather_fakes import FakeCentral

pytestmark = pytest.mark.integration

TOKEN = "menu-token-0123456789"
PROMPT = "weather> "


class Terminal:
    def __init__(self, args: list[str]) -> None:
        self.master, self.slave = pty.openpty()
        fcntl.ioctl(self.slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
        self.modes = termios.tcgetattr(self.slave)
        self.output = ""
        self.process = subprocess.Popen(
            [str(BIN / "ev-weather"), *args], stdin=self.slave, stdout=self.slave,
            stderr=self.slave, start_new_session=True,
            preexec_fn=lambda: fcntl.ioctl(0, termios.TIOCSCTTY, 0))

    def read(self, seconds: float = 0.05) -> str:
        end = time.monotonic() + seconds
        while (left := end - time.monotonic()) > 0:
            if select.select([self.master], [], [], left)[0]:
                try:
                    self.output += os.read(self.master, 65536).decode(errors="replace")
                except OSError:
                    break
        return self.output

    def shows(self, text: str, timeout: float = 10) -> list[str]:
        def rows():
            found = rows_of(self.read())
            return any(text in row for row in found) and found
        return wait_for(rows, timeout)

    def type(self, keys: str) -> None:
        os.write(self.master, keys.encode())

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(5)
        os.close(self.master)
        os.close(self.slave)


@pytest.fixture
def central():
    fake = FakeCentral(free_port(), TOKEN)
    yield fake
    fake.close()


def test_the_menu_changes_locations_without_a_restart(tmp_path, central):
    (tmp_path / "token").write_text(TOKEN)
    locations = tmp_path / "locations"
    locations.write_text("Madrid\n")
    sim = tmp_path / "sim.json"
    term = Terminal(["--central", central.url, "--token-file", str(tmp_path / "token"),
                     "--locations", str(locations), "--provider", "sim", "--sim-file",
                     str(sim), "--every", "0.2"])
    try:
        rows = term.shows("weather: ok | 1 location, 0 alerts")
        assert rows[-1] == PROMPT
        term.type("add Reykjavik,IS\r")
        term.shows("location Reykjavik,IS added")
        assert locations.read_text() == "Madrid\nReykjavik,IS\n"
        subprocess.run([str(BIN / "ev-weather"), "set", "Reykjavik,IS", "-5", "--sim-file",
                        str(sim)], check=True, capture_output=True, timeout=10)
        wait_for(lambda: "Reykjavik,IS" in central.alerts)
        term.shows("1 alert |")
        term.type("list\r")
        rows = term.shows("Reykjavik,IS")
        assert any(row.split() == ["Reykjavik,IS", "-5", "C", "ALERT"] for row in rows), rows
        assert any(row.split() == ["Madrid", "12", "C", "no", "alert"] for row in rows), rows
        term.type("rename Reykjavik,IS -> Akureyri\r")
        term.shows("location Akureyri added")
        assert locations.read_text() == "Madrid\nAkureyri\n"
        wait_for(lambda: "Reykjavik,IS" not in central.alerts)  # no longer watched
        term.type("remove Madrid\r")
        term.shows("location Madrid removed")
        assert locations.read_text() == "Akureyri\n"
        term.type("frobnicate\r")
        term.shows("unknown command 'frobnicate'")
        term.type("add Bergen")  # typing in progress while log lines arrive
        locations.write_text("Akureyri\nTromso\n")  # edited on disk meanwhile
        rows = term.shows("location Tromso added")
        assert rows[-1] == PROMPT + "add Bergen"
        for row in rows:
            assert not (row.startswith(PROMPT) and "ev-weather:" in row), rows
        term.type("\rq\r")
        assert term.process.wait(5) == 0
        term.read(0.2)
        assert locations.read_text() == "Akureyri\nTromso\nBergen\n"
        assert termios.tcgetattr(term.slave) == term.modes
        assert "Traceback" not in term.output
    finally:
        term.close()


def test_ctrl_c_stops_the_menu_cleanly(tmp_path, central):
    (tmp_path / "token").write_text(TOKEN)
    (tmp_path / "locations").write_text("Madrid\n")
    term = Terminal(["--central", central.url, "--token-file", str(tmp_path / "token"),
                     "--locations", str(tmp_path / "locations"), "--provider", "sim",
                     "--every", "0.2"])
    try:
        term.shows("weather: ok | 1 location")
        term.type("add Lim")
        term.type("\x03")
        assert term.process.wait(5) == 0
        term.read(0.2)
        assert "stopping on SIGINT" in term.output and "Traceback" not in term.output
        assert termios.tcgetattr(term.slave) == term.modes
        assert (tmp_path / "locations").read_text() == "Madrid\n"
    finally:
        term.close()
