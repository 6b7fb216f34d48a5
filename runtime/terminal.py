"""A status line redrawn in place on a terminal, with log lines printed above it.

The status line lives on stdout; log lines go to stderr (the journal on a Pi).  On a
terminal both land on the same screen, so each log line first clears the status line
and redraws it after itself, under one lock: a log line never ends up glued to the
status line, whichever thread writes first.  Off a terminal (pipes, files, the journal)
the status line is not drawn at all and log lines are written as they are.
"""

from __future__ import annotations

import logging
import sys
import threading
from typing import TextIO

CLEAR = "\r\x1b[K"


class StatusLine:
    def __init__(self, stream: TextIO | None = None) -> None:
        self._stream = stream or sys.stdout
        self.tty = _isatty(self._stream)
        self.lock = threading.RLock()
        self._text = ""

    def show(self, text: str) -> None:
        """Redraw the line with ``text`` (nothing off a terminal)."""
        with self.lock:
            if text == self._text:
                return
            self._text = text
            if self.tty:
                self._write(CLEAR + text)

    def above(self, write) -> None:
        """Run ``write()`` (which prints whole lines) with the status line out of the way."""
        with self.lock:
            if self.tty and self._text:
                self._write(CLEAR)
            try:
                write()
            finally:
                if self.tty and self._text:
                    self._write(self._text)

    def print(self, *lines: str) -> None:
        """Whole lines on the status line's stream, above it."""
        self.above(lambda: self._write("".join(line + "\n" for line in lines)))

    def close(self) -> None:
        """Leave the last status on screen and move below it."""
        with self.lock:
            if self.tty and self._text:
                self._write("\n")
            self._text = ""

    def handler(self, stream: TextIO | None = None) -> logging.Handler:
        return _AboveStatusLine(self, stream or sys.stderr)

    def _write(self, text: str) -> None:
        try:
            self._stream.write(text)
            self._stream.flush()
        except (OSError, ValueError):  # the terminal went away: nothing left to show
            self.tty = False


class _AboveStatusLine(logging.StreamHandler):
    """A log handler that prints each record above the status line."""

    def __init__(self, status: StatusLine, stream: TextIO) -> None:
        super().__init__(stream)
        self.status = status

    def emit(self, record: logging.LogRecord) -> None:
        self.status.above(lambda: super(_AboveStatusLine, self).emit(record))


def _isatty(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False
