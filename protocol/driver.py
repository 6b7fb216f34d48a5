"""The driver plane over Kafka: ``driver.requests`` in, ``driver.updates`` out.

Both topics are keyed by ``driver_id``.  Requests carry an ``id``; every update that
answers one names it in ``ref``.  A driver app shows only updates for its own
``driver_id``.  Flow of one supply::

    ChargeRequest -> Accepted | Denied(reason)
                  -> Authorized (the CP confirmed; plug in within 60 s)
                  -> Plugged -> Progress (every second) ...
                  -> Ticket (kWh, EUR, start, end, reason)   or  Cancelled(reason)

    StopRequest   -> Ticket or Cancelled for the supply it ends, or Denied(ref) when the
                     driver has none under way.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

from protocol import messages as m
from protocol.fields import Checked
from protocol.rules import CpId, DriverId, MessageId, Timestamp


@dataclass(frozen=True, kw_only=True)
class DriverMessage(Checked):
    TYPE: ClassVar[str] = ""
    driver_id: DriverId
    id: MessageId = field(default_factory=m.new_id)
    ts: Timestamp = field(default_factory=m.utc_now)


# -- requests (driver -> Central) ----------------------------------------------
@dataclass(frozen=True, kw_only=True)
class ChargeRequest(DriverMessage):
    TYPE = "charge_request"
    cp_id: CpId


@dataclass(frozen=True, kw_only=True)
class StopRequest(DriverMessage):
    """Stop the driver's supply under way (at ``cp_id`` if given)."""

    TYPE = "stop_request"
    cp_id: CpId | None = None


@dataclass(frozen=True, kw_only=True)
class ListRequest(DriverMessage):
    TYPE = "list_request"


@dataclass(frozen=True, kw_only=True)
class StatusRequest(DriverMessage):
    """What is my supply doing, and how did my last ones end?"""

    TYPE = "status_request"


# -- updates (Central -> driver) -----------------------------------------------
@dataclass(frozen=True, kw_only=True)
class Accepted(DriverMessage):
    TYPE = "accepted"
    ref: str
    cp_id: CpId
    session_id: str


@dataclass(frozen=True, kw_only=True)
class Denied(DriverMessage):
    """Reasons: unknown driver, unknown CP, CP busy, stopped, broken, disconnected, ..."""

    TYPE = "denied"
    ref: str
    reason: str
    cp_id: CpId | None = None


@dataclass(frozen=True, kw_only=True)
class Authorized(DriverMessage):
    TYPE = "authorized"
    cp_id: CpId
    session_id: str
    expires_in_s: int


@dataclass(frozen=True, kw_only=True)
class Plugged(DriverMessage):
    TYPE = "plugged"
    cp_id: CpId
    session_id: str
    started_at: str
    price_eur_kwh: str


@dataclass(frozen=True, kw_only=True)
class Progress(DriverMessage):
    TYPE = "progress"
    cp_id: CpId
    session_id: str
    kw: str
    kwh: str
    eur: str


@dataclass(frozen=True, kw_only=True)
class Ticket(DriverMessage):
    """The supply ended: what was delivered and billed, and why it ended."""

    TYPE = "ticket"
    cp_id: CpId
    session_id: str
    started_at: str
    ended_at: str
    kwh: str
    eur: str
    price_eur_kwh: str
    reason: str
    interrupted: bool = False


@dataclass(frozen=True, kw_only=True)
class Cancelled(DriverMessage):
    """An authorization that never became a supply (expired, refused, CP lost)."""

    TYPE = "cancelled"
    cp_id: CpId
    session_id: str
    reason: str


@dataclass(frozen=True, kw_only=True)
class CpList(DriverMessage):
    """Answer to ListRequest: [{id, location, price_eur_kwh, state}] of available CPs."""

    TYPE = "cp_list"
    ref: str
    cps: list[Any]


@dataclass(frozen=True, kw_only=True)
class DriverStatus(DriverMessage):
    """Answer to StatusRequest.

    ``current``: the session under way or None, as ``{cp_id, session_id, status
    ("authorized" | "supplying"), started_at, price_eur_kwh, kw, kwh, eur}`` (figures
    may be None before the first telemetry).  ``recent``: the driver's last ended
    sessions, newest first, each a dict with the fields of :class:`Ticket`."""

    TYPE = "driver_status"
    ref: str
    current: dict[str, Any] | None = None
    recent: list[Any] = field(default_factory=list)


REQUEST_TYPES: dict[str, type] = {
    cls.TYPE: cls for cls in (ChargeRequest, StopRequest, ListRequest, StatusRequest)
}
UPDATE_TYPES: dict[str, type] = {
    cls.TYPE: cls
    for cls in (Accepted, Denied, Authorized, Plugged, Progress, Ticket, Cancelled, CpList,
                DriverStatus)
}


def decode_request(payload: bytes) -> DriverMessage:
    return m.decode(payload, REQUEST_TYPES)  # type: ignore[return-value]


def decode_update(payload: bytes) -> DriverMessage:
    return m.decode(payload, UPDATE_TYPES)  # type: ignore[return-value]


encode = m.encode
