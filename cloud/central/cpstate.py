"""A CP's displayed state, derived from the facts Central holds (ARCHITECTURE section 5).

Pure functions, time passed in.  Precedence top to bottom:
DISCONNECTED > BROKEN > STOPPED > SUPPLYING > AUTHORIZED > ACTIVATED.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

DISCONNECTED, BROKEN, STOPPED = "DISCONNECTED", "BROKEN", "STOPPED"
SUPPLYING, AUTHORIZED, ACTIVATED = "SUPPLYING", "AUTHORIZED", "ACTIVATED"
STATES = (DISCONNECTED, BROKEN, STOPPED, SUPPLYING, AUTHORIZED, ACTIVATED)
HEARTBEAT_TIMEOUT = 3.0


@dataclass(frozen=True)
class Facts:
    connected: bool = False  # an authenticated monitor link is up
    last_heartbeat: float | None = None  # monotonic time of the last heartbeat
    engine: str | None = None  # OK, KO or DOWN as the monitor last reported
    enabled: bool = True  # not stopped by an administrator
    session: str | None = None  # None, "authorized" or "supplying"


def derive_state(facts: Facts, now: float) -> str:
    if (
        not facts.connected
        or facts.last_heartbeat is None
        or now - facts.last_heartbeat > HEARTBEAT_TIMEOUT
    ):
        return DISCONNECTED
    if facts.engine != "OK":
        return BROKEN
    if not facts.enabled:
        return STOPPED
    if facts.session == "supplying":
        return SUPPLYING
    if facts.session == "authorized":
        return AUTHORIZED
    return ACTIVATED


def with_engine_state(facts: Facts, engine_state: str | None, authorized: bool) -> Facts:
    """Fold what the engine reports it is doing (and Central's pending authorization)."""
    session = engine_state if engine_state in ("authorized", "supplying") else None
    if session is None and authorized:
        session = "authorized"
    engine = "KO" if engine_state == "broken" and facts.engine == "OK" else facts.engine
    return replace(facts, engine=engine, session=session)


def view(
    cp_id: str, location: str, price: str, state: str, session_id: str | None,
    driver_id: str | None, started_at: str | None,
    live: tuple[str, str, str] | None = None, enabled: bool = True,
) -> dict[str, Any]:
    """A CP as the dashboard and the REST API show it (without ``updated_at``).

    ``live`` is the last telemetry of the supply under way: (kW, kWh, EUR).  ``enabled``
    is False from an administrator's stop to the resume, whatever the state shows (a
    stopped CP that is also disconnected or broken down shows that first)."""
    busy = state in (SUPPLYING, AUTHORIZED)
    kw, kwh, eur = live if live and state == SUPPLYING else (None, None, None)
    return {
        "id": cp_id, "location": location, "price_eur_kwh": price, "state": state,
        "driver_id": driver_id if busy else None, "kw": kw, "kwh": kwh, "eur": eur,
        "session_id": session_id if busy else None,
        "started_at": started_at if state == SUPPLYING else None,
        "enabled": bool(enabled),
    }


_REFUSALS = {
    DISCONNECTED: "disconnected",
    BROKEN: "broken",
    STOPPED: "stopped",
    SUPPLYING: "CP busy",
    AUTHORIZED: "CP busy",
}


def supply_refusal(state: str, driver_id: str | None, driver_known: bool) -> str | None:
    """Why a supply request must be denied, or None to authorize it."""
    if driver_id is not None and not driver_known:
        return "unknown driver"
    return _REFUSALS.get(state)
