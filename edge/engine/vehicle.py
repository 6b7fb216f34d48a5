"""The unattended vehicle of ``--vehicle-sim SECONDS``: when to plug in and when to unplug.

Pure: the engine's tick passes the time and what the charging point is doing, and gets
back ``"plug"``, ``"unplug"`` or None; the shell presses the plug button for it.

- authorized and not plugged: plug in ``plug_after_s`` (1 s) after the authorization;
- supplying: unplug ``supply_s`` after the supply started;
- plugged while neither (the supply ended otherwise: fault, stop, driver stop,
  monitor lost): unplug at once, so the next authorization finds a clean plug.
"""

from __future__ import annotations

from dataclasses import dataclass

from protocol.states import EngineState

PLUG_AFTER_S = 1.0


@dataclass
class Vehicle:
    supply_s: float
    plug_after_s: float = PLUG_AFTER_S
    _authorized: tuple[str | None, float] | None = None  # (session, first seen)
    _supplying: tuple[str | None, float] | None = None

    def step(
        self, now: float, state: EngineState, plugged: bool, session_id: str | None
    ) -> str | None:
        if state == EngineState.AUTHORIZED and not plugged:
            self._supplying = None
            self._authorized = _since(self._authorized, session_id, now)
            if now - self._authorized[1] >= self.plug_after_s:
                self._authorized = None
                return "plug"
            return None
        self._authorized = None
        if state == EngineState.SUPPLYING:
            self._supplying = _since(self._supplying, session_id, now)
            if plugged and now - self._supplying[1] >= self.supply_s:
                return "unplug"
            return None
        self._supplying = None
        return "unplug" if plugged else None


def _since(
    seen: tuple[str | None, float] | None, session_id: str | None, now: float
) -> tuple[str | None, float]:
    """When ``session_id`` was first seen (now, if it is new)."""
    if seen is None or seen[0] != session_id:
        return (session_id, now)
    return seen
