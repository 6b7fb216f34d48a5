"""What Central tells drivers: pure decisions, no I/O (tested with tables).

A driver's supply, as :mod:`protocol.driver` describes it::

    ChargeRequest -> Accepted | Denied(reason)         (answer_charge)
    authorize acknowledged by the CP -> Authorized       (update_for, AUTHORIZED)
    supply started (either plane) -> Plugged             (update_for, STARTED)
    telemetry -> Progress                                (update_for, PROGRESS)
    supply ended -> Ticket                               (update_for, ENDED)
    expired / refused / CP lost before plug -> Cancelled (update_for, CANCELLED)
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

from cloud.central.core import Denial
from cloud.central.core_table import AUTHORIZATION_TIMEOUT
from cloud.central.cptable import Authorization
from cloud.central.events import SessionEvent, Step
from protocol import driver as d
from protocol.states import CpState, SessionStatus

NOT_INTERRUPTED = ("unplugged", "stopped by driver")
NO_SUPPLY = "no supply under way"
RECENT = 5


def interrupted(reason: str) -> bool:
    """A supply that ended for any reason but the driver's own is an interrupted one."""
    return reason not in NOT_INTERRUPTED


def answer_charge(request: d.ChargeRequest,
                  outcome: Authorization | Denial) -> d.DriverMessage:
    """Fleet.charge's outcome (an authorization or a denial) as the driver's answer."""
    if isinstance(outcome, Denial):
        return d.Denied(driver_id=request.driver_id, ref=request.id, reason=outcome.reason,
                        cp_id=request.cp_id)
    return d.Accepted(driver_id=request.driver_id, ref=request.id, cp_id=request.cp_id,
                      session_id=outcome.session_id)


def update_for(event: SessionEvent) -> d.DriverMessage | None:
    """The update a session event means for its driver (None: nobody to tell)."""
    if event.driver_id is None:
        return None
    who = {"driver_id": event.driver_id, "cp_id": event.cp_id, "session_id": event.session_id}
    record = event.record
    if event.kind == Step.AUTHORIZED:
        return d.Authorized(**who, expires_in_s=int(AUTHORIZATION_TIMEOUT))
    if event.kind == Step.CANCELLED:
        return d.Cancelled(**who, reason=event.reason)
    if event.kind == Step.STARTED:
        return d.Plugged(**who, started_at=record.started_at,
                         price_eur_kwh=record.price_eur_kwh)
    if event.kind == Step.PROGRESS:
        return d.Progress(**who, kw=record.kw, kwh=record.kwh, eur=record.eur)
    if event.kind == Step.ENDED:
        return d.Ticket(**who, started_at=record.started_at, ended_at=record.ended_at,
                        kwh=record.kwh, eur=record.eur, price_eur_kwh=record.price_eur_kwh,
                        reason=record.reason, interrupted=interrupted(record.reason))
    return None


def stop_refusal(session: dict[str, Any] | None, cp_id: str | None) -> str | None:
    """Why a StopRequest cannot be served, or None to stop ``session``."""
    if session is None or (cp_id is not None and session["cp_id"] != cp_id):
        return NO_SUPPLY
    return None


def cp_list(views: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The CPs a driver may ask for: the ACTIVATED ones."""
    keys = ("id", "location", "price_eur_kwh", "state")
    return [{k: cp[k] for k in keys} for cp in views if cp["state"] == CpState.ACTIVATED]


def ticket_dict(row: dict[str, Any]) -> dict[str, Any]:
    """A stored, ended session as the fields of its Ticket."""
    reason = row.get("reason") or ""
    return {"driver_id": row["driver_id"], "cp_id": row["cp_id"], "session_id": row["id"],
            "started_at": row["started_at"], "ended_at": row["ended_at"], "kwh": row["kwh"],
            "eur": row["eur"], "price_eur_kwh": row["price_eur_kwh"], "reason": reason,
            "interrupted": interrupted(reason)}


def recent_tickets(rows: list[dict[str, Any]], limit: int = RECENT) -> list[dict[str, Any]]:
    """The last ``limit`` ended sessions (rows newest first, as the store lists them)."""
    return [ticket_dict(row) for row in rows if row["status"] == SessionStatus.ENDED][:limit]


class SeenIds:
    """The last ``size`` message ids handled: a redelivered message is skipped."""

    def __init__(self, size: int = 50000) -> None:
        self.size = size
        self._ids: OrderedDict[str, None] = OrderedDict()

    def __contains__(self, message_id: str) -> bool:
        return message_id in self._ids

    def add(self, message_id: str) -> None:
        self._ids[message_id] = None
        self._ids.move_to_end(message_id)
        while len(self._ids) > self.size:
            self._ids.popitem(last=False)
