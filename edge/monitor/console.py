"""The monitor's keys on a terminal: ``a`` re-authenticate with Central (a new login and
key, e.g. after Central revoked it), ``r`` register with the registry, ``d`` deregister
(asks for a second ``d`` first), ``q`` quit.  What each does is logged above the status
line.  Off a terminal (systemd, pipes) there are no keys: ``ev-cp-m reauth`` reaches the
monitor through its control port instead."""

from __future__ import annotations

import logging
import os
import sys
import threading
import time
from collections.abc import Callable

from .registrar import Registrar
from .registration import RegistryError

log = logging.getLogger(__name__)

CONFIRM_S = 5.0
KEYS = "keys: a=re-authenticate r=register d=deregister q=quit"


class MonitorKeys:
    """What each key does; ``press(key, now)`` is called by the keyboard thread."""

    def __init__(self, monitor, registrar: Registrar | None, stop: threading.Event,
                 use_secret: Callable[[str], None]) -> None:
        self._monitor = monitor
        self._registrar = registrar
        self._stop = stop
        self._use_secret = use_secret
        self._deregister_until = 0.0

    def press(self, key: str, now: float) -> None:
        if key == "q":
            self._stop.set()
        elif key == "a":
            self.reauthenticate()
        elif key in ("r", "d") and self._registrar is None:
            log.warning("the registry keys need --registry, --ca and --enroll-token-file "
                        "(or --cert and --key)")
        elif key == "r":
            self._registry(self._register)
        elif key == "d":
            if now <= self._deregister_until:
                self._deregister_until = 0.0
                self._registry(self._deregister)
            else:
                self._deregister_until = now + CONFIRM_S
                log.warning("press d again within %g s to deregister this CP: it will no "
                            "longer be able to log in to Central", CONFIRM_S)

    def reauthenticate(self) -> None:
        log.info("re-authenticating with Central...")
        answer = self._monitor.reauthenticate()
        answer.add_done_callback(lambda done: log.log(
            logging.INFO if done.result().ok else logging.WARNING,
            "re-authentication: %s", done.result().text))

    def _registry(self, action: Callable[[Registrar], None]) -> None:
        try:
            action(self._registrar)
        except RegistryError as error:
            log.warning("%s", error)

    def _register(self, registrar: Registrar) -> None:
        result = registrar.register()
        log.info("%s", result.text)
        if result.secret is not None:  # a new registration: log in with the new secret
            self._use_secret(result.secret)
            self.reauthenticate()

    def _deregister(self, registrar: Registrar) -> None:
        log.warning("%s", registrar.deregister().text)


def start_keyboard(keys: MonitorKeys, stop: threading.Event) -> None:
    """Read single keys from a terminal on stdin (nothing when stdin is not one)."""
    if not sys.stdin.isatty():
        return
    threading.Thread(target=_keyboard, args=(keys, stop), name="keyboard", daemon=True).start()
    log.info("%s", KEYS)


def _keyboard(keys: MonitorKeys, stop: threading.Event) -> None:
    import termios
    import tty

    fd = sys.stdin.fileno()
    saved = termios.tcgetattr(fd)
    try:
        tty.setcbreak(fd)
        while not stop.is_set():
            key = os.read(fd, 1).decode(errors="ignore").lower()
            if not key:
                return
            keys.press(key, time.monotonic())
    finally:
        termios.tcsetattr(fd, termios.TCSADRAIN, saved)
