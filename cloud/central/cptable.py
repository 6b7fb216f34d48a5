"""The CP table's rows and the authorizations under way: plain data, no I/O.

:class:`CpRecord` is what Central knows of one CP (the facts behind its state and its
view), :class:`Authorization` a driver's go-ahead waiting for the vehicle, and
:class:`Moment` one reading of both clocks, passed into the core.  :func:`refresh`
derives a CP's state and view from its facts.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from cloud.central import cpstate
from cloud.central.cpstate import StopReason
from protocol.states import CpState, EngineState, Health


class Moment:
    """A monotonic reading for durations and the wall clock (ISO-8601 UTC) for records;
    the wall clock is read once, and only if the core needs it (a heartbeat that changes
    nothing does not)."""

    __slots__ = ("mono", "_wallclock", "_wall")

    def __init__(self, mono: float, wallclock: Callable[[], str]) -> None:
        self.mono = mono
        self._wallclock = wallclock
        self._wall: str | None = None

    @property
    def wall(self) -> str:
        if self._wall is None:
            self._wall = self._wallclock()
        return self._wall


@dataclass
class CpRecord:
    id: str
    location: str
    price: str
    stop_reasons: frozenset[StopReason] = frozenset()
    state: CpState = CpState.DISCONNECTED
    updated_at: str = ""
    connected: bool = False
    heartbeats: bool = True  # its liveness is its heartbeats (framed), else its link (OCPP)
    last_heartbeat: float | None = None
    engine: Health | None = None
    engine_state: EngineState | None = None
    session_id: str | None = None
    driver_id: str | None = None
    started_at: str | None = None
    ended_session: str | None = None  # so a stale heartbeat cannot revive it
    resume_sent: bool = False
    stop_after_supply: str | None = None  # a stop's text, sent once the supply ends
    live: tuple[str, str, str, str] | None = None  # session_id, kW, kWh, EUR (telemetry)
    registered_at: str | None = None
    last_auth_at: str | None = None
    key_id: str | None = None  # its current key's (never the key)
    key_issued_at: str | None = None
    key_problems: int = 0  # messages that did not open, since Central started
    key_problem: dict[str, str] | None = None  # the last one: {"reason", "at"}
    view: dict[str, Any] = field(default_factory=dict)

    def credentials(self) -> dict[str, Any]:
        """Its registration and key state, as the view shows them."""
        return {"registered_at": self.registered_at, "last_auth_at": self.last_auth_at,
                "key_id": self.key_id, "key_issued_at": self.key_issued_at,
                "key_problems": self.key_problems, "key_problem": self.key_problem}

    def lose_engine(self) -> None:
        """What a new or lost monitor link forgets."""
        self.last_heartbeat = self.engine = self.engine_state = None


@dataclass
class Authorization:
    """Central's go-ahead for a session at a CP, until the vehicle plugs in."""

    session_id: str
    cp_id: str
    driver_id: str | None
    source: str
    since: str
    deadline: float

    def as_request(self) -> dict[str, Any]:
        return {"session_id": self.session_id, "cp_id": self.cp_id,
                "driver_id": self.driver_id, "source": self.source, "since": self.since}


def refresh(cp: CpRecord, authorization: Authorization | None, now: Moment) -> bool:
    """Derive ``cp``'s state and view; True if the view changed (``updated_at`` is then
    now)."""
    facts = cpstate.facts(cp.connected, cp.last_heartbeat, cp.engine, cp.stop_reasons,
                          cp.engine_state, authorization is not None, cp.heartbeats)
    cp.state = cpstate.derive_state(facts, now.mono)
    session = (cp.session_id, cp.driver_id)
    if cp.session_id is None and authorization is not None:
        session = (authorization.session_id, authorization.driver_id)
    live = cp.live[1:] if cp.live and cp.live[0] == session[0] else None
    view = cpstate.view(cp.id, cp.location, cp.price, cp.state, *session, cp.started_at,
                        live, cp.stop_reasons, cp.credentials())
    if view == {k: v for k, v in cp.view.items() if k != "updated_at"}:
        return False
    cp.updated_at = now.wall
    cp.view = {**view, "updated_at": cp.updated_at}
    return True
