"""Engine health from health checks and their answers: no I/O, no clock, no threads.

The shell calls :meth:`HealthTracker.connected`, :meth:`~HealthTracker.report`,
:meth:`~HealthTracker.lost` and :meth:`~HealthTracker.tick` with the current time and
carries out what they return: :class:`SendCheck` (send ``HealthCheck(seq)`` to the
engine) and :class:`HealthChanged` (exactly one per change of the health value).

Rules: a KO answer, or a check not answered within ``timeout``, is a fault (KO); the
engine link lost or not yet made is DOWN; an OK answer after either is a recovery.
An answer to a check that already timed out is stale and ignored.
"""

from __future__ import annotations

from dataclasses import dataclass

from protocol.states import EngineState, Health


@dataclass(frozen=True)
class SendCheck:
    seq: int


@dataclass(frozen=True)
class HealthChanged:
    engine: Health
    reason: str


Output = SendCheck | HealthChanged


PUSHED = 0  # the seq of a HealthReport the engine sends unasked


class HealthTracker:
    def __init__(self, *, interval: float = 1.0, timeout: float = 0.9) -> None:
        self.interval = interval
        self.timeout = timeout
        self.health = Health.DOWN
        self.reason = "not connected yet"
        self.state: EngineState | None = None
        self.session_id: str | None = None
        self.driver_id: str | None = None
        self._connected = False
        self._seq = 0
        self._unanswered: dict[int, float] = {}  # seq -> answer deadline
        self._next_check: float | None = None

    def connected(self, now: float) -> list[Output]:
        """The engine link is open: the first check goes out at once."""
        self._connected = True
        self._unanswered.clear()
        self._next_check = now
        return self.tick(now)

    def lost(self, now: float, reason: str) -> list[Output]:
        """The engine link closed or could not be made."""
        self._connected = False
        self._unanswered.clear()
        self._next_check = None
        self.state = self.session_id = self.driver_id = None
        return self._become(Health.DOWN, reason)

    def report(
        self,
        now: float,
        seq: int,
        status: Health,
        *,
        state: EngineState | None = None,
        session_id: str | None = None,
        driver_id: str | None = None,
    ) -> list[Output]:
        """The engine answered check ``seq`` with ``status`` OK or KO; seq 0 is a report
        the engine pushed unasked because its health or state changed."""
        if not self._connected or (seq != PUSHED and seq not in self._unanswered):
            return []
        for answered in [s for s in self._unanswered if s <= seq]:
            del self._unanswered[answered]
        self.state, self.session_id, self.driver_id = state, session_id, driver_id
        if status == Health.OK:
            return self._become(Health.OK, "answering health checks")
        return self._become(Health.KO, "engine reports a fault")

    def tick(self, now: float) -> list[Output]:
        """Time passes: checks time out and new ones fall due."""
        if not self._connected:
            return []
        out: list[Output] = []
        expired = [seq for seq, deadline in self._unanswered.items() if deadline <= now]
        if expired:
            for seq in expired:
                del self._unanswered[seq]
            out += self._become(Health.KO, f"no answer to a health check within {self.timeout:g} s")
        if self._next_check is not None and now >= self._next_check:
            self._seq += 1
            self._unanswered[self._seq] = now + self.timeout
            self._next_check = now + self.interval
            out.append(SendCheck(self._seq))
        return out

    def deadline(self) -> float | None:
        """When :meth:`tick` next has something to do."""
        times = list(self._unanswered.values())
        if self._next_check is not None:
            times.append(self._next_check)
        return min(times, default=None)

    def _become(self, health: Health, reason: str) -> list[Output]:
        if health == self.health:
            return []
        self.health, self.reason = health, reason
        return [HealthChanged(health, reason)]
