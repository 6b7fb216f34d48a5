"""Dialers: keep one link to the engine and one to Central, reconnecting forever.

Each dialer runs on its own thread: dial, run the link until it closes, wait a backoff
delay, dial again.  An outage is logged once, not once per attempt.  What the links
carry is decided elsewhere (:mod:`edge.monitor.core`); the dialers only report
links going up and down and hand messages on.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable, Iterator

from protocol import messages as m
from protocol.auth import proof
from protocol.transport import Connection, SerialStream, Stream, connect
from runtime import backoff
from runtime.routing import Routes

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


def _wait_closed(closed: threading.Event, stop: threading.Event) -> None:
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
            _wait_closed(closed, self._stop)
            if self._stop.is_set():
                conn.close("monitor stopping")
                return
            self._on_down(conn.close_reason or "link closed")
            self._stop.wait(next(delays))


# What Central may send before it welcomes us.
HANDSHAKE = Routes("message from Central before Welcome")


class _Handshake:
    """One Central connection: Hello, Challenge, Authenticate, then Welcome or Refused."""

    def __init__(self, dialer: CentralDialer) -> None:
        self._dialer = dialer
        self.conn: Connection | None = None
        self.closed = threading.Event()
        self.welcomed = threading.Event()
        self.refused: str | None = None

    def on_message(self, message: m.Message) -> None:
        if self.conn is None:  # nothing is expected before our Hello
            log.warning("ignored %s from Central before Hello", message.TYPE)
        elif self.welcomed.is_set():
            self._dialer.on_message(message)
        elif (handler := HANDSHAKE.handler(type(message))) is not None:
            handler(self, self.conn, message)
        else:
            log.warning("ignored %s from Central before Welcome", message.TYPE)

    @HANDSHAKE.on(m.Challenge)
    def _challenge(self, conn: Connection, challenge: m.Challenge) -> None:
        dialer = self._dialer
        answer = proof(dialer.secret, challenge.nonce, dialer.cp_id)
        conn.send(m.Authenticate(cp_id=dialer.cp_id, hmac=answer))

    @HANDSHAKE.on(m.Welcome)
    def _welcome(self, conn: Connection, welcome: m.Welcome) -> None:
        self.welcomed.set()
        self._dialer.on_up(conn, welcome)

    @HANDSHAKE.on(m.Refused)
    def _refused(self, conn: Connection, refused: m.Refused) -> None:
        self.refused = refused.reason or "no reason given"
        conn.close("refused")


class CentralDialer:
    """The link to Central: authenticate, then keep it; refused means wait longer.

    The first login waits until ``engine_known`` is set (the engine's health is known)
    or ``engine_grace`` seconds have passed, so that a CP starting up does not show as
    broken for the moment its engine link takes to open."""

    def __init__(
        self,
        address: str,
        cp_id: str,
        secret: str,
        location: str | None,
        *,
        stop: threading.Event,
        on_up: Callable[[Connection, m.Welcome], None],
        on_message: Callable[[m.Message], None],
        on_down: Callable[[str], None],
        on_status: Callable[[str], None],
        delays: Callable[[], Iterator[float]] = lambda: backoff.delays(0.2, 2.0),
        refused_delay: tuple[float, float] = (5.0, 10.0),
        handshake_timeout: float = 5.0,
        engine_known: threading.Event | None = None,
        engine_grace: float = 5.0,
    ) -> None:
        self.address = address
        self.cp_id = cp_id
        self.secret = secret
        self._location = location
        self._stop = stop
        self.on_up, self.on_message, self._on_down = on_up, on_message, on_down
        self._on_status = on_status
        self._delays = delays
        self._refused_delay = refused_delay
        self._handshake_timeout = handshake_timeout
        self._outage = False
        self._refusal: str | None = None
        self._engine_known = engine_known or threading.Event()
        self._engine_grace = engine_grace

    def run(self) -> None:
        self._wait_for_engine()
        delays = self._delays()
        while not self._stop.is_set():
            session = _Handshake(self)
            try:
                conn = open_link(
                    lambda: connect(self.address), name="central",
                    on_message=session.on_message,
                    on_close=lambda reason, s=session: s.closed.set(),
                )
            except Unreachable as error:
                self._unreachable(str(error))
                self._stop.wait(next(delays))
                continue
            session.conn = conn
            conn.send(m.Hello(cp_id=self.cp_id, location=self._location))
            self._await_welcome(session)
            if self._stop.is_set():
                conn.close("monitor stopping")
                return
            if session.welcomed.is_set():
                _wait_closed(session.closed, self._stop)
                if self._stop.is_set():
                    conn.close("monitor stopping")
                    return
                reason = conn.close_reason or "link closed"
                log.warning("lost Central at %s: %s", self.address, reason)
                self._on_down(reason)
                self._outage, self._refusal, delays = False, None, self._delays()
                self._stop.wait(next(delays))
            elif session.refused is not None:
                self._refused(session.refused)
                self._stop.wait(random.uniform(*self._refused_delay))
            else:
                self._unreachable(f"closed before Welcome: {conn.close_reason}")
                self._stop.wait(next(delays))

    def _wait_for_engine(self) -> None:
        deadline = time.monotonic() + self._engine_grace
        while not self._stop.is_set() and not self._engine_known.wait(0.05):
            if time.monotonic() > deadline:
                log.warning("engine health unknown after %g s: logging in to Central anyway",
                            self._engine_grace)
                return

    def _await_welcome(self, session: _Handshake) -> None:
        deadline = time.monotonic() + self._handshake_timeout
        while not self._stop.is_set() and not session.closed.wait(0.05):
            if session.welcomed.is_set():
                return
            if time.monotonic() > deadline:
                session.conn.close(f"no Welcome within {self._handshake_timeout:g} s")

    def _unreachable(self, why: str) -> None:
        if self._stop.is_set():
            return
        text = f"cannot reach Central at {self.address}, retrying"
        if not self._outage:
            self._outage = True
            log.warning(text)
            log.debug("Central at %s: %s", self.address, why)
            self._on_status(text)

    def _refused(self, reason: str) -> None:
        self._outage = False
        if reason != self._refusal:
            self._refusal = reason
            log.warning("Central refused us: %s", reason)
            self._on_status(f"Central refused us: {reason}")
        else:
            log.debug("Central refused us again: %s", reason)
