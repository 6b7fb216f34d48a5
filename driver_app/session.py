"""The driver's view of its supplies: updates in, what to show and what to send out.

No I/O and no clock: every method takes ``now`` (monotonic seconds) and returns a list
of effects for the shell to carry out.  The model follows at most one supply (the one
it asked for, or the one Central reports as under way), answers every request it sends
by ``id`` (an update names it in ``ref``), retries a request Central has not answered
within :data:`RETRY_S` with the same id, and ignores duplicate updates, stale answers
and updates for other drivers.  :meth:`DriverSession.memory` is what survives a restart.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from protocol import driver as d
from protocol import messages as m

from .effects import (
    Ended,
    Notice,
    Remember,
    Retrying,
    Send,
    ShowHistory,
    ShowList,
    ShowProgress,
    ShowStatus,
    ShowTicket,
)

RETRY_S = 10.0  # a request not answered within this is sent again, same id
QUIET_S = 30.0  # supplying (progress every second) yet nothing heard: ask Central
SEEN = 2000  # update ids remembered to drop duplicates
ENDED = 50  # ended session ids remembered to drop late updates


# -- state -----------------------------------------------------------------------
@dataclass
class Following:
    cp_id: str
    phase: str  # requested | accepted | authorized | supplying
    request_id: str | None = None
    requested_at: str | None = None
    session_id: str | None = None
    started_at: str | None = None
    price_eur_kwh: str | None = None
    kw: str = "0"
    kwh: str = "0"
    eur: str = "0"


@dataclass
class Pending:
    message: d.DriverMessage
    purpose: str  # start | charge | stop | list | status | history | check
    sent_at: float
    delivered: bool | None = None


@dataclass
class _Bounded:
    limit: int
    order: deque = field(default_factory=deque)
    members: set = field(default_factory=set)

    def add(self, item: str) -> None:
        if item in self.members:
            return
        self.order.append(item)
        self.members.add(item)
        while len(self.order) > self.limit:
            self.members.discard(self.order.popleft())

    def __contains__(self, item: object) -> bool:
        return item in self.members


def decimal(value: object) -> Decimal:
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        return Decimal(0)
    return number if number.is_finite() else Decimal(0)


class DriverSession:
    def __init__(self, driver_id: str, memory: dict[str, Any] | None = None,
                 new_id: Callable[[], str] = m.new_id,
                 utc_now: Callable[[], str] = m.utc_now) -> None:
        self.driver_id = driver_id
        self._new_id, self._utc_now = new_id, utc_now
        self.following: Following | None = None
        self.pending: dict[str, Pending] = {}
        self.ready = False  # Central answered the first status request
        self._seen = _Bounded(SEEN)
        self._ended = _Bounded(ENDED)
        self._heard = 0.0
        memory = memory or {}
        if memory.get("following"):
            self.following = Following(**memory["following"])
        for session_id in memory.get("ended", []):
            self._ended.add(session_id)

    def memory(self) -> dict[str, Any]:
        return {"following": asdict(self.following) if self.following else None,
                "ended": list(self._ended.order)}

    def forget(self) -> None:
        """Drop what was remembered (it came from another network)."""
        self.following = None
        self._ended = _Bounded(ENDED)

    @property
    def busy(self) -> bool:
        """Following a service, or a charge request is on its way."""
        return self.following is not None or self._pending("charge") is not None

    # -- what the driver asks ------------------------------------------------------
    def start(self, now: float) -> list:
        return self._request(d.StatusRequest, "start", now)

    def charge(self, cp_id: str, now: float) -> list:
        if self.busy:
            where = self.following.cp_id if self.following else "a CP"
            return [Notice(f"a service at {where} is under way: stop it first (3)")]
        if not m.CP_ID.match(cp_id):
            return [Notice(f"{cp_id!r} is not a CP id")]
        effects = self._request(d.ChargeRequest, "charge", now, cp_id=cp_id)
        message = effects[0].message
        self.following = Following(cp_id, "requested", request_id=message.id,
                                   requested_at=message.ts)
        return [*effects, Remember()]

    def stop(self, now: float) -> list:
        if self.following is None:
            return [Notice("no supply of yours is under way (4 asks Central)")]
        return self._request(d.StopRequest, "stop", now, cp_id=self.following.cp_id)

    def list_cps(self, now: float) -> list:
        return self._request(d.ListRequest, "list", now)

    def status(self, now: float) -> list:
        return self._request(d.StatusRequest, "status", now)

    def history(self, now: float) -> list:
        return self._request(d.StatusRequest, "history", now)

    def _request(self, cls: type, purpose: str, now: float, **fields: Any) -> list:
        message = cls(driver_id=self.driver_id, id=self._new_id(), ts=self._utc_now(),
                      **fields)
        self.pending[message.id] = Pending(message, purpose, now)
        return [Send(message)]

    def _pending(self, purpose: str) -> Pending | None:
        return next((p for p in self.pending.values() if p.purpose == purpose), None)

    # -- time and delivery ---------------------------------------------------------
    def delivered(self, message_id: str, ok: bool, now: float) -> list:
        pending = self.pending.get(message_id)
        if pending is None:
            return []
        if ok:
            pending.delivered = True
            return []
        pending.sent_at, pending.delivered = now, None
        return [Retrying("kafka"), Send(pending.message, retry=True)]

    def tick(self, now: float) -> list:
        effects: list = []
        for pending in self.pending.values():
            if now - pending.sent_at < RETRY_S:
                continue
            pending.sent_at = now
            if pending.delivered is None:  # still in the producer's queue
                effects.append(Retrying("kafka"))
                continue
            pending.delivered = None
            effects += [Retrying("central"), Send(pending.message, retry=True)]
        quiet = now - self._heard >= QUIET_S and not self.pending
        if self.following is not None and self.following.phase == "supplying" and quiet:
            self._heard = now
            effects += self._request(d.StatusRequest, "check", now)
        return effects

    # -- what Central says -----------------------------------------------------------
    def receive(self, update: d.DriverMessage, now: float) -> list:
        if update.driver_id != self.driver_id or update.id in self._seen:
            return []
        self._seen.add(update.id)
        return getattr(self, f"_on_{update.TYPE}")(update, now)

    def _on_accepted(self, u: d.Accepted, now: float) -> list:
        self.pending.pop(u.ref, None)
        f = self.following
        if f is None or f.request_id != u.ref or f.session_id is not None:
            return []  # a repeated answer, or one to a request we no longer follow
        f.session_id, f.phase, f.cp_id = u.session_id, "accepted", u.cp_id
        self._heard = now
        return [Notice(f"accepted at {u.cp_id}, waiting for the CP"), Remember()]

    def _on_denied(self, u: d.Denied, now: float) -> list:
        pending = self.pending.pop(u.ref, None)
        f = self.following
        if f is not None and f.request_id == u.ref and f.session_id is None:
            self.following = None
            self._drop_pending("stop")
            return [Notice(f"denied at {f.cp_id}: {u.reason}"),
                    Ended(f.cp_id, "denied", u.reason), Remember()]
        if pending is None:
            return []
        if pending.purpose in ("start", "check"):
            self.ready = True
        return [Notice(f"{pending.message.TYPE.replace('_', ' ')} refused: {u.reason}")]

    def _on_authorized(self, u: d.Authorized, now: float) -> list:
        f = self._follow(u.cp_id, u.session_id, now)
        if f is None:
            return []
        f.phase = "authorized"
        return [Notice(f"authorized at {u.cp_id}: plug in within {u.expires_in_s} s"),
                Remember()]

    def _on_plugged(self, u: d.Plugged, now: float) -> list:
        f = self._follow(u.cp_id, u.session_id, now)
        if f is None:
            return []
        f.phase, f.started_at, f.price_eur_kwh = "supplying", u.started_at, u.price_eur_kwh
        return [Notice(f"supply started at {u.cp_id} ({u.price_eur_kwh} EUR/kWh)"),
                Remember()]

    def _on_progress(self, u: d.Progress, now: float) -> list:
        f = self._follow(u.cp_id, u.session_id, now)
        if f is None:
            return []
        changed = f.phase != "supplying"
        f.phase, f.kw, f.kwh, f.eur = "supplying", u.kw, u.kwh, u.eur
        show = ShowProgress(u.session_id, u.cp_id, u.kw, u.kwh, u.eur)
        return [show, Remember()] if changed else [show]

    def _on_ticket(self, u: d.Ticket, now: float) -> list:
        if u.session_id in self._ended:
            return []
        ticket = {k: v for k, v in asdict(u).items() if k not in ("id", "ts", "driver_id")}
        return self._end(ticket, late=False)

    def _on_cancelled(self, u: d.Cancelled, now: float) -> list:
        if u.session_id in self._ended:
            return []
        self._ended.add(u.session_id)
        effects: list = [Notice(f"cancelled at {u.cp_id}: {u.reason}")]
        f = self.following
        if f is not None and f.session_id == u.session_id:
            self.following = None
            self._drop_pending("stop")
            effects.append(Ended(u.cp_id, "cancelled", u.reason))
        return [*effects, Remember()]

    def _on_cp_list(self, u: d.CpList, now: float) -> list:
        return [ShowList(u.cps)] if self.pending.pop(u.ref, None) else []

    def _on_driver_status(self, u: d.DriverStatus, now: float) -> list:
        pending = self.pending.pop(u.ref, None)
        if pending is None:
            return []
        self.ready = True
        self._heard = now
        current = u.current if isinstance(u.current, dict) else None
        recent = [t for t in u.recent if isinstance(t, dict)]
        effects = self._reconcile(current, recent, now)
        if pending.purpose in ("start", "status"):
            effects.insert(0, ShowStatus(current, recent))
        elif pending.purpose == "history":
            effects.insert(0, ShowHistory(recent))
        return effects

    # -- helpers -----------------------------------------------------------------------
    def _follow(self, cp_id: str, session_id: str, now: float) -> Following | None:
        """The followed session this update is about (adopting one if none); None to drop."""
        if session_id in self._ended:
            return None
        f = self.following
        if f is None:
            f = self.following = Following(cp_id, "accepted", session_id=session_id)
        elif f.session_id is None and f.cp_id == cp_id:
            f.session_id = session_id  # the Accepted went missing
        elif f.session_id != session_id:
            return None
        self._heard = now
        return f

    def _end(self, ticket: dict[str, Any], late: bool) -> list:
        session_id = str(ticket.get("session_id", ""))
        self._ended.add(session_id)
        effects: list = [ShowTicket(ticket, late)]
        f = self.following
        if f is not None and f.session_id == session_id:
            self.following = None
            self._drop_pending("stop")
            reason = str(ticket.get("reason", ""))
            effects.append(Ended(f.cp_id, "ticket", reason, decimal(ticket.get("kwh")),
                                 decimal(ticket.get("eur"))))
        return [*effects, Remember()]

    def _drop_pending(self, purpose: str) -> None:
        for key in [k for k, p in self.pending.items() if p.purpose == purpose]:
            del self.pending[key]

    def _reconcile(self, current: dict | None, recent: list[dict], now: float) -> list:
        """Central's snapshot is the truth: settle the followed session against it."""
        f = self.following
        session_id = current.get("session_id") if current else None
        effects: list = []
        if f is not None and (session_id is None or f.session_id != session_id):
            if f.session_id is None and self._pending("charge") is not None:
                return []  # our charge request is still on its way
            effects += self._settle(f, recent)
        if isinstance(session_id, str) and session_id not in self._ended:
            before = self.following
            f = self._follow(str(current.get("cp_id", "")), session_id, now)
            if f is not None:
                state = str(current.get("status") or current.get("state") or "").lower()
                f.phase = "authorized" if state == "authorized" else "supplying"
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
        self.following = None
        self._drop_pending("stop")
        reason = "ended while the app was away, without a supply"
        return [Notice(f"your service at {f.cp_id} {reason}"),
                Ended(f.cp_id, "cancelled", reason), Remember()]
