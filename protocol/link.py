"""Sans-IO link control on top of the framing (:mod:`protocol.framing`).

``ENQ`` opens the link and is answered ``ACK``.  Frames travel one at a time (stop and
wait): each is answered ``ACK`` when it decodes and parses, ``NAK`` otherwise.  The
sender retransmits a frame that is NAKed or not answered within ``ack_timeout``, up
to ``max_retries`` times, then drops the link.  ``EOT`` closes it.  A receiver that
sees ``max_errors`` bad frames in a row drops the link too.

The link speaks messages through its :attr:`Link.codec` (``encode(message) -> bytes``,
``decode(bytes) -> message``; a frame that does not decode is NAKed).  The shell may
switch the codec after login, when the per-CP key exists: a message already queued
keeps the bytes it was encoded to, and the next frame received is decoded with the new
codec (stop and wait: the peer sends its next frame only after our ACK of this one,
and the shells read it only after handling this one).

The shell feeds received bytes and the current time in, writes
:meth:`Link.data_to_send` out, and calls :meth:`Link.tick` at :meth:`Link.deadline`.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Any

from protocol.codec import Codec
from protocol.errors import ProtocolError
from protocol.framing import (
    ACK,
    ENQ,
    EOT,
    NAK,
    Control,
    Frame,
    FrameDecoder,
    encode_frame,
)


@dataclass(frozen=True)
class Opened:
    pass


@dataclass(frozen=True)
class Received:
    message: Any


@dataclass(frozen=True)
class Rejected:
    """We answered NAK to something the peer sent."""

    reason: str


@dataclass(frozen=True)
class Closed:
    reason: str


LinkEvent = Opened | Received | Rejected | Closed

NEW, OPENING, OPEN, CLOSED = "new", "opening", "open", "closed"


class Link:
    def __init__(
        self,
        codec: Codec,
        *,
        ack_timeout: float = 1.0,
        max_retries: int = 3,
        max_errors: int = 4,
    ) -> None:
        self.codec = codec
        self._ack_timeout = ack_timeout
        self._max_retries = max_retries
        self._max_errors = max_errors
        self._decoder = FrameDecoder()
        self._out = bytearray()
        self._events: deque[LinkEvent] = deque()
        self._queue: deque[bytes] = deque()
        self._outstanding: bytes | None = None
        self._retries = 0
        self._deadline: float | None = None
        self._errors = 0
        self.state = NEW

    # -- what the shell calls -------------------------------------------------
    def open(self, now: float) -> None:
        """The initiator's side: send ENQ and wait for ACK."""
        self.state = OPENING
        self._out.append(ENQ)
        self._retries = 0
        self._deadline = now + self._ack_timeout

    def send(self, message: Any, now: float) -> None:
        """Queue ``message``, encoded now with the current codec."""
        if self.state == CLOSED:
            return
        self._queue.append(encode_frame(self.codec.encode(message)))
        self._pump(now)

    def close(self, reason: str = "closed by us") -> None:
        if self.state != CLOSED:
            self._out.append(EOT)
            self._closed(reason)

    def receive_data(self, data: bytes, now: float) -> None:
        self._decoder.feed(data)
        while self.state != CLOSED and (event := self._decoder.next_event()) is not None:
            if isinstance(event, Control):
                self._on_control(event.byte, now)
            elif isinstance(event, Frame):
                self._on_frame(event.payload)
            else:
                self._reject(event.reason)

    def tick(self, now: float) -> None:
        if self._deadline is None or now < self._deadline or self.state == CLOSED:
            return
        self._retry(now, "no answer")

    def deadline(self) -> float | None:
        return self._deadline

    def data_to_send(self) -> bytes:
        out = bytes(self._out)
        self._out.clear()
        return out

    def next_event(self) -> LinkEvent | None:
        return self._events.popleft() if self._events else None

    @property
    def idle(self) -> bool:
        """Nothing queued and nothing waiting for an answer."""
        return self._outstanding is None and not self._queue

    # -- internals ------------------------------------------------------------
    def _on_control(self, byte: int, now: float) -> None:
        if byte == EOT:
            self._closed("peer closed the link")
        elif byte == ENQ:
            self._out.append(ACK)
            if self.state != OPEN:
                self.state = OPEN
                self._events.append(Opened())
                self._pump(now)
        elif byte == ACK:
            if self.state == OPENING:
                self.state = OPEN
                self._deadline = None
                self._events.append(Opened())
                self._pump(now)
            elif self._outstanding is not None:
                self._outstanding = None
                self._deadline = None
                self._pump(now)
        elif byte == NAK and (self._outstanding is not None or self.state == OPENING):
            self._retry(now, "NAK")

    def _on_frame(self, payload: bytes) -> None:
        if self.state != OPEN:
            self._reject("frame before ENQ")
            return
        try:
            message = self.codec.decode(payload)
        except ProtocolError as error:
            self._reject(str(error))
            return
        self._errors = 0
        self._out.append(ACK)
        self._events.append(Received(message))

    def _reject(self, reason: str) -> None:
        self._out.append(NAK)
        self._events.append(Rejected(reason))
        self._errors += 1
        if self._errors >= self._max_errors:
            self.close(f"{self._errors} bad frames in a row, last: {reason}")

    def _retry(self, now: float, why: str) -> None:
        self._retries += 1
        if self._retries > self._max_retries:
            what = "ENQ" if self.state == OPENING else "frame"
            self.close(f"{what} failed {self._retries} times ({why})")
            return
        self._out += bytes([ENQ]) if self.state == OPENING else self._outstanding
        self._deadline = now + self._ack_timeout

    def _pump(self, now: float) -> None:
        if self.state != OPEN or self._outstanding is not None or not self._queue:
            return
        self._outstanding = self._queue.popleft()
        self._retries = 0
        self._out += self._outstanding
        self._deadline = now + self._ack_timeout

    def _closed(self, reason: str) -> None:
        self.state = CLOSED
        self._deadline = None
        self._queue.clear()
        self._outstanding = None
        self._events.append(Closed(reason))
