"""One CP's connection to Central's CP server: a sans-IO link on the server's asyncio loop.

Each connection wraps a :class:`protocol.link.Link`: bytes and ``loop.time()`` go in,
``data_to_send()`` goes out, ``tick`` runs at ``deadline()`` through ``loop.call_at``.
A connection must say Hello (a CP that is not registered is refused), answer the
Challenge with the HMAC proof of its secret (from the fleet's
:class:`~cloud.central.ports.Registry`), and only then may it speak: the ``Welcome``
carries a fresh key for the CP, wrapped under its secret, and from the next frame on
both directions are sealed with it (:class:`~cloud.central.link_sealing.CpSealing`); a
frame that does not open is NAKed and reported as a key mismatch.  Revoking the key
sends ``KeyRevoked`` sealed with it, refuses every frame after, and closes the link.
Routing tables, each tested to cover every type: :data:`LINK_EVENTS`,
:data:`BEFORE_LOGIN`, and ``cp_routes.FROM_CP`` (to the :class:`Fleet` hooks); commands
go back through a :class:`~cloud.central.framed.FramedPort`.  The server runs in its
own thread and loop beside the HTTP server; garbage from one peer is NAKed, counted
and logged and never touches another.

A received frame is acknowledged at once, and what it carries is handled on the loop's
next turn, after every other CP's frames that arrived with it: a burst of slow records
(thousands of supply starts at once) delays the handling, never the link's ACKs, so no
CP resends a frame Central already has, nor drops its link for want of an answer.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from typing import Any

from cloud.central.cp_routes import FROM_CP
from cloud.central.framed import FramedPort
from cloud.central.link_sealing import CpSealing, wrap_for
from protocol import auth
from protocol import messages as m
from protocol.link import CLOSED, Closed, Link, Opened, Received, Rejected
from runtime.routing import Routes

log = logging.getLogger(__name__)

HANDSHAKE_TIMEOUT = 10.0  # seconds to authenticate before we hang up
CLOSE_GRACE = 2.0  # seconds a refusal may wait for its ACK before we hang up

LINK_EVENTS = Routes("link event")
BEFORE_LOGIN = Routes("message before authentication")


class CpConnection(asyncio.Protocol):
    def __init__(self, server) -> None:  # a cloud.central.cp_server.CpServer
        self.server = server
        self.loop = server.loop
        self.link = Link(m.CONTROL_CODEC)
        self.cp_id: str | None = None
        self.authenticated = False
        self.peer = "?"
        self._nonce: str | None = None
        self._transport: asyncio.Transport | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._timer_at: float | None = None
        self._closing: str | None = None
        self._location: str | None = None
        self._handshake: asyncio.TimerHandle | None = None
        self._handling_due = False

    # -- asyncio callbacks -----------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = transport  # type: ignore[assignment]
        peer = transport.get_extra_info("peername")
        self.peer = f"{peer[0]}:{peer[1]}" if peer else "?"
        self.server.connections.add(self)
        self._handshake = self.loop.call_later(
            HANDSHAKE_TIMEOUT, self.close, "no authentication within 10 s")

    def data_received(self, data: bytes) -> None:
        self.link.receive_data(data, self.loop.time())
        self._write()  # the ACKs (or NAKs) now; what the frames carry on the next turn
        if not self._handling_due:
            self._handling_due = True
            self.loop.call_soon(self._handle_received)

    def _handle_received(self) -> None:
        self._handling_due = False
        self._after()

    def eof_received(self) -> bool:
        self.link.close("connection lost")
        self._after()
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        if self.link.state != CLOSED:
            self.link.close("connection lost")
        self._after()
        self._cleanup()

    # -- what the server and the fleet call --------------------------------------------
    def send(self, message: m.Message) -> None:
        """Send on this link; safe from any thread."""
        if threading.get_ident() == self.server.thread_id:
            self._send_now(message)
        else:
            self.loop.call_soon_threadsafe(self._send_now, message)

    def close(self, reason: str) -> None:
        if self.link.state != CLOSED:
            self.link.close(reason)
        self._after()

    def finish(self, reason: str, revoked: bool = False) -> None:
        """Close once what was sent is acknowledged (or after a grace time); with
        ``revoked``, every frame received meanwhile is refused.  Safe from any thread."""
        if threading.get_ident() == self.server.thread_id:
            self._finish_now(reason, revoked)
        else:
            self.loop.call_soon_threadsafe(self._finish_now, reason, revoked)

    def _finish_now(self, reason: str, revoked: bool) -> None:
        if revoked and isinstance(self.link.codec, CpSealing):
            self.link.codec.revoked = True
        self._closing = self._closing or reason
        self.loop.call_later(CLOSE_GRACE, self.close, self._closing)
        self._after()

    def _send_now(self, message: m.Message) -> None:
        if self.link.state == CLOSED or self._closing:
            return
        self.link.send(message, self.loop.time())
        self._after()

    def _refuse(self, reason: str) -> None:
        """Send Refused, then hang up once it is acknowledged (or after a grace time)."""
        self.server.fleet.on_auth_refused(self.cp_id, self.peer, reason)
        self.link.send(m.Refused(cp_id=self.cp_id or "unknown", reason=reason),
                       self.loop.time())
        self._finish_now(f"refused: {reason}", False)

    # -- the link's events -----------------------------------------------------------
    def _after(self) -> None:
        """Handle link events, write what the link wants out, re-arm its timer."""
        while True:
            while (event := self.link.next_event()) is not None:
                try:
                    self._on_event(event)
                except Exception:
                    log.exception("%s: failed on %s", self.cp_id or self.peer,
                                  type(event).__name__)
            if not (self._closing and self.link.idle and self.link.state != CLOSED):
                break
            self.link.close(self._closing)
        self._write()
        if self.link.state == CLOSED:
            if self._transport is not None and not self._transport.is_closing():
                self._transport.close()
            self._cleanup()
            return
        self._arm(self.link.deadline())

    def _write(self) -> None:
        out = self.link.data_to_send()
        if out and self._transport is not None and not self._transport.is_closing():
            self._transport.write(out)

    def _arm(self, deadline: float | None) -> None:
        if deadline == self._timer_at:
            return
        if self._timer is not None:
            self._timer.cancel()
        self._timer_at = deadline
        self._timer = None if deadline is None else self.loop.call_at(deadline, self._tick)

    def _tick(self) -> None:
        self._timer = self._timer_at = None
        self.link.tick(self.loop.time())
        self._after()

    def _on_event(self, event: Any) -> None:
        LINK_EVENTS.handler(type(event))(self, event)

    @LINK_EVENTS.on(Opened)
    def _on_opened(self, event: Opened) -> None:
        """The peer opened the link (ENQ): it must say Hello next."""

    @LINK_EVENTS.on(Received)
    def _on_message(self, event: Received) -> None:
        msg = event.message
        if self._closing:
            return
        if self.authenticated:
            self._dispatch(msg)
            return
        handler = BEFORE_LOGIN.handler(type(msg))
        if handler is None or not handler(self, msg):
            self._refuse(f"{msg.TYPE} before authentication")

    @LINK_EVENTS.on(Rejected)
    def _on_rejected(self, event: Rejected) -> None:
        codec = self.link.codec
        if isinstance(codec, CpSealing) and codec.take_problem(event.reason):
            self.server.fleet.on_key_mismatch(self.cp_id, self.peer, event.reason, "control")
        else:
            self.server.fleet.on_frame_rejected(self.cp_id, event.reason, self.peer)
        log.warning("%s: NAK: %s", self.cp_id or self.peer, event.reason)

    @LINK_EVENTS.on(Closed)
    def _on_closed(self, event: Closed) -> None:
        if self.authenticated and self.server.active.get(self.cp_id) is self:
            del self.server.active[self.cp_id]
            self.server.fleet.on_disconnected(self.cp_id, event.reason)
        elif not self.authenticated:
            log.info("%s: link closed before authentication: %s", self.cp_id or self.peer,
                     event.reason)
        self.authenticated = False

    def _cleanup(self) -> None:
        self.server.connections.discard(self)
        for handle in (self._timer, self._handshake):
            if handle is not None:
                handle.cancel()
        self._timer = self._handshake = None
        self._timer_at = None

    # -- messages --------------------------------------------------------------------
    @BEFORE_LOGIN.on(m.Hello)
    def _on_hello(self, msg: m.Hello) -> bool:
        if self._nonce is not None:
            return False
        self.cp_id = msg.cp_id
        self._location = msg.location
        if not self.server.registry.knows(msg.cp_id):
            self._refuse(f"CP {msg.cp_id} is not registered")
            return True
        self._nonce = auth.new_nonce()
        self._send_now(m.Challenge(cp_id=msg.cp_id, nonce=self._nonce))
        return True

    @BEFORE_LOGIN.on(m.Authenticate)
    def _on_authenticate(self, msg: m.Authenticate) -> bool:
        if self._nonce is None:
            return False
        secret_key = self.server.registry.secret_key(self.cp_id)
        if secret_key is None or msg.cp_id != self.cp_id or not auth.verify(
                secret_key, self._nonce, self.cp_id, msg.hmac):
            self._refuse("wrong secret")
            return True
        login = self.server.fleet.login(self.cp_id, self.peer)
        if login is None:  # deregistered meanwhile
            self._refuse(f"CP {self.cp_id} is not registered")
            return True
        self.authenticated = True
        if self._handshake is not None:
            self._handshake.cancel()
            self._handshake = None
        old = self.server.active.get(self.cp_id)
        self.server.active[self.cp_id] = self
        if old is not None:
            old.close("replaced by a new connection")
        self._send_now(m.Welcome(
            cp_id=self.cp_id, enabled=login.in_service, price_eur_kwh=login.price_eur_kwh,
            key_id=login.key.key_id,
            wrapped_key=wrap_for(secret_key, self._nonce, self.cp_id, login.key)))
        self.link.codec = CpSealing(self.cp_id, login.key)  # the Welcome went out plain
        log.info("%s: authenticated from %s, key %s", self.cp_id, self.peer, login.key.key_id)
        port = FramedPort(self.cp_id, self.send, self.server.ledger, finish=self.finish)
        self.server.fleet.on_connected(self.cp_id, port, location=self._location)
        return True

    def _dispatch(self, msg: m.Message) -> None:
        if msg.cp_id != self.cp_id:
            log.warning("%s: ignored %s for another CP %s", self.cp_id, msg.TYPE, msg.cp_id)
            return
        handler = FROM_CP.handler(type(msg))
        if handler is None:
            log.warning("%s: ignored unexpected %s", self.cp_id, msg.TYPE)
        else:
            handler(self.server.fleet, self.server.ledger, msg, self.reply)

    def reply(self, message: m.Message) -> None:
        """Answer on this link, from the loop's thread."""
        self._send_now(message)
