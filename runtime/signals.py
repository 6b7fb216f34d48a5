"""SIGTERM and SIGINT ask a service to stop cleanly, never to die mid-write."""

from __future__ import annotations

import logging
import signal
import threading


class StopRequest:
    """Installs handlers for SIGTERM and SIGINT; ``event`` is set when one arrives and
    ``name`` says which (None while none has)."""

    def __init__(self) -> None:
        self.event = threading.Event()
        self.name: str | None = None
        signal.signal(signal.SIGTERM, self._on_signal)
        signal.signal(signal.SIGINT, self._on_signal)

    def _on_signal(self, signum: int, frame: object) -> None:
        self.request(signal.Signals(signum).name)

    def request(self, name: str) -> None:
        """Ask to stop, from a signal handler.  The event is set from another thread: a
        handler runs in the main thread, which may be inside ``event.wait()`` holding
        the event's (non-reentrant) lock, and setting it there would deadlock."""
        self.name = self.name or name
        threading.Thread(target=self.event.set, name="stop-request", daemon=True).start()


def shut_down_on_signals(server, log: logging.Logger) -> None:
    """SIGTERM and SIGINT shut ``server`` (a socketserver serving forever in the main
    thread) down, with one log line; ``shutdown()`` waits for ``serve_forever`` to
    return, so it runs in another thread."""
    def handler(signum: int, frame: object) -> None:
        log.info("%s received, shutting down", signal.Signals(signum).name)
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)
