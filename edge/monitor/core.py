"""The monitor's decisions: health, heartbeats, relaying. No I/O, no clock, no threads.

Events from the two links go in with the current time; actions come out for the shell
to carry out: :class:`ToEngine`, :class:`ToCentral`, :class:`EngineHealth` (log and
show a change), :class:`Dropped` (log a message that had nowhere to go) and
:class:`KeyGone` (Central revoked the CP's key: close its link, wait for a
re-authentication).

The core holds the CP's current key (issued at each login) to hand it to the engine
(``KeyIssued``) after each Welcome and whenever the engine link comes up again; after a
revocation it tells the engine so instead, until the next login.
"""

from __future__ import annotations

from dataclasses import dataclass

from edge import keys
from protocol import messages as m
from protocol.seal import Key
from protocol.states import Health
from runtime.routing import Routes

from .health import HealthChanged, HealthTracker, Output, SendCheck

# What the engine sends that Central must see, and what Central sends for the engine.
TO_CENTRAL = (m.CommandResult, m.SupplyRequest, m.SupplyStarted, m.SupplyEnded)
TO_ENGINE = (m.Command, m.RecordAck, m.SupplyDenied)
ENGINE_UNREACHABLE = "engine unreachable"

# What the core receives: what comes over the engine link, what comes over the link to
# Central once it has welcomed us (the handshake is the dialer's), and what its health
# tracker decides.
FROM_ENGINE = Routes("message from the engine")
FROM_CENTRAL = Routes("message from Central")
FROM_TRACKER = Routes("health tracker output")


@dataclass(frozen=True)
class ToEngine:
    message: m.Message


@dataclass(frozen=True)
class ToCentral:
    message: m.Message


@dataclass(frozen=True)
class EngineHealth:
    engine: Health
    reason: str


@dataclass(frozen=True)
class Dropped:
    message: m.Message
    why: str


@dataclass(frozen=True)
class KeyGone:
    """Central revoked the CP's key: close the link to Central and do not log in again
    until someone asks for a re-authentication."""

    reason: str


Action = ToEngine | ToCentral | EngineHealth | Dropped | KeyGone


