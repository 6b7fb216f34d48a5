"""The link to Central: log in, keep the link, log in again after it drops.

The login is the HMAC challenge (:mod:`protocol.auth`); Central's Welcome carries the
CP's new key, wrapped under a key derived from the CP's secret and the challenge
(:mod:`protocol.seal`).  The dialer unwraps it and from then on the link seals every
frame with it (:class:`protocol.seal.SealingCodec`), both ways.

After Central revokes the key the dialer is *held*: it does not log in again by itself,
only when asked to re-authenticate (:meth:`CentralDialer.reauthenticate`, which also
forces a new login while connected and tells the caller how that login went).
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from dataclasses import dataclass

from protocol import key_wrap, seal
from protocol import messages as m
from protocol.auth import proof, secret_key
from protocol.transport import Connection, connect
from runtime import backoff
from runtime.routing import Routes

from .dialers import Unreachable, open_link, wait_closed

log = logging.getLogger(__name__)


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
        self.key: seal.Key | None = None
        self._nonce: str | None = None  # this login's challenge: it salts the key wrap

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
        self._nonce = challenge.nonce
        answer = proof(dialer.secret, challenge.nonce, dialer.cp_id)
        conn.send(m.Authenticate(cp_id=dialer.cp_id, hmac=answer))

    @HANDSHAKE.on(m.Welcome)
    def _welcome(self, conn: Connection, welcome: m.Welcome) -> None:
        """Unwrap the new key and seal the link with it before anything else is sent:
        the next frame either way is sealed (the link's codec switch)."""
        try:
            key = self._unwrap(welcome)
        except seal.SealError as error:
            self.refused = f"no usable key in Central's Welcome ({error})"
            conn.close("no usable key")
            return
        conn.codec = seal.SealingCodec(m.CONTROL_CODEC, self._dialer.cp_id, key)
        self.key = key
        self.welcomed.set()
        self._dialer.on_up(conn, welcome, key)

    def _unwrap(self, welcome: m.Welcome) -> seal.Key:
        if not welcome.key_id or not welcome.wrapped_key or self._nonce is None:
            raise seal.SealError("it carries none")
        dialer = self._dialer
        wrapping = key_wrap.wrapping_key(secret_key(dialer.secret), self._nonce, dialer.cp_id)
        return key_wrap.unwrap(welcome.wrapped_key, welcome.key_id, wrapping, dialer.cp_id)

    @HANDSHAKE.on(m.Refused)
    def _refused(self, conn: Connection, refused: m.Refused) -> None:
        self.refused = refused.reason or "no reason given"
        conn.close("refused")


@dataclass(frozen=True)
class Outcome:
    """How a login went, for whoever asked for it (``ev-cp-m reauth``, the terminal)."""

    ok: bool
    text: str


REVOKED = "key revoked by Central: press a to re-authenticate (or run ev-cp-m reauth)"


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
        on_up: Callable[[Connection, m.Welcome, seal.Key], None],
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
        self._lock = threading.Lock()
        self._wake = threading.Event()  # a re-authentication was asked for: no more waiting
        self._held = False  # the key was revoked: no login until asked
        self._attempt = 0  # logins tried so far
        self._session: _Handshake | None = None
        self._asked: list[tuple[int, Future]] = []  # (first login that answers, answer)

    @property
    def held(self) -> bool:
        return self._held

    def hold(self) -> None:
        """Central revoked our key: once the link is down, log in again only when asked."""
        self._held = True

    def reauthenticate(self) -> Future:
        """A new login now (the current link, if any, is closed first); the Future's
        :class:`Outcome` is that login's."""
        answer: Future = Future()
        with self._lock:
            session = self._session
            busy = session is not None and not session.closed.is_set()
            fresh = busy and not session.welcomed.is_set()  # a login under way counts
            self._asked.append((self._attempt if fresh else self._attempt + 1, answer))
            self._held = False
            self._wake.set()
        if busy and not fresh:
            log.info("re-authenticating with Central at %s", self.address)
            session.conn.close("re-authenticating")
        return answer

    def run(self) -> None:
        self._wait_for_engine()
        delays = self._delays()
        while not self._stop.is_set():
            session = _Handshake(self)
            with self._lock:
                self._attempt += 1
                self._session = session
            try:
                conn = open_link(
                    lambda: connect(self.address), name="central",
                    on_message=session.on_message,
                    on_close=lambda reason, s=session: s.closed.set(),
                )
            except Unreachable as error:
                session.closed.set()
                self._unreachable(str(error))
                self._settle(False, f"cannot reach Central at {self.address} ({error})")
                self._pause(next(delays))
                continue
            session.conn = conn
            conn.send(m.Hello(cp_id=self.cp_id, location=self._location))
            self._await_welcome(session)
            if self._stop.is_set():
                conn.close("monitor stopping")
                break
            if session.welcomed.is_set():
                self._settle(True, f"logged in to Central at {self.address} "
                             f"(key {session.key.key_id})")
                wait_closed(session.closed, self._stop)
                if self._stop.is_set():
                    conn.close("monitor stopping")
                    break
                reason = conn.close_reason or "link closed"
                log.warning("lost Central at %s: %s", self.address, reason)
                self._on_down(reason)
                self._outage, self._refusal, delays = False, None, self._delays()
                if self._held:
                    self._wait_for_reauthentication()
                else:
                    self._pause(next(delays))
            elif session.refused is not None:
                self._refused(session.refused)
                self._settle(False, f"Central refused us: {session.refused}")
                self._pause(random.uniform(*self._refused_delay))
            else:
                why = f"closed before Welcome: {conn.close_reason}"
                self._unreachable(why)
                self._settle(False, f"Central at {self.address} {why}")
                self._pause(next(delays))
        self._settle(False, "monitor stopping", every=True)

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

    def _pause(self, seconds: float) -> None:
        """Wait before the next login, unless a re-authentication is asked for."""
        deadline = time.monotonic() + seconds
        while not self._stop.is_set() and time.monotonic() < deadline:
            if self._wake.wait(min(0.1, max(deadline - time.monotonic(), 0))):
                break
        self._wake.clear()

    def _wait_for_reauthentication(self) -> None:
        log.warning("%s", REVOKED)
        self._on_status(REVOKED)
        while not self._stop.is_set() and self._held:
            self._wake.wait(0.1)
        self._wake.clear()

    def _settle(self, ok: bool, text: str, every: bool = False) -> None:
        """Answer those waiting for this login (all of them when stopping)."""
        with self._lock:
            due = [answer for first, answer in self._asked if every or first <= self._attempt]
            self._asked = [(first, answer) for first, answer in self._asked
                           if answer not in due]
        for answer in due:
            answer.set_result(Outcome(ok, text))

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
