"""The monitor as an OCPP 1.6J charge point (``ev-cp-m --ocpp URL``): the shell.

The engine link is the framed monitor's (:class:`~edge.monitor.dialers.EngineDialer`);
the central system's is :class:`~edge.monitor.ocpp_link.OcppLink`; the durable state is
:class:`~edge.monitor.ocpp_store.OcppStore`.  Every event goes to the pure
:class:`~edge.monitor.ocpp_core.OcppCore` under one lock, and its actions are carried
out under the same lock, in order: a transaction message is stored before the engine's
record is acknowledged.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from decimal import Decimal
from importlib import metadata
from typing import Any

from edge.engine.clock import Now, real_now
from protocol import messages as m
from runtime import systemd
from runtime.routing import Routes

from .core import Dropped, EngineHealth, ToEngine
from .display import MonitorStatus
from .ocpp_config import Configuration
from .ocpp_core import (
    Call,
    Delivered,
    Enqueue,
    Note,
    OcppCore,
    Reconnect,
    SaveConfig,
    ScheduleInoperative,
)
from .ocpp_ledger import Transaction
from .ocpp_link import OcppLink
from .ocpp_store import KEEP_ENDED, OcppStore
from .shell import EngineShell

log = logging.getLogger(__name__)

EXECUTE = Routes("OCPP core action")


def _firmware() -> str:
    try:
        return f"evcharging {metadata.version('evcharging')}"
    except metadata.PackageNotFoundError:
        return "evcharging"


class OcppMonitor(EngineShell):
    EXECUTE = EXECUTE

    def __init__(self, *, cp_id: str, engine: str, serial: bool, url: str, password: str | None,
                 context, store: OcppStore, price: Decimal, display: MonitorStatus,
                 on_fatal: Callable[[str], None], clock: Callable[[], Now] = real_now,
                 check_timeout: float = 0.9, call_timeout: float = 30.0,
                 watchdog: systemd.Watchdog | None = None) -> None:
        super().__init__(cp_id=cp_id, engine=engine, serial=serial, display=display,
                         clock=clock, watchdog=watchdog)
        self._store = store
        forgotten = store.forget_old_supplies()
        if forgotten:
            log.info("forgot %d supplies reported long ago (the newest %d ended ones are "
                     "kept)", forgotten, KEEP_ENDED)
        self._core = OcppCore(cp_id, price=price, config=Configuration(store.config()),
                              ledger=store.ledger(), firmware=_firmware(),
                              check_timeout=check_timeout,
                              inoperative_scheduled=store.inoperative_scheduled())
        self._deferred: dict[str, list] = {}  # calls a request leads to, sent after our answer
        self.link = OcppLink(url, cp_id, password, context, self,
                             on_status=lambda text: display.update(central=text),
                             on_fatal=on_fatal, call_timeout=call_timeout)
        self._threads = [
            threading.Thread(target=self._engine_dialer.run, name="engine-dialer", daemon=True),
            threading.Thread(target=self._loop, name="monitor-loop", daemon=True),
        ]

    def start(self) -> OcppMonitor:
        log.info("monitor for %s: engine %s, OCPP 1.6J central system %s (%d queued "
                 "transaction message(s))", self._core.cp_id, self._engine_dialer.target,
                 self.link.url, self._store.depth())
        for thread in self._threads:
            thread.start()
        self.link.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self.link.stop()
        with self._lock:
            engine = self._engine
        if engine is not None:
            engine.close("monitor stopping")
        for thread in self._threads:
            thread.join(3.0)
        self._store.close()
        self._display.close()

    def status(self) -> dict:
        with self._lock:
            core = self._core
            return {"cp_id": core.cp_id, "engine": str(core.health.health),
                    "central": core.accepted, "central_address": self.link.url,
                    "queued": self._store.depth(), "status": self._display.central}

    # -- the central system's link (its event loop's thread) -----------------------
    def csms_connected(self) -> None:
        with self._lock:
            self._run(self._core.csms_connected(self._clock()))

    def csms_lost(self) -> None:
        with self._lock:
            self._run(self._core.csms_lost(self._clock()))

    def answered(self, sent: Call, result: Any) -> None:
        with self._lock:
            self._run(self._core.answered(self._clock(), sent, result))

    def decide(self, unique_id: str, ask) -> str:
        """Answer a request of the central system; the calls (and the reconnection) it
        leads to wait for :meth:`release`, the link's ``@after`` hook, so that our
        answer goes out first."""
        with self._lock:
            verdict, actions = ask(self._core, self._clock())
            later = [a for a in actions if isinstance(a, Call | Reconnect)]
            self._deferred[unique_id] = later
            self._run([a for a in actions if a not in later])
        return verdict

    def release(self, unique_id: str) -> None:
        with self._lock:
            self._run(self._deferred.pop(unique_id, []))

    def configuration(self, keys: list[str] | None) -> tuple[list[dict], list[str]]:
        with self._lock:
            return self._core.config.get(keys)

    def retry_interval(self) -> float:
        with self._lock:
            return float(self._core.config.seconds("TransactionMessageRetryInterval"))

    def queued(self) -> bool:
        """Transaction messages wait to be sent (to a central system that accepted us)."""
        with self._lock:
            return self._core.accepted and self._store.head() is not None

    def next_transaction(self) -> tuple[Transaction, Any] | None:
        """The queue's head and the request to send for it, once BootNotification was
        accepted; a head that can never be sent is given up (and logged)."""
        with self._lock:
            while self._core.accepted:
                head = self._store.head()
                if head is None:
                    return None
                request = self._core.ledger.outgoing(head)
                if request is not None:
                    return head, request
                log.error("%s of supply %s dropped: its StartTransaction was never accepted",
                          head.action, head.session_id)
                self._store.delivered(head.seq, head.session_id, None)
            return None

    def delivered(self, transaction: Transaction, result: Any) -> None:
        with self._lock:
            self._run(self._core.delivered(self._clock(), transaction, result))

    def undelivered(self, transaction: Transaction, error: str) -> None:
        with self._lock:
            self._store.attempted(transaction.seq)
            self._run(self._core.undelivered(self._clock(), transaction, error))

    @staticmethod
    def _monotonic(now: Now) -> float:
        return now.mono

    @EXECUTE.on(ToEngine)
    def _to_engine(self, action: ToEngine) -> None:
        conn = self._engine
        if conn is None or not conn.send(action.message):
            log.debug("could not send %s to the engine: link closed", action.message.TYPE)
        elif isinstance(action.message, m.Command | m.SupplyDenied):
            log.info("%s %s -> engine", action.message.TYPE, action.message.id)

    @EXECUTE.on(Call)
    def _call(self, action: Call) -> None:
        self.link.submit([action])

    @EXECUTE.on(Enqueue)
    def _enqueue(self, action: Enqueue) -> None:
        seq = self._store.enqueue(action.transaction, action.supply, action.register_wh)
        log.info("%s of supply %s queued (#%d)", action.transaction.action,
                 action.transaction.session_id, seq)
        self.link.wake()

    @EXECUTE.on(Delivered)
    def _delivered(self, action: Delivered) -> None:
        self._store.delivered(action.seq, action.session_id, action.transaction_id)
        if action.transaction_id is not None:
            log.info("supply %s is transaction %d", action.session_id, action.transaction_id)

    @EXECUTE.on(SaveConfig)
    def _save_config(self, action: SaveConfig) -> None:
        self._store.save_config(action.key, action.value)
        log.info("configuration %s = %s", action.key, action.value)

    @EXECUTE.on(ScheduleInoperative)
    def _schedule_inoperative(self, action: ScheduleInoperative) -> None:
        self._store.schedule_inoperative(action.scheduled)
        log.info("Inoperative %s", "scheduled for the end of the supply under way"
                 if action.scheduled else "no longer scheduled")

    @EXECUTE.on(Reconnect)
    def _reconnect(self, action: Reconnect) -> None:
        log.info("reconnecting to the central system: %s", action.reason)
        self.link.reconnect()

    @EXECUTE.on(Note)
    def _note(self, action: Note) -> None:
        log.log(logging.getLevelName(action.level.upper()), "%s", action.text)


EXECUTE.on(EngineHealth)(EngineShell._engine_health)
EXECUTE.on(Dropped)(EngineShell._dropped)


__all__ = ["OcppMonitor"]
