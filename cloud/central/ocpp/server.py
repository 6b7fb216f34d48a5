"""Central's OCPP 1.6J endpoint: a websockets server on a thread and loop of its own,
beside the CP socket server and the HTTP server, sharing their fleet and store.

``ws(s)://HOST:PORT/ocpp/<cp_id>``, subprotocol ``ocpp1.6`` (a client that offers none
or another is refused: 400).  Security profile 1: HTTP Basic auth, the CP id as user and
its secret (from the registry: ``ev-central cp add`` or ``ev-registry``) as password;
profile 2: the same over TLS (``ssl``).  The registry keeps only the key derived from the
secret: the password is derived the same way and compared in constant time.  An unknown
or unregistered charger, or a wrong password, gets 401 before the upgrade and is
audited (``auth failed``, with its address).

A second connection with the same id replaces the first (the first is closed), as the
framed server does and as ev-server (sap-labs-france/ev-server#3091) and SteVe
(steve-community/steve#4, whose sessions store the newest for sending) do: a charger
that lost its network often reconnects before the server notices its old connection is
dead, and refusing it would keep it out until the old one timed out.  The old
connection's end never disconnects the new one.  Liveness: the WebSocket's pings
(``ping_interval``, ``ping_timeout``) find dead peers; the fleet shows the charger
connected while its connection is open.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hmac
import logging
import socket
import ssl
import sys
from http import HTTPStatus
from typing import Any

from websockets.asyncio.server import serve
from websockets.datastructures import Headers
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Response

from cloud.central.ocpp.charge_point import Charger
from cloud.central.ocpp.records import TransactionRecords
from protocol import auth
from protocol.rules import CP_ID
from runtime.loop_thread import LoopThread

log = logging.getLogger(__name__)

PATH = "/ocpp/"
SUBPROTOCOL = "ocpp1.6"
RESPONSE_TIMEOUT = 10.0  # seconds a call to a charger may wait for its answer


class OneLine(logging.LoggerAdapter):
    """websockets' logger, each failure one line (a peer that sends no valid HTTP, a
    handshake cut short...): the exception's type and text, never its traceback.  A peer
    that connects and closes without a word (a port probe, a load balancer's health
    check) is not an error: that line is logged at DEBUG."""

    def log(self, level, msg, *args, **kwargs):
        error = _error(kwargs.get("exc_info"))
        if msg == "opening handshake failed" and isinstance(
                error and (error.__cause__ or error.__context__), EOFError):
            level = logging.DEBUG
        super().log(level, msg, *args, **kwargs)

    def process(self, msg, kwargs):
        error = _error(kwargs.pop("exc_info", None))
        if isinstance(error, BaseException):
            cause = error.__cause__ or error.__context__
            msg = f"{msg}: {type(error).__name__}: {error}" + (
                f" ({type(cause).__name__}: {cause})" if cause else "")
        return msg, kwargs


def _error(exc_info) -> BaseException | None:
    """The exception a logging call's ``exc_info`` names."""
    error = sys.exc_info()[1] if exc_info is True else (
        exc_info[1] if isinstance(exc_info, tuple) else exc_info)
    return error if isinstance(error, BaseException) else None


def credentials(header: str | None) -> tuple[str, str] | None:
    """``Authorization: Basic base64(user:password)`` -> (user, password), else None."""
    scheme, _, encoded = (header or "").partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        user, colon, password = base64.b64decode(encoded.strip(), validate=True).decode(
            "utf-8").partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return None
    return (user, password) if colon else None


def password_ok(secret_key_hex: str | None, password: str) -> bool:
    """The password is the CP's secret: derive the stored key from it and compare."""
    if not secret_key_hex:
        return False
    derived = auth.secret_key(password).hex().encode()
    return hmac.compare_digest(derived, secret_key_hex.encode())


