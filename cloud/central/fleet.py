"""Central's live fleet: the thin shell around the pure :class:`~cloud.central.core.Core`.

Shared by the CP server's loop (the ``on_*`` hooks) and the HTTP and Kafka threads
(views, stop / resume, charge) under one RLock.  Each operation reads the clocks, asks
the core, and has the :class:`~cloud.central.executor.Executor` carry out the effects
in order: commands through the CPs' ports, store writes, dashboard events, domain
events.  Reads never write: a CP registered by another process (``ev-central cp add``)
is noticed by :meth:`sweep` (five times a second) or at its login (:meth:`login`);
one deregistered by the registry (another process) by the sweep.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from typing import Any

from cloud.central import effects as fx
from cloud.central.audit_trail import standard_stream
from cloud.central.core import Core, Denial
from cloud.central.cpstate import StopReason
from cloud.central.cptable import Authorization, Moment
from cloud.central.events import Listener
from cloud.central.executor import Executor
from cloud.central.fleet_front import FrontDesk
from cloud.central.fleet_ocpp import OcppDesk
from cloud.central.fleet_registry import RegistryDesk
from cloud.central.fleet_security import Security
from cloud.central.fleet_weather import WeatherDesk
from cloud.central.hub import QUEUE_SIZE, Hub
from cloud.central.keys import Keys
from cloud.central.ports import CpPort
from cloud.central.registration import register_cp, register_driver
from cloud.central.store import Store
from protocol import messages as m
from protocol.data import Telemetry
from protocol.states import SessionStatus

log = logging.getLogger(__name__)

# and the CPU seconds Kafka's thread spent handling records (every batch's, rests aside)
KAFKA_COUNTERS = ("events_consumed", "telemetry_consumed", "driver_requests", "deadlettered",
                  "kafka_handling_cpu_seconds")
COUNTERS = ("heartbeats", "frames_rejected", "auth_refusals", "commands_sent",
            "supplies_started", "supplies_ended", "supplies_denied", "key_mismatches",
            "replays", "bridge_deadletters", *KAFKA_COUNTERS)


class Fleet(Security, WeatherDesk, RegistryDesk, FrontDesk, OcppDesk):
    def __init__(
        self, store: Store, clock: Callable[[], float] = time.monotonic,
        wallclock: Callable[[], str] = m.utc_now,
    ) -> None:
        self.store = store
        self.registry = store  # credentials: knows(cp_id), secret_key(cp_id)
        self.clock = clock
        self.wallclock = wallclock
        self._lock = threading.RLock()
        self._core = Core()
        self._hub = Hub(wallclock)
        self.events = standard_stream(store, self._hub.note, self._audited, queued=True)
        self._executor = Executor(store, self._hub, self.events, self._core.counters)
        self._ports = self._executor.ports
        self.keys = Keys(store.db.conn, store.lock, self._epoch)
        self._last_rowid = 0
        self._core.load_alerts(store.alerts())
        self._notice_registrations(self._now())
        for row in store.sessions_with_status(SessionStatus.AUTHORIZED):
            store.expire(row["id"], "Central restarted", wallclock())

    @property
    def lock(self) -> threading.RLock:
        """Held by every operation; hold it to make several of them one step."""
        return self._lock

    def _now(self, mono: float | None = None) -> Moment:
        return Moment(self.clock() if mono is None else mono, self.wallclock)

    def _run(self, effects: list[fx.Effect]) -> None:
        if effects:
            self._executor.run(effects)

    # -- counters ------------------------------------------------------------------
    def metrics(self) -> dict[str, float]:
        with self._lock:
            values = self._core.metrics(COUNTERS)
            if (kafka := self._hub.kafka()) is not None:
                values["kafka_up"] = int(bool(kafka["up"]))
            return values

    def count(self, name: str, by: int = 1) -> None:
        with self._lock:
            self._core.counters[name] += by

    # -- the data plane (Kafka) ----------------------------------------------------
    def kafka(self) -> dict[str, Any] | None:
        """None without Kafka, else ``{"up", "address", "text"}``."""
        with self._lock:
            return self._hub.kafka()

    def set_kafka(self, up: bool, address: str) -> None:
        """Kafka reachable or not: the dashboard's banner and /healthz follow it."""
        with self._lock:
            self._hub.set_kafka(up, address)

    # -- subscriptions and listeners ---------------------------------------------
    def subscribe(self, maxsize: int = QUEUE_SIZE) -> queue.Queue:
        with self._lock:
            return self._hub.subscribe(maxsize)

    def unsubscribe(self, subscription: queue.Queue) -> None:
        with self._lock:
            self._hub.unsubscribe(subscription)

    def listen(self, listener: Listener, *kinds: type) -> None:
        """Call ``listener(event)`` on every domain event of ``kinds`` (all when none),
        under the Fleet's lock."""
        with self._lock:
            self.events.listen(listener, *kinds)

    # -- administration ----------------------------------------------------------
    def add_cp(self, cp_id: str, location: str, price: str, actor: str = "admin") -> str:
        """Register a CP (a DomainError if bad or taken); returns its secret, once."""
        with self._lock:
            secret = register_cp(self.store, self.events, cp_id, location, price, actor)
            self._notice_registrations(self._now())
            return secret

    def add_driver(self, driver_id: str, actor: str = "admin") -> None:
        with self._lock:
            register_driver(self.store, self.events, driver_id, actor)

    def stop(self, cp_id: str, actor: str = "admin",
             reason: StopReason = StopReason.ADMIN) -> dict[str, Any]:
        """Take a CP out of service for ``reason`` (UnknownCp if there is none)."""
        with self._lock:
            self._run(self._core.stop(cp_id, reason, actor, self._now()))
            return self._core.view(cp_id)

    def resume(self, cp_id: str, actor: str = "admin",
               reason: StopReason = StopReason.ADMIN) -> dict[str, Any]:
        """Lift ``reason`` only: a CP stopped for another one stays out of service."""
        with self._lock:
            self._run(self._core.lift(cp_id, reason, actor, self._now()))
            return self._core.view(cp_id)

    def stop_all(self, actor: str = "admin") -> list[dict[str, Any]]:
        """Stop every CP an administrator has not stopped yet; returns every CP's view."""
        with self._lock:
            for cp_id, cp in sorted(self._core.cps.items()):
                if StopReason.ADMIN not in cp.stop_reasons:
                    self.stop(cp_id, actor)
            return self._core.views()

    def resume_all(self, actor: str = "admin") -> list[dict[str, Any]]:
        """Lift the administrator's stop wherever there is one; returns every CP's view."""
        with self._lock:
            for cp_id, cp in sorted(self._core.cps.items()):
                if StopReason.ADMIN in cp.stop_reasons:
                    self.resume(cp_id, actor)
            return self._core.views()

    # -- the driver plane ------------------------------------------------------------
    def charge(self, cp_id: str, driver_id: str | None, source: str) -> Authorization | Denial:
        """Decide a supply request; an authorization's command is sent to the CP."""
        with self._lock:
            known = driver_id is not None and self.store.driver(driver_id) is not None
            outcome, effects = self._core.charge(cp_id, driver_id, known, source, self._now())
            self._run(effects)
            return outcome

    def cancel(self, session_id: str, reason: str) -> bool:
        """End an authorization not yet plugged in; True if there was one."""
        with self._lock:
            cancelled, effects = self._core.cancel(session_id, reason, self._now())
            self._run(effects)
            return cancelled

    def end_supply(self, cp_id: str, session_id: str, driver_id: str | None,
                   reason: str) -> bool:
        """Ask the CP to end a supply; False when it is not connected."""
        with self._lock:
            effects = self._core.end_supply(cp_id, session_id, driver_id, reason)
            self._run(effects)
            return bool(effects)

    # -- hooks the CP server calls (and its security ones: fleet_security.py) ---------
    def on_connected(self, cp_id: str, port: CpPort, location: str | None = None,
                     heartbeats: bool = True) -> None:
        """``heartbeats`` False: alive while the link is open (an OCPP charger's)."""
        with self._lock:
            row = self.store.cp(cp_id)
            if row is None or cp_id not in self._core.cps:
                return
            self._ports[cp_id] = port
            self._run(self._core.connected(cp_id, location, row["price_eur_kwh"], self._now(),
                                           heartbeats))

    def on_disconnected(self, cp_id: str, reason: str) -> None:
        with self._lock:
            self._run(self._core.disconnected(cp_id, reason, self._now()))
            self._ports.pop(cp_id, None)

    def on_heartbeat(self, msg: m.Heartbeat) -> None:
        with self._lock:
            self._run(self._core.heartbeat(msg, self._now()))

    def on_engine_status(self, msg: m.EngineStatus) -> None:
        with self._lock:
            self._run(self._core.engine_status(msg.cp_id, msg.engine, msg.reason, self._now()))

    def on_command_result(self, cp_id: str, action: str, session_id: str | None, ok: bool,
                          reason: str = "") -> None:
        with self._lock:
            if ok:
                log.debug("%s: %s acknowledged", cp_id, action)
            self._run(self._core.command_result(cp_id, action, session_id, ok, reason,
                                                self._now()))

    def on_supply_request(self, msg: m.SupplyRequest) -> str | None:
        """A supply asked for at the CP: None once authorized, else the denial's reason."""
        outcome = self.charge(msg.cp_id, msg.driver_id, msg.source)
        return outcome.reason if isinstance(outcome, Denial) else None

    def on_supply_started(self, msg: m.SupplyStarted) -> bool:
        """Store a supply's start record; True unless it was a duplicate."""
        with self._lock:
            new = self.store.record_started(msg.session_id, msg.cp_id, msg.driver_id,
                                            msg.price_eur_kwh, msg.started_at)
            self._run(self._core.supply_started(msg, new, self._now()))
            return new

    def on_supply_ended(self, msg: m.SupplyEnded) -> bool:
        """Store a supply's final, billed record; True unless it was a duplicate."""
        with self._lock:
            new = self.store.record_ended(
                msg.session_id, msg.cp_id, msg.driver_id, msg.price_eur_kwh, msg.started_at,
                msg.ended_at, msg.kwh, msg.eur, msg.reason)
            self._run(self._core.supply_ended(msg, new, self._now()))
            return new

    def on_telemetry(self, msg: Telemetry) -> bool:
        """One second of a supply under way: live figures; False if it is stale."""
        with self._lock:
            fresh, effects = self._core.telemetry(msg, self._now())
            self._run(effects)
            return fresh

    def sweep(self, now: float | None = None) -> None:
        """Notice CPs registered, changed or deregistered elsewhere, heartbeats lost for 3 s,
        authorizations unused for 60 s and keys past their grace."""
        with self._lock:
            moment = self._now(now)
            self._notice_registrations(moment)
            self._notice_changes_elsewhere(moment)
            self._run(self._core.sweep(moment))
            self._expire_keys(moment)

    def _audited(self, row: dict[str, Any]) -> None:
        """A record was appended to the audit trail: the dashboards fetch the latest
        (the event carries no more than its id: the trail is for administrators)."""
        self._hub.publish("audit", {"id": row["id"]})
