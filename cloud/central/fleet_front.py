"""The Fleet's public front: what the dashboard and the API show of the whole network.

One CP or every CP, authorization requests, sessions and their totals, drivers, the
dashboard's messages and the fleet's power over the last hour; the drivers' board (a
page of drivers, each with its supply under way and where, and its last ticket), the
network's errors (a view over the audit trail and the problems going on now:
:mod:`cloud.central.network_errors`), a page of CPs filtered by text and state, and the
fleet's summary (how many CPs, how many in each state), so a dashboard over 10,000 CPs
fetches one page and the counts, never every CP.  A mixin of
:class:`cloud.central.fleet.Fleet` (its lock, store, core, hub and clocks).
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from cloud.central import network_errors, session_report
from cloud.central.events import Failure
from protocol import messages as m
from protocol.states import CpState

TICKET = ("session_id", "cp_id", "started_at", "ended_at", "kwh", "eur", "reason")


def cp_matches(view: dict[str, Any], text: str = "", state: str | None = None) -> bool:
    """A CP's view matches a filter: ``text`` in its id or location (case folded), and
    its state ``state`` (any when None)."""
    if state is not None and view["state"] != state:
        return False
    if not text:
        return True
    text = text.casefold()
    return text in view["id"].casefold() or text in str(view.get("location") or "").casefold()


def board_row(driver: dict[str, Any], under_way: dict[str, Any] | None,
              ticket: dict[str, Any] | None) -> dict[str, Any]:
    """One driver on the board: its row, ``session`` (under way: where, or None) and
    ``last_ticket`` (its last ended session, or None)."""
    last = None
    if ticket is not None:
        last = {name: ticket.get("id" if name == "session_id" else name) for name in TICKET}
    return {**driver, "session": under_way, "last_ticket": last}


class FrontDesk:
    """Mixed into Fleet; uses its ``_lock``, ``_core``, ``_hub``, ``store``, ``events``
    and ``wallclock``."""

    # -- one CP, every CP, sessions, drivers, messages, power -------------------------
    def cps(self, offset: int = 0, limit: int | None = None) -> list[dict[str, Any]]:
        """CPs by id: ``limit`` of them (all when None) from ``offset``."""
        with self._lock:
            return self._core.views(offset, limit)

    def cp_count(self) -> int:
        return len(self._core.cps)

    def cp(self, cp_id: str) -> dict[str, Any] | None:
        with self._lock:
            return self._core.view(cp_id)

    def requests(self) -> list[dict[str, Any]]:
        with self._lock:
            return self._core.requests()

    def driver_session(self, driver_id: str) -> dict[str, Any] | None:
        with self._lock:
            return self._core.driver_session(driver_id)

    def sessions(self, cp_id: str | None = None, driver_id: str | None = None,
                 day: str | None = None, limit: int | None = 1000, offset: int = 0,
                 status: str | None = None) -> list[dict]:
        return self.store.sessions(cp_id=cp_id, driver_id=driver_id, day=day, limit=limit,
                                   offset=offset, status=status)

    def session_totals(self, cp_id: str | None = None, driver_id: str | None = None,
                       day: str | None = None, status: str | None = None
                       ) -> session_report.Totals:
        """Count, kWh and EUR of every session the filter selects (exact, unpaged)."""
        return session_report.totals(self.store.session_amounts(cp_id, driver_id, day, status))

    def drivers(self) -> list[dict[str, Any]]:
        return self.store.drivers()

    def messages(self, limit: int = 50) -> list[dict[str, Any]]:
        with self._lock:
            return self._hub.messages(limit)

    def power(self, now: float | None = None) -> dict[str, Any]:
        """The fleet's total kW over the last hour: ``{span, step, now, points}``."""
        with self._lock:
            return self._hub.power(self._epoch() if now is None else now)

    def sample_power(self, now: float | None = None) -> None:
        """Called often (the CP server's sweep): one sample every few seconds."""
        with self._lock:
            views = (cp.view for cp in self._core.cps.values())
            self._hub.sample_power(self._epoch() if now is None else now, views)

    def _epoch(self) -> float:
        return m.parse_ts(self.wallclock()).timestamp()

    # -- charging points, a page at a time ------------------------------------------------
    def cp_page(self, offset: int = 0, limit: int | None = None, text: str = "",
                state: str | None = None) -> tuple[list[dict[str, Any]], int]:
        """CPs by id matching the filter: ``limit`` of them from ``offset``, and how many
        match in all."""
        with self._lock:
            if not text and state is None:
                return self._core.views(offset, limit), len(self._core.cps)
            ids = self._core.matching(lambda view: cp_matches(view, text, state))
            end = None if limit is None else offset + limit
            return [self._core.view(cp_id) for cp_id in ids[offset:end]], len(ids)

    def summary(self) -> dict[str, Any]:
        """``{cps, states: {STATE: count}}`` over every CP (each state, 0 included)."""
        with self._lock:
            counts = Counter(cp.state for cp in self._core.cps.values())
            return {"cps": len(self._core.cps),
                    "states": {str(state): counts[state] for state in CpState}}

    # -- drivers ---------------------------------------------------------------------------
    def driver_board(self, offset: int = 0,
                     limit: int | None = None) -> tuple[list[dict[str, Any]], int]:
        """Drivers by id, ``limit`` of them from ``offset``, each with its supply under
        way and its last ticket; and how many drivers there are."""
        drivers = self.store.driver_page(limit, offset)
        return self._on_board(drivers), self.store.driver_count()

    def driver_on_board(self, driver: dict[str, Any]) -> dict[str, Any]:
        return self._on_board([driver])[0]

    def _on_board(self, drivers: list[dict[str, Any]]) -> list[dict[str, Any]]:
        tickets = self.store.last_tickets([row["id"] for row in drivers])
        with self._lock:
            under_way = self._core.sessions_by_driver()
        return [board_row(row, under_way.get(row["id"]), tickets.get(row["id"]))
                for row in drivers]

    # -- errors ------------------------------------------------------------------------------
    def errors(self, since: str | None = None, limit: int = 50,
               offset: int = 0) -> tuple[dict[str, Any], int]:
        """``{ongoing, errors}``: what is wrong now, and a page of the errors recorded
        (newest first, since ``since``); and how many errors were recorded in all."""
        rows, total = self.store.error_page(since, limit, offset)
        with self._lock:
            broken = [cp.id for cp in self._core.cps.values() if cp.state == CpState.BROKEN]
            now = m.parse_ts(self.wallclock())
            ongoing = network_errors.ongoing(now, self._weather, self._hub.kafka(), broken)
        return {"ongoing": ongoing, "errors": rows}, total

    def _weather_problems(self, before: dict[str, Any] | None,
                          after: dict[str, Any]) -> None:
        """The weather office reports a problem it did not have: one audit record (an
        ``error`` from the ``weather office``), which the Errors panel shows."""
        status = before.get("status") if before else None
        for problem in network_errors.new_weather_problems(status, after.get("status")):
            self.events.emit(Failure(network_errors.WEATHER_OFFICE, f"weather: {problem}"))
