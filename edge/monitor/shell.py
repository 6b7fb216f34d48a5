"""What both monitor shells share (:mod:`edge.monitor.service` for Central's framed
protocol, :mod:`edge.monitor.ocpp_service` for OCPP 1.6J): the engine's link and time.

The engine dialer's callbacks and a loop thread feed the shell's core under one lock,
and the actions the core returns are carried out under the same lock, in order, each by
the handler the shell's ``EXECUTE`` table names for it.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from protocol import messages as m
from protocol.states import Health
from protocol.transport import Connection
from runtime import systemd
from runtime.routing import Routes

from .core import Dropped, EngineHealth
from .dialers import EngineDialer
from .display import MonitorStatus

log = logging.getLogger(__name__)

TICK = 0.05


class EngineShell:
    EXECUTE: Routes  # the subclass's: core action -> handler
    _core: Any  # the subclass's core: engine_connected, engine_lost, from_engine, tick...

    def __init__(self, *, cp_id: str, engine: str, serial: bool, display: MonitorStatus,
                 clock: Callable[[], Any], watchdog: systemd.Watchdog | None) -> None:
        self._clock = clock
        self._display = display
        self._watchdog = watchdog or systemd.Watchdog()  # kicked by the loop thread only
        self._lock = threading.RLock()
        self._stop = threading.Event()
        self._engine: Connection | None = None
        self._engine_dialer = EngineDialer(
            engine, cp_id, serial=serial, stop=self._stop,
            on_up=self._engine_up, on_message=self._from_engine, on_down=self._engine_down)

    # -- the engine link (dialer and reader threads) --------------------------------
    def _engine_up(self, conn: Connection) -> None:
        with self._lock:
            self._engine = conn
            self._run(self._core.engine_connected(self._clock()))

    def _engine_down(self, reason: str) -> None:
        with self._lock:
            self._engine = None
            self._run(self._core.engine_lost(self._clock(), f"link lost: {reason}"))

    def _from_engine(self, message: m.Message) -> None:
        with self._lock:
            self._run(self._core.from_engine(self._clock(), message))

    # -- time (the loop thread) -------------------------------------------------------
    def _loop(self) -> None:
        while not self._stop.is_set():
            with self._lock:
                now = self._clock()
                self._run(self._core.tick(now))
                deadline = self._core.deadline()
            self._watchdog.kick()
            left = None if deadline is None else deadline - self._monotonic(now)
            self._stop.wait(TICK if left is None else min(TICK, max(left, 0.0)))

    @staticmethod
    def _monotonic(now: Any) -> float:
        """The monotonic seconds in what the clock gave (the core's deadlines are those)."""
        return now

    def _run(self, actions: list) -> None:
        for action in actions:
            self.EXECUTE.handler(type(action))(self, action)


    # -- handlers both shells' tables take (``EXECUTE.on(Dropped)(EngineShell._dropped)``)
    def _engine_health(self, action: EngineHealth) -> None:
        level = logging.INFO if action.engine == Health.OK else logging.WARNING
        log.log(level, "engine %s: %s", action.engine, action.reason)
        self._display.update(engine=action.engine)

    def _dropped(self, action: Dropped) -> None:
        log.info("dropped %s %s: %s", action.message.TYPE, action.message.id, action.why)
