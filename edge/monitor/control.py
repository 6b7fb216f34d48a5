"""The monitor's local control port: ``ev-cp-m reauth`` asks a running monitor to log in
to Central again (after Central revoked the CP's key, say) and waits for the outcome.

The same framed protocol as the engine's virtual panel, with its own two messages
(:class:`ControlRequest`, answered by one :class:`ControlReply`), on a loopback address
only (``--control HOST:PORT``; off unless given).  Nothing it says is ever a key.
"""

from __future__ import annotations

import ipaddress
import logging
import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated, Any

from protocol.codec import JsonCodec, Message
from protocol.rules import CP_ID_OR_EMPTY, Pattern
from protocol.transport import Connection, Listener, SocketStream, connect, parse_address

log = logging.getLogger(__name__)

REAUTH_TIMEOUT_S = 15.0  # a login: dial (2 s), ENQ, challenge, Welcome (5 s), with room


class ControlVerb(StrEnum):
    REAUTH = "reauth"  # a new login to Central
    STATUS = "status"  # just say how things stand


@dataclass(frozen=True, kw_only=True)
class ControlRequest(Message):
    """A local client asks; its ``cp_id`` may be empty (it need not know the CP)."""

    TYPE = "monitor_request"
    cp_id: Annotated[str, Pattern(CP_ID_OR_EMPTY)]
    action: ControlVerb


@dataclass(frozen=True, kw_only=True)
class ControlReply(Message):
    TYPE = "monitor_reply"
    ref: str
    ok: bool
    text: str = ""
    status: dict[str, Any]


CODEC = JsonCodec({cls.TYPE: cls for cls in (ControlRequest, ControlReply)})


def check_loopback(address: str) -> None:
    """ValueError unless ``HOST:PORT`` is on this machine only (127.0.0.0/8, ::1,
    localhost): the port can make the monitor log in, so it is never on the network."""
    host, _ = parse_address(address)
    if host == "localhost":
        return
    try:
        if ipaddress.ip_address(host).is_loopback:
            return
    except ValueError:
        pass
    raise ValueError(f"{address} is not a loopback address (127.0.0.1, ::1 or localhost)")


class ControlServer:
    """Answers each ControlRequest (on its own thread: a re-authentication takes a few
    seconds).  ``reauthenticate()`` returns a Future of an Outcome (``ok``, ``text``);
    ``status()`` what the monitor knows."""

    def __init__(self, address: str, cp_id: str, reauthenticate: Callable[[], Future],
                 status: Callable[[], dict]) -> None:
        check_loopback(address)
        self.address = address
        self._cp_id = cp_id
        self._reauthenticate = reauthenticate
        self._status = status
        self._listener = Listener(address, self._serve, "monitor-control")

    def start(self) -> ControlServer:
        self._listener.start()
        log.info("control port on %s (ev-cp-m reauth --control %s)", self.address, self.address)
        return self

    def close(self) -> None:
        self._listener.close()

    def _serve(self, stream: SocketStream) -> None:
        holder: list[Connection] = []
        conn = Connection(stream, initiator=False, name="control", codec=CODEC,
                          on_message=lambda message: self._on_message(holder[0], message))
        holder.append(conn)
        conn.start()

    def _on_message(self, conn: Connection, message: Message) -> None:
        if not isinstance(message, ControlRequest):
            log.warning("control port: ignored a %s from %s", message.TYPE, conn.peer)
            return
        threading.Thread(target=self._answer, args=(conn, message), name="control-request",
                         daemon=True).start()

    def _answer(self, conn: Connection, request: ControlRequest) -> None:
        ok, text = True, ""
        if request.action == ControlVerb.REAUTH:
            log.info("control port: re-authentication asked by %s", conn.peer)
            try:
                outcome = self._reauthenticate().result(REAUTH_TIMEOUT_S)
                ok, text = outcome.ok, outcome.text
            except FutureTimeout:
                ok, text = False, f"no outcome within {REAUTH_TIMEOUT_S:g} s"
        conn.send(ControlReply(cp_id=self._cp_id, ref=request.id, ok=ok, text=text,
                               status=self._status()))


class ControlUnreachable(Exception):
    pass


def ask(address: str, action: ControlVerb, timeout: float = REAUTH_TIMEOUT_S + 5) -> ControlReply:
    """Send one request to a running monitor; its reply, or ControlUnreachable."""
    replies: queue.Queue = queue.Queue()
    try:
        stream = connect(address, timeout=3.0)
    except OSError as error:
        raise ControlUnreachable(error.strerror or str(error)) from None
    conn = Connection(stream, initiator=True, on_message=replies.put, name="control-client",
                      codec=CODEC)
    conn.start()
    try:
        if not conn.wait_open(3.0):
            raise ControlUnreachable("the link did not open")
        request = ControlRequest(cp_id="", action=action)
        conn.send(request)
        while True:
            reply = replies.get(timeout=timeout)
            if isinstance(reply, ControlReply) and reply.ref == request.id:
                return reply
    except queue.Empty:
        raise ControlUnreachable(f"no answer within {timeout:g} s") from None
    finally:
        conn.close("done")
