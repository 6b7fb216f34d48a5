"""SIGTERM and SIGINT ask a service to stop cleanly, never to die mid-write."""

from __future__ import annotations

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
