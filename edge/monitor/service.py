"""The monitor shell: two dialers, one loop thread, the core in the middle.

Every event (a link up or down, a message, time passing) is fed to
:class:`~edge.monitor.core.MonitorCore` under one lock, and the actions it returns
are carried out under the same lock (:class:`~edge.monitor.shell.EngineShell`), so
EngineStatus and CentralStatus go out in the order the changes happened.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future

from protocol import messages as m
from protocol.seal import Key
from protocol.transport import Connection
from runtime import systemd
from runtime.routing import Routes

from .central_link import CentralDialer
from .core import (
    TO_CENTRAL,
    TO_ENGINE,
    Dropped,
    EngineHealth,
    KeyGone,
    MonitorCore,
    ToCentral,
    ToEngine,
)
from .display import MonitorStatus
from .shell import EngineShell

log = logging.getLogger(__name__)

RELAYED = TO_CENTRAL + TO_ENGINE
EXECUTE = Routes("monitor core action")  # how the shell carries out each of the core's actions


class Monitor(EngineShell):
    EXECUTE = EXECUTE

    def __init__(
        self,
        *,
        cp_id: str,
        engine: str,
        serial: bool,
        central: str,
        secret: str,
        location: str | None,
        display: MonitorStatus,
        check_timeout: float = 0.9,
        clock: Callable[[], float] = time.monotonic,
        watchdog: systemd.Watchdog | None = None,
    ) -> None:
        super().__init__(cp_id=cp_id, engine=engine, serial=serial, display=display,
                         clock=clock, watchdog=watchdog)
        self._core = MonitorCore(cp_id, central, check_timeout=check_timeout)
        self._central: Connection | None = None
        self._engine_known = threading.Event()  # the first login waits for it
        self._central_dialer = CentralDialer(
            central, cp_id, secret, location, stop=self._stop,
            on_up=self._central_up, on_message=self._from_central,
            on_down=self._central_down, on_status=lambda text: display.update(central=text),
            engine_known=self._engine_known,
        )
        self._threads = [
            threading.Thread(target=self._engine_dialer.run, name="engine-dialer", daemon=True),
            threading.Thread(target=self._central_dialer.run, name="central-dialer", daemon=True),
            threading.Thread(target=self._loop, name="monitor-loop", daemon=True),
        ]

    def start(self) -> Monitor:
        log.info(
            "monitor for %s: engine %s, Central %s",
            self._core.cp_id, self._engine_dialer.target, self._central_dialer.address,
        )
        for thread in self._threads:
            thread.start()
        return self

    def stop(self) -> None:
        """Close both links (EOT) and wait for the threads."""
        self._stop.set()
        with self._lock:
            links = [c for c in (self._central, self._engine) if c is not None]
        for conn in links:
            conn.close("monitor stopping")
        for thread in self._threads:
            thread.join(3.0)
        self._display.close()

    # -- Central link ---------------------------------------------------------
    def use_secret(self, secret: str) -> None:
        """The CP's new secret (a fresh registration): the next login proves it."""
        self._central_dialer.secret = secret

    def reauthenticate(self) -> Future:
        """A new login to Central (terminal key ``a``, ``ev-cp-m reauth``); the Future's
        :class:`~edge.monitor.central_link.Outcome` says how it went."""
        return self._central_dialer.reauthenticate()

    def status(self) -> dict:
        """What the monitor knows, for its control port (never a key)."""
        with self._lock:
            core = self._core
            return {"cp_id": core.cp_id, "engine": str(core.health.health),
                    "central": core.central_up, "central_address": core.central_address,
                    "key_id": core.key.key_id if core.key else None,
                    "key_revoked": core.revoked is not None,
                    "status": self._display.central}

    def _central_up(self, conn: Connection, welcome: m.Welcome, key: Key) -> None:
        log.info(
            "connected to Central at %s (%s, %s EUR/kWh), key %s",
            self._central_dialer.address,
            "enabled" if welcome.enabled else "stopped by Central",
            welcome.price_eur_kwh, key.key_id,
        )
        with self._lock:
            self._central = conn
            self._run(self._core.central_connected(self._clock(), key))
        self._display.update(central=f"connected to Central, key {key.key_id}")

    def _central_down(self, reason: str) -> None:
        with self._lock:
            self._central = None
            self._run(self._core.central_lost(self._clock()))
        self._display.update(central=f"lost Central: {reason}")

    def _from_central(self, message: m.Message) -> None:
        with self._lock:
            self._run(self._core.from_central(self._clock(), message))

    @EXECUTE.on(ToEngine)
    def _to_engine(self, action: ToEngine) -> None:
        sent = self._send(self._engine, action.message, "engine")
        if not sent and isinstance(action.message, m.Command):
            self._send(self._central, self._core.unreachable(action.message), "Central")

    @EXECUTE.on(ToCentral)
    def _to_central(self, action: ToCentral) -> None:
        self._send(self._central, action.message, "Central")

    @EXECUTE.on(EngineHealth)
    def _engine_health(self, action: EngineHealth) -> None:
        super()._engine_health(action)
        self._engine_known.set()

    @EXECUTE.on(KeyGone)
    def _key_gone(self, action: KeyGone) -> None:
        """Central revoked the key: hang up and wait to be asked to log in again."""
        why = f" ({action.reason})" if action.reason else ""
        log.warning("Central revoked the CP's key%s: the engine is told, the link closed", why)
        self._central_dialer.hold()
        if self._central is not None:
            self._central.close("key revoked by Central")

    @staticmethod
    def _send(conn: Connection | None, message: m.Message, peer: str) -> bool:
        if conn is None or not conn.send(message):
            log.debug("could not send %s to %s: link closed", message.TYPE, peer)
            return False
        if isinstance(message, RELAYED):
            log.info("%s %s -> %s", message.TYPE, message.id, peer)
        return True


EXECUTE.on(Dropped)(EngineShell._dropped)