class MonitorCore:
    def __init__(
        self,
        cp_id: str,
        central_address: str,
        *,
        heartbeat_interval: float = 1.0,
        check_interval: float = 1.0,
        check_timeout: float = 0.9,
    ) -> None:
        self.cp_id = cp_id
        self.central_address = central_address
        self.heartbeat_interval = heartbeat_interval
        self.health = HealthTracker(interval=check_interval, timeout=check_timeout)
        self.engine_up = False
        self.central_up = False
        self.key: Key | None = None  # issued at the last login, in memory only
        self.revoked: m.KeyRevoked | None = None  # Central's revocation, until a new login
        self._next_heartbeat: float | None = None

    # -- engine link ----------------------------------------------------------
    def engine_connected(self, now: float) -> list[Action]:
        """The engine (maybe restarted, without a key) first hears where its key stands."""
        self.engine_up = True
        out: list[Action] = self._key_news() + [ToEngine(self._central_status())]
        return out + self._health(self.health.connected(now))

    def engine_lost(self, now: float, reason: str) -> list[Action]:
        self.engine_up = False
        return self._health(self.health.lost(now, reason))

    def from_engine(self, now: float, message: m.Message) -> list[Action]:
        handler = FROM_ENGINE.handler(type(message))
        if handler is None:
            return [Dropped(message, "not expected from the engine")]
        return handler(self, now, message)

    @FROM_ENGINE.on(m.HealthReport)
    def _health_report(self, now: float, report: m.HealthReport) -> list[Action]:
        outputs = self.health.report(
            now,
            report.seq,
            report.status,
            state=report.state,
            session_id=report.session_id,
            driver_id=report.driver_id,
        )
        return self._health(outputs)

    @FROM_ENGINE.on(*TO_CENTRAL)
    def _to_central(self, now: float, message: m.Message) -> list[Action]:
        if self.central_up:
            return [ToCentral(message)]
        return [Dropped(message, "Central not connected")]

    @FROM_ENGINE.on(m.MeterReading)
    def _meter_reading(self, now: float, reading: m.MeterReading) -> list[Action]:
        """Only a monitor speaking OCPP asks for readings (edge.monitor.ocpp_core)."""
        return []

    @FROM_ENGINE.on(m.Refused)
    def _refused(self, now: float, refused: m.Refused) -> list[Action]:
        """The engine already has a monitor, or another CP id: it closes the link."""
        return [Dropped(refused, f"the engine refused this monitor: {refused.reason}")]

    # -- Central link ---------------------------------------------------------
    def central_connected(self, now: float, key: Key | None = None) -> list[Action]:
        """Central welcomed us with a new key: hand it to the engine and tell it Central
        is up, report health, start heartbeats."""
        self.central_up = True
        if key is not None:
            self.key, self.revoked = key, None
        out: list[Action] = [ToCentral(self._engine_status())]
        if self.engine_up:
            out += self._key_news()
            out.append(ToEngine(self._central_status()))
        self._next_heartbeat = now
        return out + self._heartbeat(now)

    def central_lost(self, now: float) -> list[Action]:
        if not self.central_up:
            return []
        self.central_up = False
        self._next_heartbeat = None
        return [ToEngine(self._central_status())] if self.engine_up else []

    def from_central(self, now: float, message: m.Message) -> list[Action]:
        handler = FROM_CENTRAL.handler(type(message))
        if handler is None:
            return [Dropped(message, "not expected from Central")]
        return handler(self, now, message)

    @FROM_CENTRAL.on(m.Command)
    def _command(self, now: float, command: m.Command) -> list[Action]:
        if command.cp_id != self.cp_id:
            reason = f"command for {command.cp_id} sent to {self.cp_id}"
            return [ToCentral(self._result(command, reason))]
        if self.engine_up:
            return [ToEngine(command)]
        return [ToCentral(self.unreachable(command))]

    @FROM_CENTRAL.on(m.RecordAck, m.SupplyDenied)
    def _to_engine(self, now: float, message: m.Message) -> list[Action]:
        if message.cp_id != self.cp_id:
            return [Dropped(message, f"meant for {message.cp_id}")]
        if self.engine_up:
            return [ToEngine(message)]
        return [Dropped(message, ENGINE_UNREACHABLE)]

    @FROM_CENTRAL.on(m.KeyRevoked)
    def _key_revoked(self, now: float, revoked: m.KeyRevoked) -> list[Action]:
        """Central revoked our key (the frame opened with it): the engine must stop
        sealing with it, and the link goes until a re-authentication."""
        if revoked.cp_id != self.cp_id:
            return [Dropped(revoked, f"meant for {revoked.cp_id}")]
        self.key, self.revoked = None, revoked
        news = [ToEngine(revoked)] if self.engine_up else []
        return [*news, KeyGone(revoked.reason)]

    def unreachable(self, command: m.Command) -> m.CommandResult:
        """Central's answer to a command the engine cannot get."""
        return self._result(command, ENGINE_UNREACHABLE)

    # -- time -----------------------------------------------------------------
    def tick(self, now: float) -> list[Action]:
        return self._health(self.health.tick(now)) + self._heartbeat(now)

    def deadline(self) -> float | None:
        times = [t for t in (self.health.deadline(), self._next_heartbeat) if t is not None]
        return min(times, default=None)

    # -- internals ------------------------------------------------------------
    def _health(self, outputs: list[Output]) -> list[Action]:
        return [action for output in outputs
                for action in FROM_TRACKER.handler(type(output))(self, output)]

    @FROM_TRACKER.on(SendCheck)
    def _send_check(self, check: SendCheck) -> list[Action]:
        return [ToEngine(m.HealthCheck(cp_id=self.cp_id, seq=check.seq))]

    @FROM_TRACKER.on(HealthChanged)
    def _health_changed(self, change: HealthChanged) -> list[Action]:
        out: list[Action] = [EngineHealth(change.engine, change.reason)]
        if self.central_up:
            out.append(ToCentral(self._engine_status()))
        return out

    def _heartbeat(self, now: float) -> list[Action]:
        if not self.central_up or self._next_heartbeat is None or now < self._next_heartbeat:
            return []
        self._next_heartbeat = now + self.heartbeat_interval
        health = self.health
        beat = m.Heartbeat(
            cp_id=self.cp_id,
            engine=health.health,
            state=health.state,
            session_id=health.session_id,
            driver_id=health.driver_id,
        )
        return [ToCentral(beat)]

    def _key_news(self) -> list[Action]:
        """What the engine must know of the key: the current one, or that it is revoked."""
        if self.key is not None:
            return [ToEngine(keys.issued(self.cp_id, self.key))]
        if self.revoked is not None:
            return [ToEngine(self.revoked)]
        return []

    def _engine_status(self) -> m.EngineStatus:
        health = self.health
        return m.EngineStatus(cp_id=self.cp_id, engine=health.health, reason=health.reason)

    def _central_status(self) -> m.CentralStatus:
        return m.CentralStatus(cp_id=self.cp_id, up=self.central_up, address=self.central_address)

    def _result(self, command: m.Command, reason: str) -> m.CommandResult:
        return m.CommandResult(cp_id=self.cp_id, ref=command.id, ok=False, reason=reason)
