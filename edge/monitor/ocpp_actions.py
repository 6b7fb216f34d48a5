"""What the OCPP charge point's core (:mod:`edge.monitor.ocpp_core`) returns for its shell
to carry out, and the connector's OCPP status from what the engine says.  No I/O."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from protocol.states import EngineState, Health

from .core import Dropped, EngineHealth, ToEngine
from .ocpp_ledger import Supply, Transaction


@dataclass(frozen=True)
class Call:
    """An OCPP call to send now (``ocpp.v16.call``); ``ref`` names what asked for it."""

    request: Any
    ref: str = ""


@dataclass(frozen=True)
class Enqueue:
    """A transaction message: store it durably (with the ledger's new register reading),
    then carry on; the link sends the queue in order once the central system is there."""

    transaction: Transaction
    supply: Supply  # the ledger's row for its session, as it is now
    register_wh: int


@dataclass(frozen=True)
class Delivered:
    """The queue's head ``seq`` is done (answered, or given up); a StartTransaction's
    answer names the session's transaction id."""

    seq: int
    session_id: str
    transaction_id: int | None = None


@dataclass(frozen=True)
class SaveConfig:
    key: str
    value: str


@dataclass(frozen=True)
class ScheduleInoperative:
    """Keep (or drop) a ChangeAvailability to Inoperative answered Scheduled, across a
    restart: it applies when the supply under way ends (OCPP: availability persists)."""

    scheduled: bool


@dataclass(frozen=True)
class Reconnect:
    reason: str


@dataclass(frozen=True)
class Note:
    text: str
    level: str = "info"


Action = (Call | Enqueue | Delivered | ToEngine | SaveConfig | ScheduleInoperative | Reconnect
          | Note | EngineHealth | Dropped)


@dataclass
class Connector:
    """What the engine last said about its one connector."""

    plugged: bool = False
    session_id: str | None = None  # the supply under way, per the last MeterReading
    kw: Decimal = Decimal(0)
    kwh: Decimal = Decimal(0)



def connector_status(health: Health, state: EngineState | None, plugged: bool,
                     last: str | None) -> tuple[str, str]:
    """The connector's OCPP status and error code from what the engine says."""
    if health == Health.DOWN:
        return "Faulted", "InternalError"
    if health == Health.KO or state == EngineState.BROKEN:
        return "Faulted", "OtherError"
    if state == EngineState.STOPPED:
        return "Unavailable", "NoError"
    if state == EngineState.SUPPLYING:
        return "Charging", "NoError"
    if state == EngineState.AUTHORIZED:
        return "Preparing", "NoError"
    if plugged:  # a vehicle still plugged in after its supply ended, or before one starts
        finishing = last in ("Charging", "SuspendedEV", "SuspendedEVSE", "Finishing")
        return ("Finishing" if finishing else "Preparing"), "NoError"
    return "Available", "NoError"
