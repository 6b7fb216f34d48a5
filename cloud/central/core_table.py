"""The fleet's pure core, its base: the CP table, stop reasons, state derivation and the
authorizations' bookkeeping (:mod:`cloud.central.core_links` adds the CPs' links,
:mod:`cloud.central.core` the supply decisions).  Facts in, effects out; time passed
in; no lock, no store, no I/O.

Like :mod:`edge.engine.machine`, every input is a method taking ``now`` (a
:class:`~cloud.central.cptable.Moment`) and returning the list of
:mod:`~cloud.central.effects` the shell must carry out, in order.  What the store
alone knows comes in as an argument (whether a driver is registered, whether a supply
record was new); what must be written goes out as an effect.  The shell
(:class:`cloud.central.fleet.Fleet`) owns the lock, the store, the hub and the CPs'
command ports.
"""

from __future__ import annotations

import bisect
from collections import Counter
from collections.abc import Callable
from typing import Any

from cloud.central import cpstate
from cloud.central import effects as fx
from cloud.central.cpstate import StopReason
from cloud.central.cptable import Authorization, CpRecord, Moment, refresh
from cloud.central.errors import UnknownCp
from cloud.central.events import CpResumed, CpStopped, SessionEvent, StateChange, Step
from protocol import messages as m
from protocol.states import CpState, EngineState

AUTHORIZATION_TIMEOUT = 60.0  # an authorization not plugged within this expires
Effects = list[fx.Effect]


