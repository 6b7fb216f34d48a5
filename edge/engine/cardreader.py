"""The RFID card reader: a sans-IO RDM6300 frame decoder and a thin pyserial shell.

An RDM6300 (125 kHz EM4100 cards) sends, at 9600 baud 8N1, one 14-byte frame per read::

    STX(0x02)  10 ASCII hex digits (card data)  2 ASCII hex digits (checksum)  ETX(0x03)

The checksum is the XOR of the five bytes the ten data digits spell. While a card is
held the reader repeats its frame several times a second, so the decoder reports a card
once and then stays quiet about that same card until it has not been seen for
:data:`DEBOUNCE_S` seconds. Bytes outside a well-formed frame are skipped.

A card maps to a driver by a fixed rule, no table on the engine: ``CARD-`` followed by
the ten hex digits in upper case (see :func:`driver_for`). Central decides whether that
driver may charge (``ev-central driver add CARD-0A1B2C3D4E``).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

log = logging.getLogger(__name__)

STX, ETX = 0x02, 0x03
FRAME_LEN = 14
DEBOUNCE_S = 2.0
BAUD = 9600
_HEX = frozenset(b"0123456789abcdefABCDEF")


@dataclass(frozen=True)
class Card:
    """A valid read: ``card_id`` is the ten hex digits, upper case."""

    card_id: str


@dataclass(frozen=True)
class BadFrame:
    """A well-formed frame whose checksum does not match."""

    raw: str
    reason: str


def driver_for(card_id: str) -> str:
    return f"CARD-{card_id.upper()}"


def checksum(card_id: str) -> int:
    data = bytes.fromhex(card_id)
    value = 0
    for byte in data:
        value ^= byte
    return value


def encode(card_id: str, check: int | None = None) -> bytes:
    """One RDM6300 frame for ``card_id`` (tests and the docs); ``check`` to spoil it."""
    value = checksum(card_id) if check is None else check
    return bytes([STX]) + f"{card_id.upper()}{value:02X}".encode() + bytes([ETX])


class Decoder:
    """Bytes in (with the monotonic time they came), events out; no I/O, no clock."""

    def __init__(self, debounce_s: float = DEBOUNCE_S) -> None:
        self._buffer = bytearray()
        self._debounce_s = debounce_s
        self._last: tuple[str, float] | None = None  # (card, last seen)
        self.skipped = 0  # garbage bytes dropped

    def feed(self, data: bytes, now: float) -> list[Card | BadFrame]:
        self._buffer += data
        events: list[Card | BadFrame] = []
        buffer = self._buffer
        while buffer:
            start = buffer.find(STX)
            if start < 0:
                self.skipped += len(buffer)
                buffer.clear()
                break
            if start:
                self.skipped += start
                del buffer[:start]
            if len(buffer) < FRAME_LEN:
                if STX in buffer[1:] or not all(b in _HEX for b in buffer[1:]):
                    self.skipped += 1  # a broken frame cut short by a new one or garbage
                    del buffer[:1]
                    continue
                break
            body = bytes(buffer[1:13])
            if buffer[13] != ETX or not all(b in _HEX for b in body):
                self.skipped += 1
                del buffer[:1]
                continue
            del buffer[:FRAME_LEN]
            event = self._frame(body.decode().upper(), now)
            if event is not None:
                events.append(event)
        return events

    def _frame(self, text: str, now: float) -> Card | BadFrame | None:
        card_id, check = text[:10], int(text[10:], 16)
        if checksum(card_id) != check:
            return BadFrame(text, f"checksum {check:02X}, expected {checksum(card_id):02X}")
        last = self._last
        self._last = (card_id, now)
        if last is not None and last[0] == card_id and now - last[1] < self._debounce_s:
            return None
        return Card(card_id)


def _url_and_baud(url: str) -> tuple[str, int]:
    """``/dev/serial0``, ``/dev/ttyAMA0?baud=9600`` or a pyserial URL (``loop://``)."""
    base, _, query = url.partition("?")
    baud = BAUD
    for part in query.split("&"):
        key, _, value = part.partition("=")
        if key in ("baud", "baudrate") and value.isdigit():
            baud = int(value)
    return (url if "://" in base else base), baud


class CardReader:
    """A thread reading the reader's serial port; ``on_card(card_id)`` per debounced read.

    A port that cannot be opened (no reader, the UART not enabled) or that fails later is
    logged once and retried every two seconds: the charging point works without cards
    meanwhile, and a service manager sees no crash loop.
    """

    def __init__(
        self, url: str, on_card: Callable[[str], None],
        on_bad: Callable[[BadFrame], None] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.url = url
        self._on_card = on_card
        self._on_bad = on_bad or (lambda bad: None)
        self._clock = clock
        self._decoder = Decoder()
        self._stop = threading.Event()
        self._port = None
        self._thread = threading.Thread(target=self._run, name="card-reader", daemon=True)

    def _open(self):
        import serial

        target, baud = _url_and_baud(self.url)
        try:
            return serial.serial_for_url(target, baudrate=baud, timeout=0.2)
        except (serial.SerialException, ValueError) as error:
            raise OSError(f"card reader {self.url}: {error}") from None

    def start(self) -> CardReader:
        self._thread.start()
        return self

    def close(self) -> None:
        self._stop.set()
        self._close_port()  # ends a blocking read
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(1.0)

    def _run(self) -> None:
        self._reopen(first=True)
        while not self._stop.is_set():
            try:
                data = self._port.read(64)
            except Exception as error:  # noqa: BLE001 - serial errors of every kind
                if self._stop.is_set():
                    break
                log.warning("card reader %s: %s; reopening", self.url, error)
                self._reopen()
                continue
            if data:
                self._handle(data)
        self._close_port()

    def _handle(self, data: bytes) -> None:
        for event in self._decoder.feed(data, self._clock()):
            if isinstance(event, Card):
                log.info("card %s read (driver %s)", event.card_id, driver_for(event.card_id))
                self._on_card(event.card_id)
            else:
                log.warning("card reader: bad frame %s: %s", event.raw, event.reason)
                self._on_bad(event)

    def _close_port(self) -> None:
        port, self._port = self._port, None
        if port is not None:
            try:
                port.close()
            except Exception:  # noqa: BLE001 - closing is best effort
                pass

    def _reopen(self, first: bool = False) -> None:
        """Open the port, retrying every two seconds until it opens or we stop."""
        self._close_port()
        if not first and self._stop.wait(2.0):
            return
        logged = False
        while True:
            try:
                self._port = self._open()
                log.info("card reader on %s", self.url)
                return
            except OSError as error:
                if not logged:
                    log.warning("%s; retrying every 2 s (cards are not read meanwhile)",
                                error)
                    logged = True
            if self._stop.wait(2.0):
                return
