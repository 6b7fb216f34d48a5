"""A tiny sd_notify client: READY, STOPPING, STATUS and the watchdog, no dependency.

Under a ``Type=notify`` unit systemd sets ``$NOTIFY_SOCKET`` (a path, or an abstract
name written with a leading ``@``) and, with ``WatchdogSec=``, ``$WATCHDOG_USEC``.
Without them every call here is a no-op returning False, so the services run the same
from a shell, under ``ev-sim`` and in the tests.

The rule: ``WATCHDOG=1`` is sent only from each service's own main loop (the loop that
does the real work), so a hung main loop stops the kicks and systemd restarts it.
"""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Callable


def _address(name: str) -> str | bytes | None:
    if not name:
        return None
    if name.startswith("@"):  # abstract namespace
        return b"\0" + name[1:].encode()
    if name.startswith("/"):
        return name
    return None  # systemd also allows vsock addresses; not used here


def notify(state: str) -> bool:
    """Send ``state`` (e.g. ``"READY=1"``) to ``$NOTIFY_SOCKET``; False when there is none
    or the datagram could not be sent (a failed notification never stops a service)."""
    address = _address(os.environ.get("NOTIFY_SOCKET", ""))
    if address is None:
        return False
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
            sock.sendto(state.encode(), address)
    except OSError:
        return False
    return True


def ready(text: str | None = None) -> bool:
    return notify("READY=1" + (f"\nSTATUS={text}" if text else ""))


def stopping(text: str | None = None) -> bool:
    return notify("STOPPING=1" + (f"\nSTATUS={text}" if text else ""))


def status(text: str) -> bool:
    return notify(f"STATUS={text}")


def watchdog_interval() -> float | None:
    """Seconds between kicks: half of ``$WATCHDOG_USEC``; None when it is unset, not a
    positive number, or ``$WATCHDOG_PID`` names another process."""
    pid = os.environ.get("WATCHDOG_PID")
    if pid:
        try:
            if int(pid) != os.getpid():
                return None
        except ValueError:
            return None
    try:
        usec = int(os.environ.get("WATCHDOG_USEC", ""))
    except ValueError:
        return None
    if usec <= 0:
        return None
    return usec / 2_000_000


class Watchdog:
    """``kick()`` from a main loop on every turn; it sends ``WATCHDOG=1`` at most once an
    interval.  Inert (kick returns False) when systemd asked for no watchdog."""

    def __init__(self, interval: float | None = None, *,
                 send: Callable[[str], bool] = notify,
                 clock: Callable[[], float] = time.monotonic,
                 from_environment: bool = True) -> None:
        if interval is None and from_environment:
            interval = watchdog_interval()
        self.interval = interval
        self._send = send
        self._clock = clock
        self._next = float("-inf")

    @property
    def enabled(self) -> bool:
        return self.interval is not None

    def kick(self) -> bool:
        """True when a ``WATCHDOG=1`` went out on this call."""
        if self.interval is None:
            return False
        now = self._clock()
        if now < self._next:
            return False
        self._next = now + self.interval
        return self._send("WATCHDOG=1")
