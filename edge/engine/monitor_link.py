"""The monitor link's shells: a TCP server (one monitor at a time) or a serial port."""

from __future__ import annotations

import logging
import threading

from protocol import messages
from protocol.transport import Connection, Listener, SerialStream, SocketStream
from runtime.backoff import delays

log = logging.getLogger(__name__)


def _connection(engine, stream, name: str, closed: threading.Event | None = None) -> Connection:
    holder: dict[str, Connection] = {}

    def on_close(reason: str) -> None:
        engine.on_close(holder["conn"], reason)
        if closed is not None:
            closed.set()

    conn = Connection(
        stream, initiator=False, name=name,
        on_message=lambda message: engine.on_message(holder["conn"], message),
        on_close=on_close,
    )
    holder["conn"] = conn
    return conn


def monitor_listener(address: str, engine) -> Listener:
    """Accepts monitors on ``HOST:PORT``; a second one while one is live is refused."""

    def on_stream(stream: SocketStream) -> None:
        conn = _connection(engine, stream, "monitor")
        if engine.attach(conn):
            conn.start()
        else:
            threading.Thread(target=_refuse, args=(conn, engine.cp_id), daemon=True).start()

    listener = Listener(address, on_stream, "monitor-listen").start()
    log.info("waiting for the monitor on %s", address)
    return listener


def _refuse(conn: Connection, cp_id: str) -> None:
    log.warning("second monitor link from %s refused: one is already connected", conn.peer)
    conn.start()
    if conn.wait_open(2.0):
        conn.send(messages.Refused(cp_id=cp_id, reason="another monitor is connected"))
    conn.close("another monitor is connected")


class SerialLink:
    """Keeps a serial port open for the monitor, reopening it after each closed link."""

    def __init__(self, url: str, engine, stop: threading.Event) -> None:
        self._url = url
        self._engine = engine
        self._stop = stop
        self._thread = threading.Thread(target=self._run, name="monitor-serial", daemon=True)

    def start(self) -> SerialLink:
        self._thread.start()
        return self

    def close(self) -> None:
        self._stop.set()

    def _run(self) -> None:
        waits = delays(first=0.5, cap=5.0)
        while not self._stop.is_set():
            try:
                stream = SerialStream.open(self._url)
            except Exception as error:  # noqa: BLE001 - pyserial raises many kinds
                log.warning("cannot open %s: %s", self._url, error)
                self._stop.wait(next(waits))
                continue
            waits = delays(first=0.5, cap=5.0)
            log.info("waiting for the monitor on %s", self._url)
            closed = threading.Event()
            conn = _connection(self._engine, stream, "monitor", closed)
            self._engine.attach(conn)
            conn.start()
            while not self._stop.is_set() and not closed.wait(0.5):
                pass
            if not closed.is_set():
                conn.close("engine stopping")
            self._stop.wait(0.2)
