"""A server's own thread and asyncio loop, started from another thread: :meth:`start`
returns once the server listens, and raises in the caller's thread what kept it from
listening (a port in use), so a service fails at start-up with that reason."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable


class LoopThread:
    def __init__(self, name: str, target: Callable[[], None]) -> None:
        """``target`` runs on the thread with :attr:`loop` and calls :meth:`bound`."""
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=target, name=name, daemon=True)
        self._ready = threading.Event()
        self._error: BaseException | None = None

    def start(self) -> None:
        self._thread.start()
        self._ready.wait()
        if self._error is not None:
            self._thread.join()
            raise self._error

    def bound(self, error: BaseException | None = None) -> None:
        """On the thread: the server listens, or could not (``error``, then the target
        returns)."""
        self._error = error
        self._ready.set()

    def alive(self) -> bool:
        return self._thread.is_alive()

    def join(self, timeout: float) -> None:
        self._thread.join(timeout)
