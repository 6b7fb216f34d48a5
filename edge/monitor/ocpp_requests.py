"""What the central system asks of the charge point, decided: each request gets its
answer at once, and the actions it leads to (a command to the engine, a call, a
reconnection) are returned with it.  A part of :class:`~edge.monitor.ocpp_core.OcppCore`
(its state is the core's); no I/O, no clock."""

from __future__ import annotations

from ocpp.v16 import call

from edge.engine.clock import Now
from protocol import messages as m
from protocol.states import EngineState, Health

from .core import ToEngine
from .ocpp_actions import Action, Call, SaveConfig, ScheduleInoperative
from .ocpp_config import ACCEPTED

CONNECTOR = 1
CENTRAL_SYSTEM = "central system"


class CentralSystemRequests:
    def remote_start(self, now: Now, id_tag: str, connector_id: int | None) -> tuple[str, list]:
        if connector_id not in (None, CONNECTOR) or not m.DRIVER_ID.match(id_tag):
            return "Rejected", []
        if not self._can_start():
            return "Rejected", []
        return ACCEPTED, [ToEngine(self._command(now, m.Action.AUTHORIZE, driver_id=id_tag,
                                                 session_id=m.new_id()))]

    def remote_stop(self, now: Now, transaction_id: int) -> tuple[str, list]:
        session = self.health.session_id
        if session is None or self.ledger.transaction_id(session) != transaction_id:
            return "Rejected", []
        return ACCEPTED, [ToEngine(self._command(now, m.Action.END_SUPPLY, session_id=session,
                                                 reason=f"stopped by the {CENTRAL_SYSTEM}"))]

    def change_availability(self, now: Now, connector_id: int, kind: str) -> tuple[str, list]:
        if connector_id not in (0, CONNECTOR) or not self.engine_up:
            return "Rejected", []
        if kind == "Operative":
            return ACCEPTED, self._schedule_inoperative(False) + [
                ToEngine(self._command(now, m.Action.RESUME))]
        if self.health.state in (EngineState.SUPPLYING, EngineState.AUTHORIZED):
            return "Scheduled", self._schedule_inoperative(True)
        return ACCEPTED, self._schedule_inoperative(False) + [
            ToEngine(self._command(now, m.Action.STOP))]

    def _schedule_inoperative(self, scheduled: bool) -> list[Action]:
        """Remember a scheduled Inoperative (durably: the shell stores it) or forget it."""
        if self.unavailable_after_supply == scheduled:
            return []
        self.unavailable_after_supply = scheduled
        return [ScheduleInoperative(scheduled)]

    def reset_requested(self, now: Now, kind: str) -> tuple[str, list]:
        """End the supply under way properly, then reconnect (and boot again)."""
        self.reset = kind
        session = self.health.session_id
        out: list[Action] = []
        if session is not None:
            out.append(ToEngine(self._command(now, m.Action.END_SUPPLY, session_id=session,
                                              reason=f"{kind.lower()} reset")))
        return ACCEPTED, out + self._after_supply(now)

    def change_configuration(self, now: Now, key: str, value: str) -> tuple[str, list]:
        verdict = self.config.change(key, value)
        if verdict != ACCEPTED:
            return verdict, []
        if key == "HeartbeatInterval" and self._next_heartbeat is not None:
            self._next_heartbeat = now.mono + self.config.seconds(key)
        if key == "MeterValueSampleInterval" and self._next_sample is not None:
            self._next_sample = now.mono + self.config.seconds(key)
        return verdict, [SaveConfig(key, self.config.values[key])]

    def trigger(self, now: Now, requested: str, connector_id: int | None) -> tuple[str, list]:
        if connector_id not in (None, 0, CONNECTOR):
            return "Rejected", []
        if requested == "BootNotification":
            return ACCEPTED, [self._boot()]
        if requested == "Heartbeat":
            return ACCEPTED, [Call(call.Heartbeat())]
        if requested == "StatusNotification":
            self.status = None
            return ACCEPTED, self._status(now)
        if requested == "MeterValues":
            return ACCEPTED, [Call(self._meter_values(now, "Trigger"))]
        return "NotImplemented", []


    def _can_start(self) -> bool:
        health = self.health
        return (self.engine_up and health.health == Health.OK
                and health.state == EngineState.AVAILABLE)

