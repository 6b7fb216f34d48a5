"""The charging state machine: facts in, actions out.  No I/O, no clock, no threads.

Every input is a method taking ``now`` (a monotonic reading for durations plus the
wall-clock time for records); every method returns the list of :data:`Action` the
shell must carry out, in order: switch the relay, journal and send a supply record,
send a message to the monitor, note something in the log.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal

from edge.engine.actions import (
    Action,
    Notice,
    Progress,
    Record,
    Relay,
    ResendRecords,
    Send,
    StoppedChanged,
)
from edge.engine.clock import Now
from edge.engine.facts import Authorization, Supply
from edge.engine.meter import Meter
from protocol import messages
from protocol.messages import Command, CommandResult, SupplyEnded, SupplyRequest, SupplyStarted
from protocol.states import EngineState, Health
from runtime.routing import Routes

AUTHORIZATION_S = 60.0
MONITOR_SILENCE_S = 3.0
PROGRESS_S = 1.0
REMEMBERED_COMMANDS = 256
KEY_REVOKED = "key revoked"  # why a supply ended, and why none starts

# What each action of a Command from Central does: (actions, ok, reason).
COMMANDS = Routes("command action")


@dataclass
class Machine:
    cp_id: str
    meter: Meter = field(default_factory=Meter)
    stopped: bool = False
    new_id: Callable[[], str] = messages.new_id
    fault: bool = False
    plugged: bool = False
    monitor: bool = False
    central: bool = False
    revoked: bool = False  # Central revoked the CP's key; no new one yet
    last_heard: float = 0.0
    authorization: Authorization | None = None
    supply: Supply | None = None
    requests: dict[str, str] = field(default_factory=dict)
    _results: OrderedDict[str, CommandResult] = field(default_factory=OrderedDict)

    @property
    def state(self) -> EngineState:
        if self.fault:
            return EngineState.BROKEN
        if self.supply:
            return EngineState.SUPPLYING
        if self.stopped:
            return EngineState.STOPPED
        if self.authorization:
            return EngineState.AUTHORIZED
        return EngineState.AVAILABLE

    @property
    def health(self) -> Health:
        return Health.KO if self.fault else Health.OK

    # -- buttons ---------------------------------------------------------------
    def press_fault(self, now: Now) -> list[Action]:
        self.fault = not self.fault
        if not self.fault:
            return [Notice(f"fault cleared: engine OK, {self.state}")]
        actions: list[Action] = [Notice("fault: engine KO", "warning")]
        actions += self._end_supply(now, "fault")
        actions += self._cancel_authorization("fault")
        return actions

    def press_plug(self, now: Now) -> list[Action]:
        self.plugged = not self.plugged
        if not self.plugged:
            return [Notice("vehicle unplugged"), *self._end_supply(now, "unplugged")]
        actions: list[Action] = [Notice("vehicle plugged in")]
        if self.authorization and self.state == EngineState.AUTHORIZED:
            actions += self._start_supply(now)
        return actions

    def press_request(
        self, now: Now, source: str = "button", driver_id: str | None = None
    ) -> list[Action]:
        refusal = self._cannot_start()
        if refusal:
            return [Notice(f"supply request refused: {refusal}", "warning")]
        request = SupplyRequest(
            cp_id=self.cp_id, id=self.new_id(), ts=now.iso, source=source, driver_id=driver_id
        )
        self.requests = {request.id: driver_id or "-"}
        who = f" for driver {driver_id}" if driver_id else ""
        return [Notice(f"supply requested from Central ({source}{who})"), Send(request)]

    # -- the monitor and Central -------------------------------------------------
    def monitor_heard(self, now: Now) -> list[Action]:
        self.last_heard = now.mono
        if self.monitor:
            return []
        self.monitor = True
        return [Notice("monitor connected"), ResendRecords()]

    def monitor_lost(self, now: Now, reason: str) -> list[Action]:
        self.central = False
        if not self.monitor:
            return []
        self.monitor = False
        actions: list[Action] = [Notice(f"monitor lost: {reason}", "warning")]
        actions += self._end_supply(now, "monitor lost")
        actions += self._cancel_authorization("monitor lost")
        return actions

    def central_status(self, now: Now, up: bool) -> list[Action]:
        if up == self.central:
            return []
        self.central = up
        if up:
            return [Notice("Central is reachable"), ResendRecords()]
        actions: list[Action] = [Notice("Central unreachable: no new supply until it is back")]
        return actions + self._cancel_authorization("Central unreachable")

    def key_revoked(self, now: Now, reason: str) -> list[Action]:
        """Central revoked the CP's key: the supply under way ends, none starts until a
        new key comes (a re-authentication of the monitor)."""
        self.revoked = True
        why = f" ({reason})" if reason else ""
        actions: list[Action] = [Notice(f"key revoked by Central{why}: no new supply until "
                                        "a new key", "warning")]
        actions += self._end_supply(now, KEY_REVOKED)
        return actions + self._cancel_authorization(KEY_REVOKED)

    def key_issued(self, now: Now) -> list[Action]:
        if not self.revoked:
            return []
        self.revoked = False
        return [Notice("new key from Central: supplies can start again")]

    def supply_denied(self, now: Now, ref: str, reason: str) -> list[Action]:
        driver = self.requests.pop(ref, "-")
        return [Notice(f"Central denied the supply request (driver {driver}): {reason}", "warning")]

    def command(self, now: Now, command: Command) -> list[Action]:
        known = self._results.get(command.id)
        if known is not None:
            return [Send(known)]
        if messages.parse_ts(command.expires_at) <= now.wall:
            actions, ok, reason = [], False, "expired"
        else:
            actions, ok, reason = COMMANDS.handler(command.action)(self, now, command)
        result = CommandResult(cp_id=self.cp_id, id=self.new_id(), ts=now.iso, ref=command.id,
                               ok=ok, reason=reason)
        self._results[command.id] = result
        while len(self._results) > REMEMBERED_COMMANDS:
            self._results.popitem(last=False)
        verdict = "done" if ok else f"refused ({reason})"
        note = Notice(f"command {command.action} {verdict}", "info" if ok else "warning")
        return [note, Send(result), *actions]

    # -- time --------------------------------------------------------------------
    def tick(self, now: Now) -> list[Action]:
        actions: list[Action] = []
        if self.monitor and now.mono - self.last_heard > MONITOR_SILENCE_S:
            actions += self.monitor_lost(now, f"no health check for {MONITOR_SILENCE_S:g} s")
        if self.authorization and now.mono >= self.authorization.expires_at:
            actions += self._cancel_authorization("not used within 60 s")
        supply = self.supply
        if supply:
            supply.reading = self.meter.read(now.mono - supply.started_mono, supply.price)
            if now.mono - supply.reported_mono >= PROGRESS_S:
                supply.reported_mono = now.mono
                actions.append(
                    Progress(supply.session_id, supply.reading.kwh, supply.reading.eur, now.iso)
                )
        return actions

    def shutdown(self, now: Now) -> list[Action]:
        return [*self._end_supply(now, "engine stopped"), Relay(False)]

    def health_report(self, now: Now, seq: int) -> messages.HealthReport:
        current = self.supply or self.authorization
        return messages.HealthReport(
            cp_id=self.cp_id, id=self.new_id(), ts=now.iso, seq=seq, status=self.health,
            state=self.state, session_id=current.session_id if current else None,
            driver_id=current.driver_id if current else None,
        )

    # -- commands ----------------------------------------------------------------
    @COMMANDS.on("authorize")
    def _authorize(self, now: Now, command: Command) -> tuple[list[Action], bool, str]:
        current = self.supply or self.authorization
        if current and current.session_id == command.session_id:
            return [], True, "already " + self.state
        refusal = self._cannot_start()
        if refusal:
            return [], False, refusal
        self.authorization = Authorization(
            session_id=command.session_id or "",
            driver_id=command.driver_id,
            price=Decimal(command.price_eur_kwh or "0"),
            expires_at=now.mono + AUTHORIZATION_S,
        )
        self.requests.clear()
        who = messages.driver_or_ad_hoc(command.driver_id)
        actions: list[Action] = [Notice(f"authorized {who}, session {command.session_id}")]
        if self.plugged:
            actions += self._start_supply(now)
        return actions, True, ""

    @COMMANDS.on("stop")
    def _stop(self, now: Now, command: Command) -> tuple[list[Action], bool, str]:
        actions = self._end_supply(now, "stopped by Central")
        actions += self._cancel_authorization("stopped by Central")
        if not self.stopped:
            self.stopped = True
            actions.append(StoppedChanged(True))
        return actions, True, ""

    @COMMANDS.on("resume")
    def _resume(self, now: Now, command: Command) -> tuple[list[Action], bool, str]:
        if not self.stopped:
            return [], True, "not stopped"
        self.stopped = False
        return [StoppedChanged(False)], True, ""

    @COMMANDS.on("end_supply")
    def _end_supply(self, now: Now, command: Command) -> tuple[list[Action], bool, str]:
        current = self.supply or self.authorization
        if current is None:
            return [], False, "no supply"
        if command.session_id and command.session_id != current.session_id:
            return [], False, "unknown session"
        if self.supply:  # Central's reason ("key revoked"), or a driver's stop
            return self._end_supply(now, command.reason or "stopped by driver"), True, ""
        return self._cancel_authorization("cancelled by driver"), True, "authorization cancelled"

    # -- supplies ----------------------------------------------------------------
    def _cannot_start(self) -> str:
        """Why no new supply can start now ('' when one can)."""
        if self.state != EngineState.AVAILABLE:
            return self.state
        if not self.monitor:
            return "monitor lost"
        if self.revoked:
            return KEY_REVOKED
        if not self.central:
            return "Central unreachable"
        return ""

    def _start_supply(self, now: Now) -> list[Action]:
        auth = self.authorization
        assert auth is not None
        self.authorization = None
        self.supply = Supply(
            session_id=auth.session_id, driver_id=auth.driver_id, price=auth.price,
            started_at=now.iso, started_mono=now.mono, reading=self.meter.read(0, auth.price),
            reported_mono=now.mono,
        )
        started = SupplyStarted(
            cp_id=self.cp_id, id=self.new_id(), ts=now.iso, session_id=auth.session_id,
            started_at=now.iso, price_eur_kwh=str(auth.price), driver_id=auth.driver_id,
        )
        who = messages.driver_or_ad_hoc(auth.driver_id)
        note = Notice(f"supply {auth.session_id} started for {who}")
        return [Record(started), Relay(True), note]

    def _end_supply(self, now: Now, reason: str) -> list[Action]:
        supply = self.supply
        if supply is None:
            return []
        self.supply = None
        reading = self.meter.read(now.mono - supply.started_mono, supply.price)
        ended = SupplyEnded(
            cp_id=self.cp_id, id=self.new_id(), ts=now.iso, session_id=supply.session_id,
            started_at=supply.started_at, ended_at=now.iso, kwh=str(reading.kwh),
            eur=str(reading.eur), price_eur_kwh=str(supply.price), reason=reason,
            driver_id=supply.driver_id,
        )
        text = f"supply {supply.session_id} ended ({reason}): {reading.kwh} kWh, {reading.eur} EUR"
        return [Relay(False), Record(ended), Notice(text)]

    def _cancel_authorization(self, why: str) -> list[Action]:
        if self.authorization is None:
            return []
        session = self.authorization.session_id
        self.authorization = None
        return [Notice(f"authorization {session} dropped: {why}", "warning")]
