"""Thin blocking transports for the edge: TCP sockets and pyserial URLs.

A :class:`Connection` runs a sans-IO :class:`~protocol.link.Link` over a stream with
one reader thread.  Central, which holds thousands of links, uses its own asyncio
shell around the same ``Link``.
"""

from __future__ import annotations

import logging
import select
import socket
import threading
import time
from collections.abc import Callable

import serial

from protocol import messages
from protocol.codec import Codec
from protocol.link import Closed, Link, Opened, Received, Rejected

log = logging.getLogger(__name__)


def parse_address(text: str) -> tuple[str, int]:
    """``"HOST:PORT"`` -> ``(host, port)``; raises ValueError with a readable message."""
    host, sep, port = text.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"expected HOST:PORT, got {text!r}")
    return host.strip("[]"), int(port)


class SocketStream:
    def __init__(self, sock: socket.socket) -> None:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._sock = sock
        self.peer = "{}:{}".format(*sock.getpeername()[:2])

    def read(self, timeout: float) -> bytes | None:
        """Bytes read, b"" on timeout, None at end of stream."""
        try:
            ready, _, _ = select.select([self._sock], [], [], max(timeout, 0))
            if not ready:
                return b""
            data = self._sock.recv(65536)
        except (OSError, ValueError):  # closed by another thread while we waited
            return None
        return data or None

    def write(self, data: bytes) -> None:
        self._sock.sendall(data)

    def close(self) -> None:
        try:
            self._sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self._sock.close()


class SerialStream:
    def __init__(self, port: serial.SerialBase) -> None:
        self._port = port
        self.peer = port.portstr or "serial"

    @classmethod
    def open(cls, url: str) -> SerialStream:
        return cls(serial.serial_for_url(url, timeout=0.05, baudrate=_baud(url)))

    def read(self, timeout: float) -> bytes | None:
        try:
            self._port.timeout = max(timeout, 0.001)
            return self._port.read(max(1, self._port.in_waiting))
        except (OSError, ValueError, serial.SerialException, TypeError, AttributeError):
            # TypeError/AttributeError: pyserial's fd went away under a close() racing us
            return None

    def write(self, data: bytes) -> None:
        self._port.write(data)

    def close(self) -> None:
        self._port.close()


def _baud(url: str) -> int:
    _, _, query = url.partition("?")
    for part in query.split("&"):
        key, _, value = part.partition("=")
        if key in ("baud", "baudrate") and value.isdigit():
            return int(value)
    return 115200


def connect(address: str, timeout: float = 2.0) -> SocketStream:
    """Open a TCP stream to ``HOST:PORT``; raises OSError when it cannot."""
    sock = socket.create_connection(parse_address(address), timeout=timeout)
    sock.settimeout(None)
    return SocketStream(sock)


class Listener:
    """Accepts TCP clients on ``HOST:PORT`` in a thread and hands each one's stream to
    ``on_stream``; ``close()`` stops accepting. Binding errors raise OSError at once."""

    def __init__(self, address: str, on_stream: Callable[[SocketStream], None],
                 name: str) -> None:
        self.address = address
        self._on_stream = on_stream
        self._sock = socket.create_server(parse_address(address))
        self._thread = threading.Thread(target=self._accept, name=name, daemon=True)

    def start(self) -> Listener:
        self._thread.start()
        return self

    def close(self) -> None:
        self._sock.close()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._sock.accept()
            except OSError:
                return
            try:
                stream = SocketStream(client)
            except OSError:
                client.close()
                continue
            self._on_stream(stream)


Stream = SocketStream | SerialStream


class Connection:
    """A link over a stream: frames, ACK/NAK, retransmits, with one reader thread.

    ``on_message(message)`` and ``on_close(reason)`` are called on the reader thread.
    Messages go through ``codec`` (by default the control plane's plain JSON); set
    :attr:`codec` to switch it, e.g. after login.
    """

    def __init__(
        self,
        stream: Stream,
        *,
        initiator: bool,
        on_message: Callable[[messages.Message], None],
        on_close: Callable[[str], None] = lambda reason: None,
        name: str = "link",
        ack_timeout: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
        codec: Codec = messages.CONTROL_CODEC,
    ) -> None:
        self._stream = stream
        self._link = Link(codec, ack_timeout=ack_timeout)
        self._initiator = initiator
        self._on_message = on_message
        self._on_close = on_close
        self._clock = clock
        self._lock = threading.Lock()
        self._opened = threading.Event()
        self._closed = threading.Event()
        self._finish_lock = threading.Lock()
        self.name = name
        self.close_reason = ""
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    @property
    def peer(self) -> str:
        return self._stream.peer

    def start(self) -> Connection:
        if self._initiator:
            with self._lock:
                self._link.open(self._clock())
                self._flush()
        self._thread.start()
        return self

    def wait_open(self, timeout: float) -> bool:
        """True once the link has opened (it may have closed again since: the peer can
        answer ENQ, send a refusal and EOT in one breath); False if it never did."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and not self._closed.is_set():
            if self._opened.wait(0.02):
                return True
        return self._opened.is_set()

    @property
    def codec(self) -> Codec:
        return self._link.codec

    @codec.setter
    def codec(self, codec: Codec) -> None:
        with self._lock:
            self._link.codec = codec

    @property
    def is_open(self) -> bool:
        return self._opened.is_set() and not self._closed.is_set()

    def send(self, message: messages.Message) -> bool:
        if self._closed.is_set():
            return False
        with self._lock:
            self._link.send(message, self._clock())
            self._flush()
        return True

    def close(self, reason: str = "closed by us") -> None:
        with self._lock:
            self._link.close(reason)
            self._flush()
        self.close_reason = self.close_reason or reason
        self._finish()

    def join(self, timeout: float | None = None) -> None:
        self._thread.join(timeout)

    def _flush(self) -> None:
        out = self._link.data_to_send()
        if out:
            try:
                self._stream.write(out)
            except OSError as error:
                self._link.close(f"write failed: {error}")

    def _run(self) -> None:
        while not self._closed.is_set():
            deadline = self._link.deadline()
            wait = 0.1 if deadline is None else min(0.1, deadline - self._clock())
            data = self._stream.read(wait)
            with self._lock:
                now = self._clock()
                if data is None:
                    self._link.close("connection lost")
                elif data:
                    self._link.receive_data(data, now)
                self._link.tick(now)
                self._flush()
                events = []
                while (event := self._link.next_event()) is not None:
                    events.append(event)
            for event in events:
                self._dispatch(event)

    def _dispatch(self, event: object) -> None:
        if isinstance(event, Opened):
            self._opened.set()
        elif isinstance(event, Received):
            try:
                self._on_message(event.message)
            except Exception:
                log.exception("%s: handler failed on %s", self.name, event.message.TYPE)
        elif isinstance(event, Rejected):
            log.warning("%s: NAK to %s: %s", self.name, self.peer, event.reason)
        elif isinstance(event, Closed):
            self.close_reason = event.reason
            self._finish()

    def _finish(self) -> None:
        with self._finish_lock:
            if self._closed.is_set():
                return
            self._closed.set()
        try:
            self._stream.close()
        except OSError:
            pass
        self._on_close(self.close_reason or "closed by us")
