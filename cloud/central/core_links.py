"""The fleet's pure core, the CPs' links: a link up or down, heartbeats and status
reports (what the engine is doing and how healthy it is), and the sweep that finds
heartbeats lost.  Facts in, effects out, time passed in
(:class:`~cloud.central.core_table.TableCore` is the CP table they change;
:class:`~cloud.central.core.Core` adds the supply decisions).
"""

from __future__ import annotations

from cloud.central import cpstate
from cloud.central import effects as fx
from cloud.central.core_table import Effects, TableCore
from cloud.central.cptable import CpRecord, Moment
from protocol import messages as m
from protocol.states import CpState, EngineState, Health


class LinksCore(TableCore):
    def connected(self, cp_id: str, location: str | None, price: str, now: Moment,
                  heartbeats: bool = True) -> Effects:
        """A CP's link is up; ``heartbeats`` False: it is alive while the link is (OCPP)."""
        cp = self.cps.get(cp_id)
        if cp is None:
            return []
        replaced = cp.connected
        cp.heartbeats = heartbeats
        effects: Effects = []
        if location and location != cp.location:
            effects.append(fx.SaveLocation(cp_id, location))
            cp.location = location
        cp.price, cp.connected, cp.resume_sent = price, True, False
        cp.stop_after_supply = None
        cp.lose_engine()
        if not heartbeats:  # a charger that talks answers: healthy until a status says not
            cp.engine = Health.OK  # (else BROKEN for a moment, audited as a breakdown)
        effects.append(fx.Note("info", cp_id, "connection replaced" if replaced else "connected"))
        if cp.stop_reasons <= cpstate.AFTER_SUPPLY and cp.stop_reasons:
            # a supply under way (its first heartbeat says) finishes first
            cp.stop_after_supply = f"out of order: {cpstate.reasons_text(cp.stop_reasons)}"
        elif cp.stop_reasons:
            effects.append(fx.Stop(cp_id, "stopped by Central"))
        return effects + self._refresh(cp, now)

    def disconnected(self, cp_id: str, reason: str, now: Moment) -> Effects:
        cp = self.cps.get(cp_id)
        if cp is None or not cp.connected:
            return []
        cp.connected = False
        cp.lose_engine()
        effects = self._drop_authorizations(cp_id, "CP disconnected", now)
        effects.append(fx.Note("warning", cp_id, f"disconnected: {reason}"))
        return effects + self._refresh(cp, now)

    def heartbeat(self, beat: m.Heartbeat, now: Moment) -> Effects:
        cp = self._connected(beat.cp_id)
        if cp is None:
            return []
        self.counters["heartbeats"] += 1
        return self._report(cp, beat.engine, beat.state, "", now, beat.session_id,
                            beat.driver_id)

    def status(self, cp_id: str, engine: Health, state: EngineState | None, reason: str,
               now: Moment) -> Effects:
        """What a CP reports outside heartbeats (an OCPP charger's StatusNotification):
        its engine health and what it is doing, as a heartbeat says them."""
        cp = self._connected(cp_id)
        if cp is None:
            return []
        return self._report(cp, engine, state, reason, now)

    def _report(self, cp: CpRecord, engine: Health, state: EngineState | None, reason: str,
                now: Moment, session_id: str | None = None,
                driver_id: str | None = None) -> Effects:
        lost = cp.last_heartbeat is not None and cp.state == CpState.DISCONNECTED
        cp.last_heartbeat = now.mono
        effects: Effects = [fx.Note("info", cp.id, "heartbeats resumed")] if lost else []
        if engine != cp.engine:
            effects += self._set_engine(cp, engine, reason, now)
        if (state == EngineState.SUPPLYING and session_id
                and session_id == cp.ended_session):
            state = EngineState.AVAILABLE  # a heartbeat older than the end record
        cp.engine_state = state
        if state in (EngineState.AUTHORIZED, EngineState.SUPPLYING):
            cp.session_id = session_id or cp.session_id
            cp.driver_id = driver_id or cp.driver_id
        elif state is not None:
            cp.session_id = cp.driver_id = cp.started_at = None
        if cp.stop_after_supply and state == EngineState.STOPPED:
            cp.stop_after_supply = None  # stopped already
        elif cp.stop_after_supply and state not in (None, EngineState.SUPPLYING):
            effects += self._stop_after_supply(cp)  # its end record may come later
        if not cp.stop_reasons and state == EngineState.STOPPED and not cp.resume_sent:
            cp.resume_sent = True
            effects.append(fx.Resume(cp.id, "enabled at Central"))
        return effects + self._refresh(cp, now)

    def engine_status(self, cp_id: str, engine: str, reason: str, now: Moment) -> Effects:
        cp = self._connected(cp_id)
        if cp is None:
            return []
        return self._set_engine(cp, engine, reason, now) + self._refresh(cp, now)

    def sweep(self, now: Moment) -> Effects:
        """Notice heartbeats lost for 3 s and authorizations unused for 60 s."""
        effects = self._expire_overdue(now)
        for cp in self.cps.values():
            if (cp.connected and cp.heartbeats and cp.state != CpState.DISCONNECTED
                    and cp.last_heartbeat is not None
                    and now.mono - cp.last_heartbeat > cpstate.HEARTBEAT_TIMEOUT):
                effects += self._refresh(cp, now)
                effects.append(fx.Note("warning", cp.id, "no heartbeat for 3 s"))
        return effects

    def _set_engine(self, cp: CpRecord, engine: str, reason: str, now: Moment) -> Effects:
        before = cp.engine
        if engine == before:
            return []
        cp.engine = Health(engine)
        if cp.engine == Health.OK:
            return [fx.Note("info", cp.id, "engine recovered")] if before is not None else []
        text = f"engine {engine}" + (f": {reason}" if reason else "")
        return [fx.Note("error", cp.id, text),
                *self._drop_authorizations(cp.id, "engine fault", now)]