class TableCore:
    def __init__(self, new_id: Callable[[], str] = m.new_id) -> None:
        self.new_id = new_id
        self.cps: dict[str, CpRecord] = {}
        self._ids: list[str] = []  # the keys of cps in order, kept so for pages
        self.authorizations: dict[str, Authorization] = {}
        self.counters: Counter[str] = Counter()

    # -- the CP table ----------------------------------------------------------------
    def register(self, cp_id: str, location: str, price: str,
                 stop_reasons: frozenset[StopReason], now: Moment,
                 credentials: dict[str, Any] | None = None) -> Effects:
        """A CP from the registry, new to this core; nothing if it is known already.
        ``credentials``: ``registered_at``, ``last_auth_at``, ``key_id``, ``key_issued_at``."""
        if cp_id in self.cps:
            return []
        cp = self.cps[cp_id] = CpRecord(cp_id, location, price, frozenset(stop_reasons),
                                        **(credentials or {}))
        bisect.insort(self._ids, cp_id)
        return self._refresh(cp, now)

    def _forget(self, cp_id: str) -> CpRecord | None:
        """The CP taken out of the table (None if it was not in it)."""
        cp = self.cps.pop(cp_id, None)
        if cp is not None:
            del self._ids[bisect.bisect_left(self._ids, cp_id)]
        return cp

    def view(self, cp_id: str) -> dict[str, Any] | None:
        cp = self.cps.get(cp_id)
        return dict(cp.view) if cp is not None else None

    def views(self, offset: int = 0, limit: int | None = None) -> list[dict[str, Any]]:
        """CPs by id, ``limit`` of them (all when None) from ``offset``."""
        ids = self._ids[offset:None if limit is None else offset + limit]
        return [dict(self.cps[cp_id].view) for cp_id in ids]

    def matching(self, keep: Callable[[dict[str, Any]], bool]) -> list[str]:
        """The ids, in order, of the CPs whose view ``keep`` takes."""
        return [cp_id for cp_id in self._ids if keep(self.cps[cp_id].view)]

    def requests(self) -> list[dict[str, Any]]:
        return [a.as_request()
                for a in sorted(self.authorizations.values(), key=lambda a: a.since)]

    def metrics(self, counters: tuple[str, ...] = ()) -> dict[str, float]:
        """Gauges of the CP table, and ``<name>_total`` of each of ``counters``."""
        values: dict[str, float] = {
            "cps_registered": len(self.cps),
            "cps_connected": sum(cp.connected for cp in self.cps.values()),
            "requests_pending": len(self.authorizations),
        }
        states = Counter(cp.state for cp in self.cps.values())
        for state in CpState:
            values[f'cps_by_state{{state="{state}"}}'] = states[state]
        for name in counters:
            values[f"{name}_total"] = self.counters[name]
        return values

    def _get(self, cp_id: str) -> CpRecord:
        cp = self.cps.get(cp_id)
        if cp is None:
            raise UnknownCp(cp_id)
        return cp

    def _connected(self, cp_id: str) -> CpRecord | None:
        cp = self.cps.get(cp_id)
        return cp if cp is not None and cp.connected else None

    # -- stop reasons ----------------------------------------------------------------
    def stop(self, cp_id: str, reason: StopReason, actor: str, now: Moment) -> Effects:
        """Take a CP out of service for ``reason`` (UnknownCp if there is no such CP)."""
        cp = self._get(cp_id)
        cp.stop_reasons = cp.stop_reasons | {reason}
        effects: Effects = [fx.SaveStopReasons(cp_id, cp.stop_reasons),
                            fx.Announce(CpStopped(cp_id, reason, actor))]
        effects += self._drop_authorizations(cp_id, "stopped", now)
        if cp.connected:
            text = (f"stopped by {actor}" if reason == StopReason.ADMIN
                    else f"out of order: {cpstate.REASON_TEXT[reason]}")
            if (cp.engine_state in (EngineState.SUPPLYING, None)
                    and cp.stop_reasons <= cpstate.AFTER_SUPPLY):
                cp.stop_after_supply = text  # the supply (if any: a heartbeat says) first
                if cp.engine_state == EngineState.SUPPLYING:
                    effects.append(fx.Note("warning", cp_id, f"{text} once its supply ends"))
            else:
                cp.stop_after_supply = None
                effects.append(fx.Stop(cp_id, text))
        return effects + self._refresh(cp, now)

    def _stop_after_supply(self, cp: CpRecord) -> Effects:
        """The supply a stop waited for has ended: the CP is told now."""
        text, cp.stop_after_supply = cp.stop_after_supply, None
        if not text or not cp.connected or not cp.stop_reasons:
            return []
        return [fx.Stop(cp.id, text)]

    def lift(self, cp_id: str, reason: StopReason, actor: str, now: Moment) -> Effects:
        """Lift ``reason`` alone; the CP is back in service once it has none left."""
        cp = self._get(cp_id)
        cp.stop_reasons = cp.stop_reasons - {reason}
        effects: Effects = [fx.SaveStopReasons(cp_id, cp.stop_reasons),
                            fx.Announce(CpResumed(cp_id, reason, actor, cp.stop_reasons))]
        if cp.connected and not cp.stop_reasons:
            if cp.stop_after_supply:  # never told: its supply goes on
                cp.stop_after_supply = None
            else:
                effects.append(fx.Resume(cp_id, f"resumed by {actor}"))
        return effects + self._refresh(cp, now)

    # -- authorizations --------------------------------------------------------------
    def authorization_at(self, cp_id: str) -> Authorization | None:
        if not self.authorizations:
            return None
        return next((a for a in self.authorizations.values() if a.cp_id == cp_id), None)

    def _refresh(self, cp: CpRecord, now: Moment) -> Effects:
        """Derive the CP's state and view again: a dashboard event if the view changed,
        a domain event if the state did (not for its first derivation)."""
        before, first = cp.state, not cp.updated_at
        if not refresh(cp, self.authorization_at(cp.id), now):
            return []
        if cp.state == before or first:
            return [fx.Publish("cp", dict(cp.view))]
        return [fx.Publish("cp", dict(cp.view)),
                fx.Announce(StateChange(cp.id, str(before), str(cp.state)))]

    def _refresh_id(self, cp_id: str, now: Moment) -> Effects:
        cp = self.cps.get(cp_id)
        return self._refresh(cp, now) if cp is not None else []

    def _requests_changed(self) -> fx.Publish:
        return fx.Publish("requests", self.requests())

    def _expire(self, session_id: str, reason: str, now: Moment) -> tuple[bool, Effects]:
        """End an authorization (and its session in the store, if still authorized)."""
        authorization = self.authorizations.pop(session_id, None)
        effects: Effects = [fx.ExpireSession(session_id, reason, now.wall)]
        if authorization is not None:
            effects.append(fx.Announce(SessionEvent(
                Step.CANCELLED, authorization.cp_id, session_id, authorization.driver_id,
                reason)))
        return authorization is not None, effects

    def _drop_authorizations(self, cp_id: str, reason: str, now: Moment) -> Effects:
        doomed = [a.session_id for a in self.authorizations.values() if a.cp_id == cp_id]
        effects: Effects = []
        for session_id in doomed:
            effects += self._expire(session_id, reason, now)[1]
        if doomed:
            effects.append(self._requests_changed())
        return effects

    def _expire_overdue(self, now: Moment) -> Effects:
        """Authorizations unused for 60 s, and the CPs they held."""
        expired = [a for a in self.authorizations.values() if now.mono >= a.deadline]
        effects: Effects = []
        for authorization in expired:
            effects += self._expire(authorization.session_id, "not plugged in within 60 s",
                                    now)[1]
            who = authorization.driver_id or authorization.source
            effects.append(fx.Note("warning", authorization.cp_id,
                                   f"authorization for {who} expired"))
        if expired:
            effects.append(self._requests_changed())
        for cp_id in {a.cp_id for a in expired}:
            effects += self._refresh_id(cp_id, now)
        return effects
