"""Helpers for the driver-session model's tests: a model with predictable ids, and the
updates of one supply."""

from __future__ import annotations

import itertools

from driver_app.session import DriverSession
from protocol import driver as d

ME, CP, SID = "D1", "MAD-01", "S1"
T0 = "2030-01-01T10:00:00.000Z"


def model(memory=None) -> DriverSession:
    ids = (f"r{n}" for n in itertools.count(1))
    return DriverSession(ME, memory, new_id=lambda: next(ids), utc_now=lambda: T0)


def kinds(effects) -> list[str]:
    return [type(e).__name__ for e in effects]


def ticket(session_id=SID, **extra) -> d.Ticket:
    fields = dict(driver_id=ME, cp_id=CP, session_id=session_id, started_at=T0,
                  ended_at="2030-01-01T10:30:00.000Z", kwh="5.000", eur="1.75",
                  price_eur_kwh="0.35", reason="unplugged")
    return d.Ticket(**{**fields, **extra})


def ticket_dict(session_id=SID, **extra) -> dict:
    t = ticket(session_id, **extra)
    return {k: v for k, v in vars(t).items() if k not in ("id", "ts", "driver_id")}


def supply_updates(ref="r2", session_id=SID) -> list[d.DriverMessage]:
    return [
        d.Accepted(driver_id=ME, ref=ref, cp_id=CP, session_id=session_id),
        d.Authorized(driver_id=ME, cp_id=CP, session_id=session_id, expires_in_s=60),
        d.Plugged(driver_id=ME, cp_id=CP, session_id=session_id, started_at=T0,
                  price_eur_kwh="0.35"),
        d.Progress(driver_id=ME, cp_id=CP, session_id=session_id, kw="7.4", kwh="1.2",
                   eur="0.42"),
    ]


def started(memory=None) -> DriverSession:
    """A model whose start-up status request (r1) Central answered with nothing."""
    s = model(memory)
    s.start(0)
    s.receive(d.DriverStatus(driver_id=ME, ref="r1"), 0)
    return s


def supplying(at: float = 0, updates: int = 4) -> DriverSession:
    """Started, then charging at CP (at ``at``) with the first ``updates`` supply updates
    received a second later (all four: supplying)."""
    s = started()
    s.charge(CP, at)
    for update in supply_updates()[:updates]:
        s.receive(update, at + 1)
    return s
