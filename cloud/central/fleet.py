"""Central's live view of its CPs, and the operations on them.

Shared by the asyncio CP server (which calls the ``on_*`` hooks) and the HTTP threads
(which read views and call stop / resume); an RLock guards everything.  The displayed
state comes from :func:`cloud.central.cpstate.derive_state`; what must survive a
restart (enabled flags, sessions, the audit log) lives in the store.  Every change is
published to subscribers as ``{"event": "cp" | "message" | "requests" | "kafka" | "power",
"data": ...}`` on bounded queues that drop their oldest event rather than block.
Authorizations and supply records live in :mod:`cloud.central.supplies`.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections import Counter, OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from cloud.central import cpstate, session_report
from cloud.central.cpstate import DISCONNECTED, Facts
from cloud.central.hub import QUEUE_SIZE, Hub
from cloud.central.power import PowerHistory, fleet_kw
from cloud.central.store import Store
from cloud.central.supplies import Listener, Pending, Supplies
from protocol import messages as m

log = logging.getLogger(__name__)

KAFKA_COUNTERS = ("events_consumed", "telemetry_consumed", "driver_requests", "deadlettered")
COMMAND_TTL = 10.0  # a command not delivered within this is ignored by the CP
Sender = Callable[[m.Message], None]


@dataclass
class _Cp:
    id: str
    location: str
    price: str
    enabled: bool
    state: str = DISCONNECTED
    updated_at: str = ""
    connected: bool = False
    sender: Sender | None = None
    last_heartbeat: float | None = None
    engine: str | None = None  # OK / KO / DOWN
    engine_state: str | None = None  # available / authorized / supplying / stopped / broken
    session_id: str | None = None
    driver_id: str | None = None
    started_at: str | None = None
    ended_session: str | None = None  # so a stale heartbeat cannot revive it
    resume_sent: bool = False
    live: tuple[str, str, str, str] | None = None  # session_id, kW, kWh, EUR (telemetry)
    view: dict[str, Any] = field(default_factory=dict)


class Fleet(Supplies):
    def __init__(
        self, store: Store, clock: Callable[[], float] = time.monotonic,
        wallclock: Callable[[], str] = m.utc_now,
    ) -> None:
        self.store = store
        self.clock = clock
        self.wallclock = wallclock
        self._lock = threading.RLock()
        self._cps: dict[str, _Cp] = {}
        self._pending: dict[str, Pending] = {}
        self._listeners: list[Listener] = []
        self._kafka: dict[str, Any] | None = None  # {"up", "address", "text"} with Kafka
        self._commands: OrderedDict[str, tuple[str, str, str | None]] = OrderedDict()
        self._hub = Hub(wallclock)
        self._power = PowerHistory()
        self._counters: Counter[str] = Counter()
        self._loaded_at = clock()
        for row in store.cps():
            self._load(row)
        for row in store.sessions_with_status("authorized"):
            store.expire(row["id"], "Central restarted", wallclock())

    @property
    def lock(self) -> threading.RLock:
        """Held by every operation; hold it to make several of them one step."""
        return self._lock

    # -- views -------------------------------------------------------------------
    def cps(self) -> list[dict[str, Any]]:
        with self._lock:
            if self.clock() - self._loaded_at >= 1.0:
                self._load_new()
            return [dict(cp.view) for _, cp in sorted(self._cps.items())]

    def cp(self, cp_id: str) -> dict[str, Any] | None:
        with self._lock:
            cp = self._cps.get(cp_id) or self._load_one(cp_id)
            return dict(cp.view) if cp else None

    def sessions(self, cp_id: str | None = None, driver_id: str | None = None,
                 day: str | None = None, limit: int | None = 1000, offset: int = 0) -> list[dict]:
        return self.store.sessions(cp_id=cp_id, driver_id=driver_id, day=day, limit=limit,
                                   offset=offset)

    def session_totals(self, cp_id: str | None = None, driver_id: str | None = None,
                       day: str | None = None) -> session_report.Totals:
        """Count, kWh and EUR of every session the filter selects (exact, unpaged)."""
        return session_report.totals(self.store.session_amounts(cp_id, driver_id, day))

    def power(self, now: float | None = None) -> dict[str, Any]:
        """The fleet's total kW over the last hour: ``{span, step, now, points}``."""
        with self._lock:
            return self._power.as_json(self._epoch() if now is None else now)

    def sample_power(self, now: float | None = None) -> None:
        """Called often (the CP server's sweep); keeps one sample every few seconds and
        publishes it as a ``power`` event."""
        with self._lock:
            now = self._epoch() if now is None else now
            if self._power.due(now):
                point = self._power.add(now, fleet_kw(cp.view for cp in self._cps.values()))
                self._publish("power", point.as_json())

    def _epoch(self) -> float:
        return m.parse_ts(self.wallclock()).timestamp()

    def drivers(self) -> list[dict[str, Any]]:
        return self.store.drivers()

    def messages(self, limit: int = 50) -> list[dict[str, Any]]:
        with self._lock:
            return self._hub.messages(limit)

    def metrics(self) -> dict[str, float]:
        with self._lock:
            values: dict[str, float] = {
                "cps_registered": len(self._cps),
                "cps_connected": sum(cp.connected for cp in self._cps.values()),
                "requests_pending": len(self._pending),
            }
            states = Counter(cp.state for cp in self._cps.values())
            for state in cpstate.STATES:
                values[f'cps_by_state{{state="{state}"}}'] = states[state]
            for name in ("heartbeats", "frames_rejected", "auth_refusals", "commands_sent",
                         "supplies_started", "supplies_ended", "supplies_denied",
                         *KAFKA_COUNTERS):
                values[f"{name}_total"] = self._counters[name]
            if self._kafka is not None:
                values["kafka_up"] = int(bool(self._kafka["up"]))
            return values

    def count(self, name: str, by: int = 1) -> None:
        with self._lock:
            self._counters[name] += by

    # -- the data plane (Kafka) ----------------------------------------------------
    def kafka(self) -> dict[str, Any] | None:
        """None without Kafka, else ``{"up", "address", "text"}``."""
        with self._lock:
            return dict(self._kafka) if self._kafka is not None else None

    def set_kafka(self, up: bool, address: str) -> None:
        """Kafka reachable or not: the dashboard's banner and /healthz follow it."""
        with self._lock:
            text = "" if up else (f"Kafka unreachable at {address}: live telemetry and "
                                  "driver requests paused")
            status = {"up": up, "address": address, "text": text}
            if status == self._kafka:
                return
            self._kafka = status
            if up:
                self._note("info", None, f"Kafka reachable at {address}")
            else:
                self._note("warning", None, f"cannot reach Kafka at {address}, retrying")
            self._publish("kafka", dict(status))

    # -- subscriptions -----------------------------------------------------------
    def subscribe(self, maxsize: int = QUEUE_SIZE) -> queue.Queue:
        with self._lock:
            return self._hub.subscribe(maxsize)

    def unsubscribe(self, subscription: queue.Queue) -> None:
        with self._lock:
            self._hub.unsubscribe(subscription)

    def _publish(self, event: str, data: Any) -> None:
        self._hub.publish(event, data)

    def _note(self, level: str, cp_id: str | None, text: str) -> None:
        self._hub.note(level, cp_id, text)

    # -- administration ----------------------------------------------------------
    def add_cp(self, cp_id: str, location: str, price: str, actor: str = "admin") -> str:
        """Register a CP (ValueError if bad or taken); returns its secret, once."""
        secret = self.store.add_cp(cp_id, location, price)
        with self._lock:
            self.store.audit(actor, "add_cp", cp_id, location)
            self._load_one(cp_id)
            self._note("info", cp_id, f"registered by {actor}")
        return secret

    def add_driver(self, driver_id: str, actor: str = "admin") -> None:
        self.store.add_driver(driver_id)
        self.store.audit(actor, "add_driver", None, driver_id)

    def stop(self, cp_id: str, actor: str = "admin") -> dict[str, Any]:
        with self._lock:
            cp = self._get(cp_id)
            cp.enabled = False
            self.store.set_enabled(cp_id, False)
            self.store.audit(actor, "stop", cp_id)
            self._drop_pending(cp_id, "stopped")
            self._send(cp, self.command(cp_id, "stop", reason=f"stopped by {actor}"))
            self._note("warning", cp_id, f"stopped by {actor}")
            self._refresh(cp)
            return dict(cp.view)

    def resume(self, cp_id: str, actor: str = "admin") -> dict[str, Any]:
        with self._lock:
            cp = self._get(cp_id)
            cp.enabled = True
            self.store.set_enabled(cp_id, True)
            self.store.audit(actor, "resume", cp_id)
            self._send(cp, self.command(cp_id, "resume", reason=f"resumed by {actor}"))
            self._note("info", cp_id, f"resumed by {actor}")
            self._refresh(cp)
            return dict(cp.view)

    def stop_all(self, actor: str = "admin") -> list[dict[str, Any]]:
        """Stop every CP not stopped yet; returns every CP's view."""
        with self._lock:
            for cp_id in sorted(self._cps):
                if self._cps[cp_id].enabled:
                    self.stop(cp_id, actor)
            return [dict(cp.view) for _, cp in sorted(self._cps.items())]

    def resume_all(self, actor: str = "admin") -> list[dict[str, Any]]:
        """Resume the stopped CPs only; returns every CP's view."""
        with self._lock:
            for cp_id in sorted(self._cps):
                if not self._cps[cp_id].enabled:
                    self.resume(cp_id, actor)
            return [dict(cp.view) for _, cp in sorted(self._cps.items())]

    def send(self, cp_id: str, message: m.Message) -> bool:
        """Send a message on ``cp_id``'s link; False when it is not connected."""
        with self._lock:
            cp = self._connected(cp_id)
            if cp is not None:
                self._send(cp, message)
            return cp is not None

    def command(self, cp_id: str, action: str, **fields: Any) -> m.Command:
        """A Command for ``cp_id`` that expires COMMAND_TTL seconds from now."""
        expires = m.parse_ts(self.wallclock()) + timedelta(seconds=COMMAND_TTL)
        expires_at = expires.isoformat(timespec="milliseconds").replace("+00:00", "Z")
        return m.Command(cp_id=cp_id, action=action, expires_at=expires_at, **fields)

    # -- hooks the CP server calls ---------------------------------------------------
    def on_connected(self, cp_id: str, sender: Sender, location: str | None = None) -> None:
        with self._lock:
            cp = self._cps.get(cp_id) or self._load_one(cp_id)
            if cp is None:
                return
            replaced = cp.connected
            row = self.store.cp(cp_id) or {}
            if location and location != cp.location:
                self.store.set_location(cp_id, location)
                cp.location = location
            cp.enabled, cp.price = bool(row.get("enabled", cp.enabled)), row.get("price_eur_kwh",
                                                                                   cp.price)
            cp.connected, cp.sender, cp.resume_sent = True, sender, False
            cp.last_heartbeat = cp.engine = cp.engine_state = None
            self._note("info", cp_id, "connection replaced" if replaced else "connected")
            if not cp.enabled:
                self._send(cp, self.command(cp_id, "stop", reason="stopped by Central"))
            self._refresh(cp)

    def on_disconnected(self, cp_id: str, reason: str) -> None:
        with self._lock:
            cp = self._cps.get(cp_id)
            if cp is None or not cp.connected:
                return
            cp.connected, cp.sender = False, None
            cp.last_heartbeat = cp.engine = cp.engine_state = None
            self._drop_pending(cp_id, "CP disconnected")
            self._note("warning", cp_id, f"disconnected: {reason}")
            self._refresh(cp)

    def on_heartbeat(self, msg: m.Heartbeat) -> None:
        with self._lock:
            cp = self._connected(msg.cp_id)
            if cp is None:
                return
            self._counters["heartbeats"] += 1
            lost = cp.last_heartbeat is not None and cp.state == DISCONNECTED
            cp.last_heartbeat = self.clock()
            if lost:
                self._note("info", cp.id, "heartbeats resumed")
            self._set_engine(cp, msg.engine, "")
            state = msg.state
            if state == "supplying" and msg.session_id and msg.session_id == cp.ended_session:
                state = "available"  # a heartbeat older than the end record
            cp.engine_state = state
            if state in ("authorized", "supplying"):
                cp.session_id = msg.session_id or cp.session_id
                cp.driver_id = msg.driver_id or cp.driver_id
            elif state is not None:
                cp.session_id = cp.driver_id = cp.started_at = None
            if cp.enabled and state == "stopped" and not cp.resume_sent:
                cp.resume_sent = True
                self._send(cp, self.command(cp.id, "resume", reason="enabled at Central"))
            self._refresh(cp)

    def on_engine_status(self, msg: m.EngineStatus) -> None:
        with self._lock:
            cp = self._connected(msg.cp_id)
            if cp is not None:
                self._set_engine(cp, msg.engine, msg.reason)
                self._refresh(cp)

    def on_frame_rejected(self, cp_id: str | None, reason: str) -> None:
        with self._lock:
            self._counters["frames_rejected"] += 1

    def on_auth_refused(self, cp_id: str | None, peer: str, reason: str) -> None:
        with self._lock:
            self._counters["auth_refusals"] += 1
            self._note("warning", cp_id, f"refused connection from {peer}: {reason}")

    def sweep(self, now: float | None = None) -> None:
        """Notice heartbeats lost for 3 s and authorizations unused for 60 s."""
        with self._lock:
            now = self.clock() if now is None else now
            for cp_id in self._expire_overdue(now):
                if cp_id in self._cps:
                    self._refresh(self._cps[cp_id], now)
            for cp in self._cps.values():
                if (cp.connected and cp.state != DISCONNECTED and cp.last_heartbeat is not None
                        and now - cp.last_heartbeat > cpstate.HEARTBEAT_TIMEOUT):
                    self._refresh(cp, now)
                    self._note("warning", cp.id, "no heartbeat for 3 s")

    # -- internals -----------------------------------------------------------------
    def _load(self, row: dict[str, Any]) -> _Cp:
        cp = _Cp(row["id"], row["location"] or "", row["price_eur_kwh"], bool(row["enabled"]))
        self._cps[cp.id] = cp
        self._refresh(cp, publish=False)
        return cp

    def _load_one(self, cp_id: str) -> _Cp | None:
        row = self.store.cp(cp_id) if isinstance(cp_id, str) else None
        if row is None:
            return None
        cp = self._load(row)
        self._publish("cp", dict(cp.view))
        return cp

    def _load_new(self) -> None:
        """CPs registered by another process (``ev-central cp add``) while we run."""
        self._loaded_at = self.clock()
        for row in self.store.cps():
            if row["id"] not in self._cps:
                self._publish("cp", dict(self._load(row).view))

    def _get(self, cp_id: str) -> _Cp:
        cp = self._cps.get(cp_id) or self._load_one(cp_id)
        if cp is None:
            raise KeyError(cp_id)
        return cp

    def _connected(self, cp_id: str) -> _Cp | None:
        cp = self._cps.get(cp_id)
        return cp if cp is not None and cp.connected else None

    def _set_engine(self, cp: _Cp, engine: str, reason: str) -> None:
        before, cp.engine = cp.engine, engine
        if engine == before:
            return
        if engine == "OK":
            if before is not None:
                self._note("info", cp.id, "engine recovered")
        else:
            self._note("error", cp.id, f"engine {engine}" + (f": {reason}" if reason else ""))
            self._drop_pending(cp.id, "engine fault")

    def _send(self, cp: _Cp, message: m.Message) -> None:
        if cp.sender is None:
            return
        if isinstance(message, m.Command):
            self._remember(message)
            self._counters["commands_sent"] += 1
        try:
            cp.sender(message)
        except Exception:
            log.exception("%s: could not send %s", cp.id, message.TYPE)

    def _remember(self, command: m.Command) -> None:
        self._commands[command.id] = (command.cp_id, command.action, command.session_id)
        while len(self._commands) > 10000:
            self._commands.popitem(last=False)

    def _refresh(self, cp: _Cp, now: float | None = None, publish: bool = True) -> None:
        pending = next((p for p in self._pending.values() if p.cp_id == cp.id), None)
        facts = Facts(cp.connected, cp.last_heartbeat, cp.engine, cp.enabled)
        facts = cpstate.with_engine_state(facts, cp.engine_state, pending is not None)
        cp.state = cpstate.derive_state(facts, self.clock() if now is None else now)
        session = (cp.session_id, cp.driver_id)
        if cp.session_id is None and pending is not None:
            session = (pending.session_id, pending.driver_id)
        live = cp.live[1:] if cp.live and cp.live[0] == session[0] else None
        view = cpstate.view(cp.id, cp.location, cp.price, cp.state, *session, cp.started_at,
                            live, enabled=cp.enabled)
        if view != {k: v for k, v in cp.view.items() if k != "updated_at"}:
            cp.updated_at = self.wallclock()
            cp.view = {**view, "updated_at": cp.updated_at}
            if publish:
                self._publish("cp", dict(cp.view))
