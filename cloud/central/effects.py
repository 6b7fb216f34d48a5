"""What the fleet's core asks its shell to do, in order: the core's only output.

A command for a CP goes out through that CP's :class:`~cloud.central.ports.CpPort`
(the framed link today, an OCPP link tomorrow), and so do its key's revocation and the
closing of its link; a store write is done by the shell; a
dashboard event or an application message goes to the hub; a domain event to every
listener of the :class:`~cloud.central.events.EventStream`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from cloud.central.cpstate import StopReason
from cloud.central.events import DomainEvent


# -- commands for a CP ----------------------------------------------------------
@dataclass(frozen=True)
class Authorize:
    cp_id: str
    session_id: str
    driver_id: str | None
    price_eur_kwh: str


@dataclass(frozen=True)
class Stop:
    cp_id: str
    reason: str


@dataclass(frozen=True)
class Resume:
    cp_id: str
    reason: str


@dataclass(frozen=True)
class EndSupply:
    cp_id: str
    session_id: str
    driver_id: str | None
    reason: str


@dataclass(frozen=True)
class RevokeKey:
    """Tell the CP its key is gone (sealed with that key), then close its link."""

    cp_id: str
    reason: str


@dataclass(frozen=True)
class Disconnect:
    """Close the CP's link (a deregistered CP)."""

    cp_id: str
    reason: str


# -- the store -------------------------------------------------------------------
@dataclass(frozen=True)
class RecordAuthorized:
    session_id: str
    cp_id: str
    driver_id: str | None
    source: str
    price_eur_kwh: str
    at: str


@dataclass(frozen=True)
class RecordDenied:
    cp_id: str
    driver_id: str | None
    source: str
    reason: str
    at: str


@dataclass(frozen=True)
class ExpireSession:
    session_id: str
    reason: str
    at: str


@dataclass(frozen=True)
class SaveStopReasons:
    cp_id: str
    reasons: frozenset[StopReason]


@dataclass(frozen=True)
class SaveLocation:
    cp_id: str
    location: str


@dataclass(frozen=True)
class SaveAlert:
    """A weather alert raised (or its reading updated): kept in the store."""

    alert: Any  # cloud.central.alerts.Alert


@dataclass(frozen=True)
class DropAlert:
    location: str


# -- the dashboard ---------------------------------------------------------------
@dataclass(frozen=True)
class Publish:
    """A dashboard event: ``cp`` (a CP's view), ``requests`` or ``power``."""

    event: str
    data: Any


@dataclass(frozen=True)
class Note:
    """An application message: logged, kept and shown on the dashboard."""

    level: str
    cp_id: str | None
    text: str


@dataclass(frozen=True)
class Announce:
    """A domain event for every listener."""

    event: DomainEvent


Command = Authorize | Stop | Resume | EndSupply | RevokeKey | Disconnect
StoreWrite = (RecordAuthorized | RecordDenied | ExpireSession | SaveStopReasons | SaveLocation
              | SaveAlert | DropAlert)
Effect = Command | StoreWrite | Publish | Note | Announce
