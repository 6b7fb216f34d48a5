"""The terminal: printed lines, the live status line and the prompt.

Two ways to show things:

- **plain** (file mode, pipes, the journal): lines as they come.  Live progress is one
  line redrawn in place on a TTY, and one printed line every :data:`PROGRESS_EVERY_S`
  otherwise.
- **live** (the menu on a terminal): the bottom of the screen is a live region, a status
  line (live progress, "waiting for Kafka ...") above the prompt with what the person is
  typing (the terminal does not echo: see :mod:`driver_app.keyboard`).  Anything else
  printed, log lines included, first erases the region and then draws it again below,
  so output, the status line and the typing never share a row.

A reader that goes away (``ev-driver | head -1``), or any other failure to write, sets
:attr:`Screen.closed` (and :attr:`Screen.gone` says why); nothing is written after that
and no traceback follows: the app stops.  Time is passed in.
"""

from __future__ import annotations

import errno
import logging
import os
import sys
import threading
from collections.abc import Callable
from typing import TextIO

PROGRESS_EVERY_S = 5.0
DEFAULT_WIDTH = 80


# -- pure: what the live region looks like ------------------------------------------
def fit(text: str, width: int) -> str:
    """``text`` cut to fit one row (the last column stays free: no terminal wraps)."""
    return text[:max(width - 1, 0)]


def region(status: str, prompt: str | None, typed: str, width: int) -> tuple[str, int]:
    """The live region's text (the cursor ends after the typing) and its rows."""
    rows = [fit(status, width)] if status else []
    if prompt is not None:
        room = width - 1 - len(prompt)
        rows.append(fit(prompt + (typed[-room:] if room > 0 else ""), width))
    return "\n".join(rows), len(rows)


def erase(rows: int) -> str:
    """From the last row of a live region of ``rows`` rows back to its first row's
    start, erasing down to the end of the screen."""
    return "\r" + "\x1b[A" * (rows - 1) + "\x1b[J" if rows else ""


# -- the shell ----------------------------------------------------------------------
class Screen:
    def __init__(self, stream: TextIO | None = None, live: bool = False) -> None:
        self._stream = stream or sys.stdout
        self._tty = self._stream.isatty()
        self.live = live and self._tty
        self.closed = False  # the reader went away: nothing more is shown
        self.gone = ""  # why
        self._lock = threading.RLock()
        self._open = False  # plain TTY: a progress line waits for its newline
        self._printed: dict[str, float] = {}  # plain: session -> when progress was printed
        self._status = ""
        self._prompt: str | None = None
        self._typed = ""
        self._rows = 0  # live: rows of the region on the screen now

    # -- printed lines ----------------------------------------------------------------
    def lines(self, lines: list[str]) -> None:
        self.above(lambda: self._stream.write("".join(line + "\n" for line in lines)))

    def line(self, text: str) -> None:
        self.lines([text])

    def above(self, write: Callable[[], None]) -> None:
        """Run ``write`` (whole lines, to this stream or another one) with the live
        region, or an open progress line, out of its way."""
        with self._lock:
            if self._out(self._clear()):
                self._out(write)
                self._out(self._draw())

    def progress(self, session_id: str, text: str, now: float) -> None:
        if self.live:
            self.status(text)
        elif self._tty:
            with self._lock:
                self._open = self._out("\r\x1b[K" + text)
        else:
            last = self._printed.get(session_id)
            if last is None or now - last >= PROGRESS_EVERY_S:
                self._printed[session_id] = now
                self.line(text)

    # -- the live region --------------------------------------------------------------
    def status(self, text: str) -> None:
        """The status line ("" for none); live only."""
        if self.live and text != self._status:
            with self._lock:
                self._status = text
                self._redraw()

    def prompt(self, text: str | None) -> None:
        """The prompt (None for none); live only."""
        if self.live:
            with self._lock:
                self._prompt = text
                self._redraw()

    def typed(self, text: str) -> None:
        """What the person has typed so far, echoed after the prompt."""
        with self._lock:
            self._typed = text
            self._redraw()

    def entered(self, line: str) -> None:
        """A finished line: it stays on the screen after the prompt, as typed."""
        with self._lock:
            self._typed = ""
            if self.live and self._prompt is not None:
                prompted = fit(self._prompt + line, self._width())
                self.above(lambda: self._stream.write(prompted + "\n"))

    def hide(self) -> None:
        """The live region off the screen (while the shell has the terminal)."""
        with self._lock:
            self._out(self._clear())

    def show(self) -> None:
        """The live region back after :meth:`hide`."""
        with self._lock:
            self._out(self._draw())

    def end(self) -> None:
        """The app is done: the live region goes, an open progress line is ended."""
        with self._lock:
            self._out(self._clear())
            self._status, self._prompt = "", None

    # -- helpers ------------------------------------------------------------------------
    def _redraw(self) -> None:
        if self.live:
            self._out(self._clear() + self._draw())

    def _clear(self) -> str:
        if self.live:
            text, self._rows = erase(self._rows), 0
            return text
        text, self._open = ("\n" if self._open else ""), False
        return text

    def _draw(self) -> str:
        if not self.live:
            return ""
        text, self._rows = region(self._status, self._prompt, self._typed, self._width())
        return text

    def _width(self) -> int:
        try:
            return os.get_terminal_size(self._stream.fileno()).columns or DEFAULT_WIDTH
        except (OSError, ValueError, AttributeError):
            return DEFAULT_WIDTH

    def _out(self, what: str | Callable[[], None]) -> bool:
        """Write text (or run a writer) and flush; False once the reader is gone."""
        if self.closed:
            return False
        try:
            if callable(what):
                what()
            elif what:
                self._stream.write(what)
            self._stream.flush()
            return True
        except ValueError:
            if not self._stream.closed:
                raise
            self._gone("its output was closed")
        except OSError as error:  # a broken pipe; EIO: the terminal hung up; a full disk
            self._gone("its output was closed" if error.errno in (errno.EPIPE, errno.EIO)
                       else f"cannot write its output: {error.strerror or error}")
        return False

    def _gone(self, why: str) -> None:
        self.closed, self.gone = True, why
        try:  # what is still buffered goes nowhere, without an error at exit
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, self._stream.fileno())
            os.close(devnull)
        except (OSError, ValueError, AttributeError):
            pass


class ScreenHandler(logging.Handler):
    """Log lines to ``stream`` (stderr), with the screen's live region out of their way."""

    def __init__(self, screen: Screen, stream: TextIO | None = None) -> None:
        super().__init__()
        self.screen, self.stream = screen, stream or sys.stderr

    def emit(self, record: logging.LogRecord) -> None:
        try:
            text = self.format(record) + "\n"
        except Exception:  # noqa: BLE001 - a bad log call must not reach the person
            return
        if self.screen.closed:  # stdout is gone, stderr may not be
            _write_quietly(self.stream, text)
        else:
            self.screen.above(lambda: _write_quietly(self.stream, text))

    def handleError(self, record: logging.LogRecord) -> None:  # noqa: N802 - logging's name
        pass  # stderr itself is gone: nowhere left to say so


def _write_quietly(stream: TextIO, text: str) -> None:
    try:
        stream.write(text)
        stream.flush()
    except (OSError, ValueError):
        pass  # stderr gone (closed, a broken pipe): the log line is lost, nothing else
