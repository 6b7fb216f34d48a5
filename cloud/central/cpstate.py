"""A CP's displayed state, derived from the facts Central holds (ARCHITECTURE section 5).

Pure functions, time passed in.  :data:`PRECEDENCE` is the one table that maps facts to
a :class:`~protocol.states.CpState`, first match wins: what each state means, how the
dashboard shows it and what the Pi's LEDs show.  ``derive_state`` reads it, the
dashboard takes its labels from it, and the README's "States" table is tested against
it.  A CP is stopped while it has at least one :class:`StopReason`; lifting one never
lifts another.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, NamedTuple

from protocol.states import CpState, EngineState, Health

HEARTBEAT_TIMEOUT = 3.0
STATES = tuple(CpState)


class StopReason(StrEnum):
    """Why a CP is out of service; each is set and lifted on its own."""

    ADMIN = "admin"
    WEATHER = "weather"
    KEY_REVOKED = "key revoked"


REASON_TEXT = {  # how the dashboard says it: "Out of order: stopped by admin"
    StopReason.ADMIN: "stopped by admin",
    StopReason.WEATHER: "weather alert",
    StopReason.KEY_REVOKED: "key revoked",
}


# Reasons that let a supply under way finish first: the CP takes no new supply and is
# STOPPED once it ends (a weather alert); the others end the supply at once.
AFTER_SUPPLY = frozenset({StopReason.WEATHER})


def stop_reasons(values: Iterable[str]) -> frozenset[StopReason]:
    """Stop reasons from their names; raises ValueError for an unknown one."""
    return frozenset(StopReason(value) for value in values)


def reasons_text(reasons: Iterable[StopReason]) -> str:
    """``stopped by admin, weather alert``, in the order of the reasons' names (as the
    view lists them)."""
    return ", ".join(REASON_TEXT[reason] for reason in sorted(reasons))


class Facts(NamedTuple):
    """What Central knows of a CP (a tuple: built on every heartbeat)."""

    connected: bool = False  # an authenticated monitor link is up
    last_heartbeat: float | None = None  # monotonic time of the last heartbeat
    engine: Health | None = None  # as the monitor last reported
    stop_reasons: frozenset[StopReason] = frozenset()  # none: in service
    session: EngineState | None = None  # None, AUTHORIZED or SUPPLYING
    heartbeats: bool = True  # alive while it beats (framed); False: while its link is open


def _disconnected(facts: Facts, now: float) -> bool:
    """No link; or, for a CP whose liveness is its heartbeats, none for 3 s.  An OCPP
    charger's liveness is its WebSocket (pinged by the server), not its Heartbeat.req,
    which comes every few minutes at most."""
    if not facts.connected:
        return True
    return facts.heartbeats and (facts.last_heartbeat is None
                                 or now - facts.last_heartbeat > HEARTBEAT_TIMEOUT)


def _stopped(facts: Facts) -> bool:
    """Out of service, unless every reason waits for the supply under way to end."""
    return bool(facts.stop_reasons) and not (
        facts.session == EngineState.SUPPLYING and facts.stop_reasons <= AFTER_SUPPLY)


@dataclass(frozen=True)
class Rule:
    """One row of the precedence table."""

    state: CpState
    when: str  # what the facts are, in the README's words
    dashboard: str  # how the tile looks
    label: str  # the tile's text
    leds: str  # the Pi's LEDs (default pattern)
    holds: Callable[[Facts, float], bool]


PRECEDENCE: tuple[Rule, ...] = (
    Rule(CpState.STOPPED, "its key revoked (until its monitor re-authenticates), even while "
         "disconnected or broken down", 'orange "Out of order: key revoked"', "Out of order",
         "amber blinking slowly (no link to Central)",
         lambda facts, now: StopReason.KEY_REVOKED in facts.stop_reasons),
    Rule(CpState.DISCONNECTED, "no monitor link, or no heartbeat for 3 s", "grey",
         "Disconnected", "amber blinking slowly", _disconnected),
    Rule(CpState.BROKEN, "engine KO (fault button) or not answering", 'red "Broken down"',
         "Broken down", "red", lambda facts, now: facts.engine != Health.OK),
    Rule(CpState.STOPPED, "a stop reason: stopped from the dashboard, a weather alert, a "
         "revoked key (each persists across restarts until lifted; a weather alert lets "
         "the supply under way finish first)",
         'orange "Out of order: stopped by admin" (or its other reasons)', "Out of order",
         "amber", lambda facts, now: _stopped(facts)),
    Rule(CpState.SUPPLYING, "energy flowing", "green + driver, start time", "Supplying",
         "blue", lambda facts, now: facts.session == EngineState.SUPPLYING),
    Rule(CpState.AUTHORIZED, "supply authorized, waiting for the vehicle",
         'green "Waiting for vehicle"', "Waiting for vehicle", "green blinking",
         lambda facts, now: facts.session == EngineState.AUTHORIZED),
    Rule(CpState.ACTIVATED, "available", "green", "Available", "green",
         lambda facts, now: True),
)
LABELS: dict[str, str] = {rule.state: rule.label for rule in PRECEDENCE}


_ORDER = tuple((rule.holds, rule.state) for rule in PRECEDENCE)


def derive_state(facts: Facts, now: float) -> CpState:
    """The state of the first rule of :data:`PRECEDENCE` that holds."""
    for holds, state in _ORDER:
        if holds(facts, now):
            return state
    raise AssertionError("the last rule always holds")  # pragma: no cover


_SESSIONS = {EngineState.AUTHORIZED: EngineState.AUTHORIZED,
             EngineState.SUPPLYING: EngineState.SUPPLYING}


def facts(connected: bool, last_heartbeat: float | None, engine: str | None,
          stop_reasons: frozenset[StopReason], engine_state: str | None,
          authorized: bool, heartbeats: bool = True) -> Facts:
    """The facts of a CP, folding in what its engine reports it is doing and Central's
    authorization waiting for the vehicle (a broken engine is a KO one)."""
    session = _SESSIONS.get(engine_state) or (EngineState.AUTHORIZED if authorized else None)
    if engine_state == EngineState.BROKEN and engine == Health.OK:
        engine = Health.KO
    return Facts(connected, last_heartbeat, engine, stop_reasons, session, heartbeats)


def view(
    cp_id: str, location: str, price: str, state: str, session_id: str | None,
    driver_id: str | None, started_at: str | None,
    live: tuple[str, str, str] | None = None, reasons: Iterable[StopReason] = (),
    credentials: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """A CP as the dashboard and the REST API show it (without ``updated_at``).

    ``live`` is the last telemetry of the supply under way: (kW, kWh, EUR).
    ``stop_reasons`` lists why it is stopped, whatever the state shows (a stopped CP that
    is also disconnected or broken down shows that first); empty while in service.
    ``credentials``: its registration and key state (registered and last authenticated
    at, key id and when it was issued, key problems), never a key or a secret."""
    busy = state in (CpState.SUPPLYING, CpState.AUTHORIZED)
    kw, kwh, eur = live if live and state == CpState.SUPPLYING else (None, None, None)
    return {
        "id": cp_id, "location": location, "price_eur_kwh": price, "state": state,
        "driver_id": driver_id if busy else None, "kw": kw, "kwh": kwh, "eur": eur,
        "session_id": session_id if busy else None,
        "started_at": started_at if state == CpState.SUPPLYING else None,
        "stop_reasons": sorted(reasons),
        **(credentials or {}),
    }


_REFUSALS = {
    CpState.DISCONNECTED: "disconnected",
    CpState.BROKEN: "broken",
    CpState.STOPPED: "stopped",
    CpState.SUPPLYING: "CP busy",
    CpState.AUTHORIZED: "CP busy",
}


def supply_refusal(state: str, driver_id: str | None, driver_known: bool) -> str | None:
    """Why a supply request must be denied, or None to authorize it."""
    if driver_id is not None and not driver_known:
        return "unknown driver"
    return _REFUSALS.get(state)
