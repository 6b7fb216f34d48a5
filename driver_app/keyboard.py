"""What the person types: keys from a terminal, or lines from any other stdin.

Both feed a queue of finished lines (None at the end of input) that the app reads in its
own loop, from a thread of their own.  On a terminal, :class:`Keyboard` puts it in cbreak
mode (no echo, no line buffering; Ctrl+C and Ctrl+Z still signal) so that the
:class:`~driver_app.screen.Screen` echoes the typing itself, on the prompt's row, and no
keystroke ever lands inside the program's output.  Ctrl+D on an empty line quits at
once there, like ``q``; the end of any other input lets answers still due arrive first.
"""

from __future__ import annotations

import codecs
import os
import queue
import termios
import threading
from typing import TextIO

from .lineedit import EOF, LineEditor
from .screen import Screen


class Keyboard:
    """A context manager: cbreak mode and a reader thread inside, the terminal's own
    settings back on the way out, whatever happened."""

    def __init__(self, fd: int, screen: Screen, commands: queue.Queue) -> None:
        self.fd, self.screen, self.commands = fd, screen, commands
        self._saved: list | None = None
        self._editor = LineEditor()

    def __enter__(self) -> Keyboard:
        self._saved = termios.tcgetattr(self.fd)
        self.resume()
        # The reader reads a descriptor of its own, closed when it ends: one it shared
        # could be closed and its number given to another file while it still reads.
        reading = os.dup(self.fd)
        threading.Thread(target=self._read, args=(reading,), daemon=True,
                         name="keyboard").start()
        return self

    def __exit__(self, *_: object) -> None:
        self.suspend()

    def resume(self) -> None:
        """Cbreak mode (again, after the shell had the terminal: SIGCONT)."""
        try:
            mode = termios.tcgetattr(self.fd)
            mode[3] &= ~(termios.ICANON | termios.ECHO)
            mode[6][termios.VMIN], mode[6][termios.VTIME] = 1, 0
            termios.tcsetattr(self.fd, termios.TCSANOW, mode)
        except termios.error:
            pass  # the terminal is gone: the reader sees the end of input

    def suspend(self) -> None:
        """The terminal's own settings back (on exit, and before Ctrl+Z stops us)."""
        if self._saved is not None:
            try:
                termios.tcsetattr(self.fd, termios.TCSADRAIN, self._saved)
            except termios.error:
                pass

    def _read(self, fd: int) -> None:
        try:
            self._read_keys(fd)
        finally:
            os.close(fd)

    def _read_keys(self, fd: int) -> None:
        decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        while True:
            try:
                data = os.read(fd, 1024)
            except OSError:  # EIO: the terminal hung up
                data = b""
            if not data:
                self.commands.put(None)
                return
            for line in self._editor.feed(decoder.decode(data)):
                if line is EOF:  # Ctrl+D: a person who is done, as at a shell
                    self.commands.put("q")
                    return
                self.screen.entered(line)  # before its answer can be printed
                self.commands.put(line)
            self.screen.typed(self._editor.text)


def read_lines(stream: TextIO | None, commands: queue.Queue) -> None:
    """Feed the lines of ``stream`` (None: there is no stdin) into ``commands``, then
    None; runs in a thread.  A read error ends the input like its end does."""
    try:
        if stream is not None:
            for line in iter(stream.readline, ""):
                commands.put(line)
    except (OSError, ValueError):
        pass
    commands.put(None)
