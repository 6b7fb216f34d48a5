"""The driver's view of its supplies: updates in, what to show and what to send out.

No I/O and no clock: every method takes ``now`` (monotonic seconds) and returns a list
of effects for the shell to carry out.  The model follows at most one supply (the one
it asked for, or the one Central reports as under way), answers every request it sends
by ``id`` (an update names it in ``ref``), retries a request Central has not answered
(:mod:`driver_app.outstanding`), and ignores duplicate updates, stale answers and
updates for other drivers.  Each update type has one handler, in :data:`UPDATES`.
:meth:`DriverSession.memory` is what survives a restart.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict
from typing import Any

from protocol import driver as d
from protocol import messages as m
from protocol.states import DriverPhase, SessionStatus
from runtime.routing import Routes

from .effects import (
    Ended,
    Notice,
    Outcome,
    Remember,
    ShowHistory,
    ShowList,
    ShowProgress,
    ShowStatus,
    ShowTicket,
)
from .following import Bounded, Following, decimal
from .outstanding import OutstandingRequests, Purpose

QUIET_S = 30.0  # supplying (progress every second) yet nothing heard: ask Central
SEEN = 2000  # update ids remembered to drop duplicates
ENDED = 50  # ended session ids remembered to drop late updates
AWAY = "ended while the app was away, without a supply"


UPDATES = Routes("driver update")  # one handler per update type (protocol.driver)


class DriverSession:
    def __init__(self, driver_id: str, memory: dict[str, Any] | None = None,
                 new_id: Callable[[], str] = m.new_id,
                 utc_now: Callable[[], str] = m.utc_now) -> None:
        self.driver_id = driver_id
        self._new_id, self._utc_now = new_id, utc_now
        self.outstanding = OutstandingRequests()
        self.ready = False  # Central answered the first status request
        self._seen = Bounded(SEEN)
        self._ended = Bounded(ENDED)
        self._heard = 0.0
        memory = memory if isinstance(memory, dict) else {}
        self.following = Following.restore(memory.get("following"))
        ended = memory.get("ended")
        for session_id in ended if isinstance(ended, list) else []:
            self._ended.add(str(session_id))

    def memory(self) -> dict[str, Any]:
        return {"following": asdict(self.following) if self.following else None,
                "ended": list(self._ended.order)}

    def forget(self) -> None:
        """Drop what was remembered (it came from another network)."""
        self.following = None
        self._ended = Bounded(ENDED)

    @property
    def busy(self) -> bool:
        """Following a supply, or a charge request is on its way."""
        return self.following is not None or self.outstanding.of(Purpose.CHARGE) is not None

    # -- what the driver asks ------------------------------------------------------
    def start(self, now: float) -> list:
        return self._request(d.StatusRequest, Purpose.START, now)

    def charge(self, cp_id: str, now: float) -> list:
        if self.busy:
            where = self.following.cp_id if self.following else "a CP"
            return [Notice(f"a supply at {where} is under way: stop it first (3)")]
        if not m.CP_ID.match(cp_id):
            return [Notice(f"{cp_id!r} is not a CP id")]
        effects = self._request(d.ChargeRequest, Purpose.CHARGE, now, cp_id=cp_id)
        message = effects[0].message
        self.following = Following(cp_id, DriverPhase.REQUESTED, request_id=message.id,
                                   requested_at=message.ts)
        return [*effects, Remember()]

    def stop(self, now: float) -> list:
        if self.following is None:
            return [Notice("no supply of yours is under way (4 asks Central)")]
        return self._request(d.StopRequest, Purpose.STOP, now, cp_id=self.following.cp_id)

    def list_cps(self, now: float) -> list:
        return self._request(d.ListRequest, Purpose.LIST, now)

    def status(self, now: float) -> list:
        return self._request(d.StatusRequest, Purpose.STATUS, now)

    def history(self, now: float) -> list:
        return self._request(d.StatusRequest, Purpose.HISTORY, now)

    def _request(self, cls: type, purpose: Purpose, now: float, **fields: Any) -> list:
        message = cls(driver_id=self.driver_id, id=self._new_id(), ts=self._utc_now(),
                      **fields)
        return self.outstanding.add(message, purpose, now)

    # -- time and delivery ---------------------------------------------------------
    def delivered(self, message_id: str, ok: bool, now: float) -> list:
        return self.outstanding.delivered(message_id, ok, now)

    def tick(self, now: float) -> list:
        effects = self.outstanding.due(now)
        quiet = now - self._heard >= QUIET_S and not self.outstanding
        f = self.following
        if f is not None and f.phase == DriverPhase.SUPPLYING and quiet:
            self._heard = now
            effects += self._request(d.StatusRequest, Purpose.CHECK, now)
        return effects

    # -- what Central says -----------------------------------------------------------
    def receive(self, update: d.DriverMessage, now: float) -> list:
        if update.driver_id != self.driver_id or update.id in self._seen:
            return []
        self._seen.add(update.id)
        return UPDATES.handler(type(update))(self, update, now)

    @UPDATES.on(d.Accepted)
    def _on_accepted(self, u: d.Accepted, now: float) -> list:
        self.outstanding.answered(u.ref)
        f = self.following
        if f is None or f.request_id != u.ref or f.session_id is not None:
            return []  # a repeated answer, or one to a request we no longer follow
        f.session_id, f.phase, f.cp_id = u.session_id, DriverPhase.ACCEPTED, u.cp_id
        self._heard = now
        return [Notice(f"accepted at {u.cp_id}, waiting for the CP"), Remember()]

    @UPDATES.on(d.Denied)
    def _on_denied(self, u: d.Denied, now: float) -> list:
        request = self.outstanding.answered(u.ref)
        f = self.following
        if f is not None and f.request_id == u.ref and f.session_id is None:
            self._unfollow()
            return [Notice(f"denied at {f.cp_id}: {u.reason}"),
                    Ended(f.cp_id, Outcome.DENIED, u.reason), Remember()]
        if request is None:
            return []
        if request.purpose in (Purpose.START, Purpose.CHECK):
            self.ready = True
        return [Notice(f"{request.message.TYPE.replace('_', ' ')} refused: {u.reason}")]

    @UPDATES.on(d.Authorized)
    def _on_authorized(self, u: d.Authorized, now: float) -> list:
        f = self._follow(u.cp_id, u.session_id, now)
        if f is None:
            return []
        f.phase = DriverPhase.AUTHORIZED
        return [Notice(f"authorized at {u.cp_id}: plug in within {u.expires_in_s} s"),
                Remember()]

    @UPDATES.on(d.Plugged)
    def _on_plugged(self, u: d.Plugged, now: float) -> list:
        f = self._follow(u.cp_id, u.session_id, now)
        if f is None:
            return []
        f.phase, f.started_at = DriverPhase.SUPPLYING, u.started_at
        f.price_eur_kwh = u.price_eur_kwh
        return [Notice(f"supply started at {u.cp_id} ({u.price_eur_kwh} EUR/kWh)"),
                Remember()]

    @UPDATES.on(d.Progress)
    def _on_progress(self, u: d.Progress, now: float) -> list:
        f = self._follow(u.cp_id, u.session_id, now)
        if f is None:
            return []
        changed = f.phase != DriverPhase.SUPPLYING
        f.phase, f.kw, f.kwh, f.eur = DriverPhase.SUPPLYING, u.kw, u.kwh, u.eur
        show = ShowProgress(u.session_id, u.cp_id, u.kw, u.kwh, u.eur)
        return [show, Remember()] if changed else [show]

    @UPDATES.on(d.Ticket)
    def _on_ticket(self, u: d.Ticket, now: float) -> list:
        if u.session_id in self._ended:
            return []
        ticket = {k: v for k, v in asdict(u).items() if k not in ("id", "ts", "driver_id")}
        return self._end(ticket, late=False)

    @UPDATES.on(d.Cancelled)
    def _on_cancelled(self, u: d.Cancelled, now: float) -> list:
        if u.session_id in self._ended:
            return []
        self._ended.add(u.session_id)
        effects: list = [Notice(f"cancelled at {u.cp_id}: {u.reason}")]
        f = self.following
        if f is not None and f.session_id == u.session_id:
            self._unfollow()
            effects.append(Ended(u.cp_id, Outcome.CANCELLED, u.reason))
        return [*effects, Remember()]

    @UPDATES.on(d.CpList)
    def _on_cp_list(self, u: d.CpList, now: float) -> list:
        return [ShowList(u.cps)] if self.outstanding.answered(u.ref) else []

    @UPDATES.on(d.DriverStatus)
    def _on_driver_status(self, u: d.DriverStatus, now: float) -> list:
        request = self.outstanding.answered(u.ref)
        if request is None:
            return []
        self.ready = True
        self._heard = now
        current = u.current if isinstance(u.current, dict) else None
        recent = [t for t in u.recent if isinstance(t, dict)]
        effects = self._reconcile(current, recent, now)
        if request.purpose in (Purpose.START, Purpose.STATUS):
            effects.insert(0, ShowStatus(current, recent))
        elif request.purpose == Purpose.HISTORY:
            effects.insert(0, ShowHistory(recent))
        return effects

    # -- helpers -----------------------------------------------------------------------
    def _follow(self, cp_id: str, session_id: str, now: float) -> Following | None:
        """The followed session this update is about (adopting one if none); None to drop."""
        if session_id in self._ended:
            return None
        f = self.following
        if f is None:
            f = self.following = Following(cp_id, DriverPhase.ACCEPTED, session_id=session_id)
        elif f.session_id is None and f.cp_id == cp_id:
            f.session_id = session_id  # the Accepted went missing
        elif f.session_id != session_id:
            return None
        self._heard = now
        return f

    def _unfollow(self) -> None:
        """The followed supply is over: so is any stop request sent for it."""
        self.following = None
        self.outstanding.drop(Purpose.STOP)

    def _end(self, ticket: dict[str, Any], late: bool) -> list:
        session_id = str(ticket.get("session_id", ""))
        self._ended.add(session_id)
        effects: list = [ShowTicket(ticket, late)]
        f = self.following
        if f is not None and f.session_id == session_id:
            self._unfollow()
            reason = str(ticket.get("reason", ""))
            effects.append(Ended(f.cp_id, Outcome.TICKET, reason, decimal(ticket.get("kwh")),
                                 decimal(ticket.get("eur"))))
        return [*effects, Remember()]

    def _reconcile(self, current: dict | None, recent: list[dict], now: float) -> list:
        """Central's snapshot is the truth: settle the followed session against it."""
        f = self.following
        session_id = current.get("session_id") if current else None
        effects: list = []
        if f is not None and (session_id is None or f.session_id != session_id):
            if f.session_id is None and self.outstanding.of(Purpose.CHARGE) is not None:
                return []  # our charge request is still on its way
            effects += self._settle(f, recent)
        if isinstance(session_id, str) and session_id not in self._ended:
            before = self.following
            f = self._follow(str(current.get("cp_id", "")), session_id, now)
            if f is not None:
                status = str(current.get("status") or current.get("state") or "").lower()
                f.phase = DriverPhase.AUTHORIZED if status == SessionStatus.AUTHORIZED \
                    else DriverPhase.SUPPLYING
                for name in ("started_at", "price_eur_kwh", "kw", "kwh", "eur"):
                    if current.get(name) is not None:
                        setattr(f, name, str(current[name]))
                if before is None:
                    effects.append(Notice(f"following your supply at {f.cp_id}"))
                effects.append(Remember())
        return effects

    def _settle(self, f: Following, recent: list[dict]) -> list:
        """The followed session is no longer under way: show how it ended."""
        for ticket in recent:
            if f.session_id is not None and ticket.get("session_id") == f.session_id:
                return self._end(ticket, late=True)
            if (f.session_id is None and ticket.get("cp_id") == f.cp_id and f.requested_at
                    and str(ticket.get("started_at", "")) >= f.requested_at):
                f.session_id = str(ticket.get("session_id"))
                return self._end(ticket, late=True)
        self._unfollow()
        return [Notice(f"your request at {f.cp_id} {AWAY}"),
                Ended(f.cp_id, Outcome.CANCELLED, AWAY), Remember()]


"""Each update type the session can get (:data:`protocol.driver.UPDATE_TYPES`) and its
handler."""
