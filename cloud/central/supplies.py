"""The supply half of the Fleet: authorizations, supply records and live figures.

:class:`Supplies` is a base class of :class:`cloud.central.fleet.Fleet` and shares its
state and lock.  Supply records arrive on either plane (the control plane's copy from
the CP server, the data plane's from Kafka ``cp.events``) and go through the same
idempotent store path: the store dedupes them by ``session_id``, so a duplicate never
counts twice nor notifies twice.  Every step of a session that a driver may care about
is announced to the listeners as a :class:`SessionEvent` (see
:mod:`cloud.central.drivers` for what a driver is then told).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from cloud.central import cpstate
from protocol import messages as m
from protocol.data import Telemetry

log = logging.getLogger("cloud.central.fleet")

AUTHORIZATION_TIMEOUT = 60.0  # an authorization not plugged within this expires

# what happened to a session
AUTHORIZED, CANCELLED, STARTED, PROGRESS, ENDED = (
    "authorized", "cancelled", "started", "progress", "ended")


@dataclass(frozen=True)
class SessionEvent:
    kind: str
    cp_id: str
    session_id: str
    driver_id: str | None
    reason: str = ""
    record: Any = None  # the SupplyStarted, Telemetry or SupplyEnded behind it


@dataclass
class Pending:
    session_id: str
    cp_id: str
    driver_id: str | None
    source: str
    since: str
    deadline: float


Listener = Callable[[SessionEvent], None]


class Supplies:
    """Mixed into the Fleet; expects its ``_lock``, ``_cps``, ``store`` and helpers."""

    _pending: dict[str, Pending]
    _listeners: list[Listener]

    # -- views -------------------------------------------------------------------
    def requests(self) -> list[dict[str, Any]]:
        with self._lock:
            return [
                {"session_id": p.session_id, "cp_id": p.cp_id, "driver_id": p.driver_id,
                 "source": p.source, "since": p.since}
                for p in sorted(self._pending.values(), key=lambda p: p.since)
            ]

    def driver_session(self, driver_id: str) -> dict[str, Any] | None:
        """The session under way for ``driver_id`` (authorized or supplying), or None."""
        with self._lock:
            for cp in self._cps.values():
                if cp.driver_id == driver_id and cp.session_id:
                    live = cp.live if cp.live and cp.live[0] == cp.session_id else None
                    supplying = cp.engine_state == "supplying"
                    return {"cp_id": cp.id, "session_id": cp.session_id,
                            "status": "supplying" if supplying else "authorized",
                            "started_at": cp.started_at, "price_eur_kwh": cp.price,
                            "kw": live and live[1], "kwh": live and live[2],
                            "eur": live and live[3]}
            for pending in self._pending.values():
                if pending.driver_id == driver_id:
                    return {"cp_id": pending.cp_id, "session_id": pending.session_id,
                            "status": "authorized", "started_at": None,
                            "price_eur_kwh": self._cps[pending.cp_id].price,
                            "kw": None, "kwh": None, "eur": None}
            return None

    # -- listeners -----------------------------------------------------------------
    def listen(self, listener: Listener) -> None:
        """Call ``listener(event)`` on every session event (under the Fleet's lock)."""
        with self._lock:
            self._listeners.append(listener)

    def _emit(self, kind: str, cp_id: str, session_id: str, driver_id: str | None,
              reason: str = "", record: Any = None) -> None:
        event = SessionEvent(kind, cp_id, session_id, driver_id, reason, record)
        for listener in list(self._listeners):
            try:
                listener(event)
            except Exception:
                log.exception("a session listener failed on %s", kind)

    # -- decisions -------------------------------------------------------------------
    def charge(self, cp_id: str, driver_id: str | None, source: str) -> m.Command | str:
        """Decide a supply request: the authorize Command (recorded, not sent) or a reason."""
        with self._lock:
            cp = self._cps.get(cp_id) or self._load_one(cp_id)
            if cp is None:
                return "unknown CP"
            known = driver_id is not None and self.store.driver(driver_id) is not None
            reason = cpstate.supply_refusal(cp.state, driver_id, known)
            if reason:
                self._counters["supplies_denied"] += 1
                self.store.record_denied(cp_id, driver_id, source, reason, self.wallclock())
                self._note("warning", cp_id, f"supply for {driver_id or source} denied: {reason}")
                return reason
            session_id = m.new_id()
            command = self.command(cp_id, "authorize", session_id=session_id,
                                   driver_id=driver_id, price_eur_kwh=cp.price)
            self._remember(command)
            since = self.wallclock()
            self.store.record_authorized(session_id, cp_id, driver_id, source, cp.price, since)
            self._pending[session_id] = Pending(session_id, cp_id, driver_id, source, since,
                                                self.clock() + AUTHORIZATION_TIMEOUT)
            self._publish("requests", self.requests())
            self._note("info", cp_id, f"supply authorized for {driver_id or source}")
            self._refresh(cp)
            return command

    def cancel(self, session_id: str, reason: str) -> bool:
        """End an authorization not yet plugged in; True if there was one."""
        with self._lock:
            pending = self._pending.get(session_id)
            if pending is None:
                return False
            self._expire(session_id, reason)
            self._publish("requests", self.requests())
            if pending.cp_id in self._cps:
                self._refresh(self._cps[pending.cp_id])
            return True

    # -- hooks (control plane, and data plane through Kafka) ---------------------------
    def on_command_result(self, msg: m.CommandResult) -> None:
        with self._lock:
            cp_id, action, session_id = self._commands.pop(msg.ref, (msg.cp_id, "command", None))
            if msg.ok:
                log.debug("%s: %s acknowledged", cp_id, action)
                pending = self._pending.get(session_id) if action == "authorize" else None
                if pending is not None:
                    self._emit(AUTHORIZED, cp_id, session_id, pending.driver_id)
                return
            self._note("warning", cp_id, f"{action} refused by the CP: {msg.reason or 'no reason'}")
            if session_id and self._expire(session_id, f"refused by the CP: {msg.reason}"):
                self._publish("requests", self.requests())
            if cp_id in self._cps:
                self._refresh(self._cps[cp_id])

    def on_supply_request(self, msg: m.SupplyRequest) -> m.Command | m.SupplyDenied:
        outcome = self.charge(msg.cp_id, msg.driver_id, msg.source)
        if isinstance(outcome, str):
            return m.SupplyDenied(cp_id=msg.cp_id, ref=msg.id, reason=outcome)
        with self._lock:
            self._counters["commands_sent"] += 1
        return outcome

    def on_supply_started(self, msg: m.SupplyStarted) -> m.RecordAck:
        with self._lock:
            new = self.store.record_started(msg.session_id, msg.cp_id, msg.driver_id,
                                            msg.price_eur_kwh, msg.started_at)
            pending = self._pending.pop(msg.session_id, None)
            if pending:
                self._publish("requests", self.requests())
            cp = self._cps.get(msg.cp_id)
            if new and cp is not None and cp.ended_session != msg.session_id:
                cp.engine_state, cp.session_id = "supplying", msg.session_id
                cp.driver_id, cp.started_at = msg.driver_id, msg.started_at
            if new:
                self._counters["supplies_started"] += 1
                who = m.driver_or_ad_hoc(msg.driver_id)
                self._note("info", msg.cp_id, f"supply started for {who}")
                driver_id = msg.driver_id or (pending.driver_id if pending else None)
                self._emit(STARTED, msg.cp_id, msg.session_id, driver_id, record=msg)
            if cp is not None:
                self._refresh(cp)
            return m.RecordAck(cp_id=msg.cp_id, ref=msg.id, session_id=msg.session_id)

    def on_supply_ended(self, msg: m.SupplyEnded) -> m.RecordAck:
        with self._lock:
            new = self.store.record_ended(
                msg.session_id, msg.cp_id, msg.driver_id, msg.price_eur_kwh, msg.started_at,
                msg.ended_at, msg.kwh, msg.eur, msg.reason)
            if self._pending.pop(msg.session_id, None):
                self._publish("requests", self.requests())
            cp = self._cps.get(msg.cp_id)
            if cp is not None and cp.session_id in (msg.session_id, None):
                cp.ended_session = msg.session_id
                if cp.engine_state in ("supplying", "authorized"):
                    cp.engine_state = "available"
                cp.session_id = cp.driver_id = cp.started_at = None
            if cp is not None and cp.live and cp.live[0] == msg.session_id:
                cp.live = None
            if new:
                self._counters["supplies_ended"] += 1
                self._note("info", msg.cp_id, f"supply ended ({msg.reason}): {msg.kwh} kWh, "
                           f"{msg.eur} EUR, driver {m.driver_or_ad_hoc(msg.driver_id)}")
                self._emit(ENDED, msg.cp_id, msg.session_id, msg.driver_id, msg.reason, msg)
            if cp is not None:
                self._refresh(cp)
            return m.RecordAck(cp_id=msg.cp_id, ref=msg.id, session_id=msg.session_id)

    def on_telemetry(self, msg: Telemetry) -> bool:
        """One second of a supply under way: live figures; False if it is stale."""
        with self._lock:
            cp = self._cps.get(msg.cp_id)
            if cp is None or msg.session_id == cp.ended_session:
                return False
            if msg.session_id != cp.session_id and msg.session_id not in self._pending:
                return False
            cp.live = (msg.session_id, msg.kw, msg.kwh, msg.eur)
            driver_id = msg.driver_id or cp.driver_id
            self._emit(PROGRESS, cp.id, msg.session_id, driver_id, record=msg)
            self._refresh(cp)
            return True

    # -- internals -----------------------------------------------------------------
    def _expire_overdue(self, now: float) -> set[str]:
        """Authorizations unused for 60 s; returns the CPs concerned."""
        expired = [p for p in self._pending.values() if now >= p.deadline]
        for pending in expired:
            self._expire(pending.session_id, "not plugged in within 60 s")
            self._note("warning", pending.cp_id,
                       f"authorization for {pending.driver_id or pending.source} expired")
        if expired:
            self._publish("requests", self.requests())
        return {p.cp_id for p in expired}

    def _expire(self, session_id: str, reason: str) -> bool:
        pending = self._pending.pop(session_id, None)
        self.store.expire(session_id, reason, self.wallclock())
        if pending is not None:
            self._emit(CANCELLED, pending.cp_id, session_id, pending.driver_id, reason)
        return pending is not None

    def _drop_pending(self, cp_id: str, reason: str) -> None:
        doomed = [p.session_id for p in self._pending.values() if p.cp_id == cp_id]
        for session_id in doomed:
            self._expire(session_id, reason)
        if doomed:
            self._publish("requests", self.requests())
