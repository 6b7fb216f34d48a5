"""Keys from a real pseudo-terminal; lines from any other stdin."""

import io
import os
import pty
import queue
import select
import termios
import threading
import types

import pytest

from driver_app import keyboard
from driver_app.keyboard import Keyboard, read_lines
from driver_app.screen import Screen
from tests.support import wait_for


class Echo(Screen):
    """Records what the keyboard asks the screen to show."""

    def __init__(self) -> None:
        super().__init__(io.StringIO())
        self.shown: list[tuple[str, str]] = []

    def typed(self, text: str) -> None:
        self.shown.append(("typed", text))

    def entered(self, line: str) -> None:
        self.shown.append(("entered", line))


@pytest.fixture
def terminal():
    master, slave = pty.openpty()
    yield master, slave
    for fd in (master, slave):
        try:
            os.close(fd)
        except OSError:
            pass


def lflags(fd: int) -> int:
    return termios.tcgetattr(fd)[3]


def test_cbreak_inside_the_terminal_settings_back_after(terminal):
    master, slave = terminal
    before = termios.tcgetattr(slave)
    with Keyboard(slave, Echo(), queue.Queue()):
        assert not lflags(slave) & (termios.ICANON | termios.ECHO)
        assert lflags(slave) & termios.ISIG  # Ctrl+C still interrupts
    assert termios.tcgetattr(slave) == before


def test_a_reader_that_starts_late_never_reads_the_next_terminal(terminal, monkeypatch):
    """A loaded machine once ran a Keyboard's reader only after its test had closed the
    terminal and the next test had opened one on the same descriptor numbers: it read
    the next test's keys."""
    held: list[threading.Thread] = []

    class Held(threading.Thread):
        def start(self) -> None:
            held.append(self)

    monkeypatch.setattr(keyboard, "threading", types.SimpleNamespace(Thread=Held))
    master, slave = pty.openpty()
    first: queue.Queue = queue.Queue()
    with Keyboard(slave, Echo(), first):
        pass
    os.close(master)
    next_master, next_slave = terminal
    os.dup2(next_slave, slave)  # the old number is the next terminal now
    try:
        threading.Thread.start(held[0])  # the first reader runs only now
        assert first.get(timeout=5) is None  # its own terminal hung up: it ends
        os.write(next_master, b"x\r")
        assert select.select([next_slave], [], [], 5)[0] and os.read(next_slave, 16) == b"x\n"
    finally:
        os.close(slave)


def test_keys_become_lines_echoed_by_the_screen(terminal):
    master, slave = terminal
    commands: queue.Queue = queue.Queue()
    echo = Echo()
    with Keyboard(slave, echo, commands):
        os.write(master, "2 MÁ".encode()[:-1])  # half a character: nothing yet
        os.write(master, "Á".encode()[-1:])
        try:  # (a late reader of the test before once took these keys: see above)
            wait_for(lambda: ("typed", "2 MÁ") in echo.shown, 10)
        except TimeoutError:
            raise AssertionError(f"not echoed; the screen was asked for {echo.shown}") from None
        os.write(master, b"\x7fAD-01\r")
        assert commands.get(timeout=5) == "2 MAD-01"
        os.write(master, b"\x04")  # Ctrl+D: done, like q
        assert commands.get(timeout=5) == "q"
    assert ("entered", "2 MAD-01") in echo.shown
    assert "2 M\ufffd" not in {text for _, text in echo.shown}
    assert echo.shown[-2:] == [("entered", "2 MAD-01"), ("typed", "")]


def test_a_hung_up_terminal_is_the_end_of_input(terminal):
    master, slave = terminal
    commands: queue.Queue = queue.Queue()
    with Keyboard(slave, Echo(), commands):
        os.close(master)
        assert commands.get(timeout=5) is None


def test_lines_from_a_pipe_then_the_end():
    commands: queue.Queue = queue.Queue()
    read_lines(io.StringIO("1\nq\n"), commands)
    assert [commands.get_nowait() for _ in range(3)] == ["1\n", "q\n", None]


@pytest.mark.parametrize("stream", [None, io.StringIO()])
def test_no_stdin_is_the_end_of_input(stream):
    if stream is not None:
        stream.close()  # reading it raises ValueError
    commands: queue.Queue = queue.Queue()
    read_lines(stream, commands)
    assert commands.get_nowait() is None
