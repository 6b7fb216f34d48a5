"""The fleet's pure core: :class:`~cloud.central.core_table.TableCore` (the CP table,
stop reasons, state derivation), :class:`~cloud.central.core_links.LinksCore` (links,
heartbeats, status reports), :class:`~cloud.central.core_keys.KeysCore`
(logins, revoked keys, key problems, deregistrations),
:class:`~cloud.central.core_weather.WeatherCore` (weather alerts) plus the supply
decisions.

Facts in, effects out, time passed in; no lock, no store, no I/O.  Supply records
arrive on either plane (the control plane's copy from the CP server, the data plane's
from Kafka ``cp.events``); the shell stores them first (the store dedupes them by
``session_id``) and tells the core whether each was ``new``, so a duplicate never
counts twice nor notifies twice.  Every step of a session that a driver may care about
is announced as a :class:`~cloud.central.events.SessionEvent`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from cloud.central import cpstate
from cloud.central import effects as fx
from cloud.central.core_table import AUTHORIZATION_TIMEOUT, Effects
from cloud.central.core_weather import WeatherCore
from cloud.central.cptable import Authorization, Moment
from cloud.central.events import SessionEvent, Step
from protocol import messages as m
from protocol.data import Telemetry
from protocol.states import EngineState, SessionStatus


@dataclass(frozen=True)
class Denial:
    """A supply request refused, and why."""

    reason: str


class Core(WeatherCore):
    # -- views -----------------------------------------------------------------------
    def driver_session(self, driver_id: str) -> dict[str, Any] | None:
        """The session under way for ``driver_id`` (authorized or supplying), or None."""
        for cp in self.cps.values():
            if cp.driver_id == driver_id and cp.session_id:
                live = cp.live if cp.live and cp.live[0] == cp.session_id else None
                supplying = cp.engine_state == EngineState.SUPPLYING
                return {"cp_id": cp.id, "session_id": cp.session_id,
                        "status": SessionStatus.SUPPLYING if supplying
                        else SessionStatus.AUTHORIZED,
                        "started_at": cp.started_at, "price_eur_kwh": cp.price,
                        "kw": live and live[1], "kwh": live and live[2],
                        "eur": live and live[3]}
        for authorization in self.authorizations.values():
            if authorization.driver_id == driver_id:
                return {"cp_id": authorization.cp_id, "session_id": authorization.session_id,
                        "status": SessionStatus.AUTHORIZED, "started_at": None,
                        "price_eur_kwh": self.cps[authorization.cp_id].price,
                        "kw": None, "kwh": None, "eur": None}
        return None

    def sessions_by_driver(self) -> dict[str, dict[str, Any]]:
        """Every driver's session under way, in one pass: ``{driver_id: {cp_id, location,
        session_id, status}}`` (a supply at a CP first, then an authorization)."""
        found: dict[str, dict[str, Any]] = {}
        for authorization in self.authorizations.values():
            if authorization.driver_id and authorization.cp_id in self.cps:
                found[authorization.driver_id] = {
                    "cp_id": authorization.cp_id,
                    "location": self.cps[authorization.cp_id].location,
                    "session_id": authorization.session_id,
                    "status": str(SessionStatus.AUTHORIZED)}
        for cp in self.cps.values():
            if cp.driver_id and cp.session_id:
                supplying = cp.engine_state == EngineState.SUPPLYING
                found[cp.driver_id] = {
                    "cp_id": cp.id, "location": cp.location, "session_id": cp.session_id,
                    "status": str(SessionStatus.SUPPLYING if supplying
                                  else SessionStatus.AUTHORIZED)}
        return found

    # -- decisions -------------------------------------------------------------------
    def charge(self, cp_id: str, driver_id: str | None, driver_known: bool, source: str,
               now: Moment) -> tuple[Authorization | Denial, Effects]:
        """Decide a supply request: an authorization (its command among the effects) or
        a denial."""
        cp = self.cps.get(cp_id)
        if cp is None:
            return Denial("unknown CP"), []
        reason = cpstate.supply_refusal(cp.state, driver_id, driver_known)
        if reason:
            self.counters["supplies_denied"] += 1
            who = driver_id or source
            return Denial(reason), [
                fx.RecordDenied(cp_id, driver_id, source, reason, now.wall),
                fx.Note("warning", cp_id, f"supply for {who} denied: {reason}")]
        authorization = Authorization(self.new_id(), cp_id, driver_id, source, now.wall,
                                      now.mono + AUTHORIZATION_TIMEOUT)
        self.authorizations[authorization.session_id] = authorization
        effects: Effects = [
            fx.RecordAuthorized(authorization.session_id, cp_id, driver_id, source, cp.price,
                                now.wall),
            fx.Authorize(cp_id, authorization.session_id, driver_id, cp.price),
            self._requests_changed(),
            fx.Note("info", cp_id, f"supply authorized for {driver_id or source}"),
        ]
        return authorization, effects + self._refresh(cp, now)

    def cancel(self, session_id: str, reason: str, now: Moment) -> tuple[bool, Effects]:
        """End an authorization not yet plugged in; True if there was one."""
        authorization = self.authorizations.get(session_id)
        if authorization is None:
            return False, []
        effects = self._expire(session_id, reason, now)[1]
        effects.append(self._requests_changed())
        return True, effects + self._refresh_id(authorization.cp_id, now)

    def end_supply(self, cp_id: str, session_id: str, driver_id: str | None,
                   reason: str) -> Effects:
        """Ask a connected CP to end a supply (nothing if it is not connected)."""
        if self._connected(cp_id) is None:
            return []
        return [fx.EndSupply(cp_id, session_id, driver_id, reason)]

    # -- what the CPs report (control plane, and data plane through Kafka) -------------
    def command_result(self, cp_id: str, action: str, session_id: str | None, ok: bool,
                       reason: str, now: Moment) -> Effects:
        """A CP's answer to a command (``action`` "command" when it is not known)."""
        if ok:
            authorization = (self.authorizations.get(session_id) if action == "authorize"
                             else None)
            if authorization is None:
                return []
            return [fx.Announce(SessionEvent(Step.AUTHORIZED, cp_id, session_id,
                                             authorization.driver_id))]
        effects: Effects = [fx.Note("warning", cp_id,
                                    f"{action} refused by the CP: {reason or 'no reason'}")]
        if session_id:
            expired, more = self._expire(session_id, f"refused by the CP: {reason}", now)
            effects += more
            if expired:
                effects.append(self._requests_changed())
        return effects + self._refresh_id(cp_id, now)

    def supply_started(self, record: m.SupplyStarted, new: bool, now: Moment) -> Effects:
        authorization = self.authorizations.pop(record.session_id, None)
        effects: Effects = [self._requests_changed()] if authorization else []
        cp = self.cps.get(record.cp_id)
        if new and cp is not None and cp.ended_session != record.session_id:
            cp.engine_state, cp.session_id = EngineState.SUPPLYING, record.session_id
            cp.driver_id, cp.started_at = record.driver_id, record.started_at
        if new:
            self.counters["supplies_started"] += 1
            driver_id = record.driver_id or (authorization.driver_id if authorization else None)
            effects.append(fx.Announce(SessionEvent(Step.STARTED, record.cp_id,
                                                    record.session_id, driver_id,
                                                    record=record)))
        return effects + self._refresh_id(record.cp_id, now)

    def supply_ended(self, record: m.SupplyEnded, new: bool, now: Moment) -> Effects:
        effects: Effects = []
        if self.authorizations.pop(record.session_id, None):
            effects.append(self._requests_changed())
        cp = self.cps.get(record.cp_id)
        if cp is not None and cp.session_id in (record.session_id, None):
            cp.ended_session = record.session_id
            if cp.engine_state in (EngineState.SUPPLYING, EngineState.AUTHORIZED):
                cp.engine_state = EngineState.AVAILABLE
            cp.session_id = cp.driver_id = cp.started_at = None
            effects += self._stop_after_supply(cp)
        if cp is not None and cp.live and cp.live[0] == record.session_id:
            cp.live = None
        if new:
            self.counters["supplies_ended"] += 1
            effects.append(fx.Announce(SessionEvent(
                Step.ENDED, record.cp_id, record.session_id, record.driver_id, record.reason,
                record)))
        return effects + self._refresh_id(record.cp_id, now)

    def telemetry(self, record: Telemetry, now: Moment) -> tuple[bool, Effects]:
        """One second of a supply under way: live figures; False if it is stale."""
        cp = self.cps.get(record.cp_id)
        if cp is None or record.session_id == cp.ended_session:
            return False, []
        if record.session_id != cp.session_id and record.session_id not in self.authorizations:
            return False, []
        cp.live = (record.session_id, record.kw, record.kwh, record.eur)
        driver_id = record.driver_id or cp.driver_id
        effects: Effects = [fx.Announce(SessionEvent(Step.PROGRESS, cp.id, record.session_id,
                                                     driver_id, record=record))]
        return True, effects + self._refresh(cp, now)