class OcppServer:
    """``start()`` binds (raising OSError in the caller's thread), ``stop()`` ends."""

    def __init__(self, fleet, host: str = "127.0.0.1", port: int = 9000,
                 tls: ssl.SSLContext | None = None, ping_interval: float = 20.0,
                 ping_timeout: float = 20.0, response_timeout: float = RESPONSE_TIMEOUT,
                 sock: socket.socket | None = None) -> None:
        """``sock``: a socket bound and listening already (``host`` and ``port`` unused)."""
        self.fleet = fleet
        self.records = TransactionRecords(fleet.store)
        self.host, self.port, self.tls, self.sock = host, port, tls, sock
        self.ping_interval, self.ping_timeout = ping_interval, ping_timeout
        self.response_timeout = response_timeout
        self._runner = LoopThread("ocpp-server", self._run)
        self.loop = self._runner.loop
        self.active: dict[str, Charger] = {}
        self._server = None
        self._stopped: asyncio.Event | None = None

    @property
    def address(self) -> tuple[str, int]:
        return next(iter(self._server.sockets)).getsockname()[:2]

    @property
    def url(self) -> str:
        host, port = self.address
        return f"{'wss' if self.tls else 'ws'}://{host}:{port}{PATH}"

    def start(self) -> OcppServer:
        self._runner.start()
        return self

    def stop(self) -> None:
        if self._runner.alive() and self._stopped is not None:
            self.loop.call_soon_threadsafe(self._stopped.set)
            self._runner.join(5)

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        try:
            self.loop.run_until_complete(self._serve())
        finally:
            self.loop.close()

    async def _serve(self) -> None:
        self._stopped = asyncio.Event()
        try:
            where = {"sock": self.sock} if self.sock else {"host": self.host, "port": self.port}
            self._server = await serve(
                self._handle, **where, subprotocols=[SUBPROTOCOL],
                process_request=self._authenticate, ssl=self.tls,
                ping_interval=self.ping_interval, ping_timeout=self.ping_timeout,
                max_size=2**20,
                logger=OneLine(logging.getLogger("cloud.central.ocpp.websockets"), {}))
        except BaseException as error:  # noqa: BLE001 - handed to start()'s caller
            self._runner.bound(error)
            return
        log.info("OCPP endpoint on %s", self.url)
        self._runner.bound()
        await self._stopped.wait()
        self._server.close()
        await self._server.wait_closed()
        log.info("OCPP endpoint stopped")

    # -- the handshake ---------------------------------------------------------------
    def _authenticate(self, connection, request) -> Response | None:
        """Before the upgrade: the path names a registered CP and its password is right."""
        peer = _peer(connection)
        path = request.path.split("?", 1)[0]
        cp_id = path[len(PATH):] if path.startswith(PATH) else ""
        if not CP_ID.match(cp_id):
            return connection.respond(HTTPStatus.NOT_FOUND, "no such OCPP endpoint: use "
                                      f"{PATH}<cp_id>\n")
        given = credentials(request.headers.get("Authorization"))
        reason = None
        if given is None:
            reason = "no Basic credentials"
        elif given[0] != cp_id:
            reason = "the Basic user is not the CP id"
        elif not self.fleet.store.knows(cp_id):
            reason = f"CP {cp_id} is not registered"
        elif not password_ok(self.fleet.store.secret_key(cp_id), given[1]):
            reason = "wrong password"
        if reason is None:
            return None
        self.fleet.on_auth_refused(cp_id, peer, f"OCPP: {reason}")
        log.warning("%s: OCPP connection from %s refused: %s", cp_id, peer, reason)
        return Response(HTTPStatus.UNAUTHORIZED.value, "Unauthorized", Headers([
            ("WWW-Authenticate", 'Basic realm="ocpp", charset="UTF-8"'),
            ("Content-Type", "text/plain; charset=utf-8"), ("Content-Length", "13")]),
            b"Unauthorized\n")

    # -- a charger's connection ------------------------------------------------------
    async def _handle(self, connection) -> None:
        cp_id = connection.request.path.split("?", 1)[0][len(PATH):]
        peer = _peer(connection)
        if not self.fleet.ocpp_login(cp_id, peer):  # deregistered meanwhile
            await connection.close(1008, "not registered")
            return
        charger = Charger(cp_id, connection, self, peer)
        old = self.active.get(cp_id)
        self.active[cp_id] = charger
        if old is not None:
            log.info("%s: a new connection from %s replaces the one from %s", cp_id, peer,
                     old.peer)
            old.close("replaced by a new connection")
        log.info("%s: OCPP charger connected from %s", cp_id, peer)
        reason = "connection closed"
        try:
            self.fleet.on_ocpp_connected(cp_id, charger.port)
            await charger.start()
        except ConnectionClosed as closed:
            reason = f"connection closed ({closed.rcvd.code if closed.rcvd else 'no close frame'})"
        except Exception as error:  # noqa: BLE001 - one line, this charger alone
            reason = f"failed: {type(error).__name__}: {error}"
            log.error("%s: %s", cp_id, reason)
            self.fleet.on_failure(f"ocpp:{peer}", reason[:200], cp_id)
            await connection.close(1011, "internal error")
        finally:
            for task in list(charger.tasks):
                task.cancel()
            if self.active.get(cp_id) is charger:
                del self.active[cp_id]
                self.fleet.on_disconnected(cp_id, reason)

    # -- administrators' operations (from the HTTP threads) ----------------------------
    def call(self, cp_id: str, payload: Any) -> Any:
        """Send one call to a connected charger and wait for its answer (any thread but
        this loop's).  Raises KeyError when it is not connected, TimeoutError, or the
        charger's CallError (an OCPPError)."""
        charger = self.active.get(cp_id)
        if charger is None:
            raise KeyError(cp_id)
        future = asyncio.run_coroutine_threadsafe(charger.call(payload, suppress=False),
                                                  self.loop)
        return future.result(self.response_timeout + 1)


def _peer(connection) -> str:
    address = connection.remote_address
    return f"{address[0]}:{address[1]}" if address else "?"
