"""Keys from a real pseudo-terminal; lines from any other stdin."""

import io
import os
import pty
import queue
import termios

import pytest

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


def test_keys_become_lines_echoed_by_the_screen(terminal):
    master, slave = terminal
    commands: queue.Queue = queue.Queue()
    echo = Echo()
    with Keyboard(slave, echo, commands):
        os.write(master, "2 MÁ".encode()[:-1])  # half a character: nothing yet
        os.write(master, "Á".encode()[-1:])
        try:  # 10 s: it failed once at 5 s on a worker of a loaded make test
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
