"""Dialers: keep one link to the engine and one to Central, reconnecting forever.

Each dialer runs on its own thread: dial, run the link until it closes, wait a backoff
delay, dial again.  An outage is logged once, not once per attempt.  What the links
carry is decided elsewhere (:mod:`edge.monitor.core`); the dialers only report
links going up and down and hand messages on.  This module has the engine's dialer and
what both share; the link to Central is :mod:`edge.monitor.central_link`.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator

from protocol import messages as m
from protocol.transport import Connection, SerialStream, Stream, connect
from runtime import backoff

log = logging.getLogger(__name__)

OPEN_TIMEOUT = 2.0


class Unreachable(Exception):
    """The peer could not be dialled, or did not answer ENQ."""


def open_link(
    open_stream: Callable[[], Stream],
    *,
    name: str,
    on_message: Callable[[m.Message], None],
    on_close: Callable[[str], None],
    open_timeout: float = OPEN_TIMEOUT,
) -> Connection:
    try:
        stream = open_stream()
    except (OSError, ValueError) as error:
        raise Unreachable(getattr(error, "strerror", None) or str(error)) from None
    conn = Connection(stream, initiator=True, on_message=on_message, on_close=on_close, name=name)
    conn.start()
    if not conn.wait_open(open_timeout):
        conn.close("no answer to ENQ")
        raise Unreachable(conn.close_reason)
    return conn


def wait_closed(closed: threading.Event, stop: threading.Event) -> None:
    while not stop.is_set() and not closed.wait(0.1):
        pass


class EngineDialer:
    """The link to the engine: TCP ``HOST:PORT`` or a serial URL."""

    def __init__(
        self,
        target: str,
        cp_id: str,
        *,
        serial: bool,
        stop: threading.Event,
        on_up: Callable[[Connection], None],
        on_message: Callable[[m.Message], None],
        on_down: Callable[[str], None],
        delays: Callable[[], Iterator[float]] = lambda: backoff.delays(0.2, 1.0),
    ) -> None:
        self.target = target
        self._cp_id = cp_id
        self._serial = serial
        self._stop = stop
        self._on_up, self._on_message, self._on_down = on_up, on_message, on_down
        self._delays = delays

    def _open(self) -> Stream:
        return SerialStream.open(self.target) if self._serial else connect(self.target)

    def run(self) -> None:
        delays, outage = self._delays(), False
        while not self._stop.is_set():
            closed = threading.Event()
            try:
                conn = open_link(
                    self._open, name="engine", on_message=self._on_message,
                    on_close=lambda reason, c=closed: c.set(),
                )
            except Unreachable as error:
                if not outage:
                    log.warning("cannot reach engine at %s (%s), retrying", self.target, error)
                    outage = True
                self._stop.wait(next(delays))
                continue
            outage, delays = False, self._delays()
            log.info("engine link open to %s", conn.peer)
            conn.send(m.Hello(cp_id=self._cp_id))
            self._on_up(conn)
            wait_closed(closed, self._stop)
            if self._stop.is_set():
                conn.close("monitor stopping")
                return
            self._on_down(conn.close_reason or "link closed")
            self._stop.wait(next(delays))
