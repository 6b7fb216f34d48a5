"""What the charging machine asks its shell to do, in order."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from protocol import messages
from protocol.messages import SupplyEnded, SupplyStarted


@dataclass(frozen=True)
class Relay:
    on: bool


@dataclass(frozen=True)
class Send:
    """A message for the monitor; dropped if no monitor is connected."""

    message: messages.Message


@dataclass(frozen=True)
class Record:
    """A supply record: journal it first, then send it; resent until Central acks it."""

    message: SupplyStarted | SupplyEnded


@dataclass(frozen=True)
class Progress:
    session_id: str
    kwh: Decimal
    eur: Decimal
    at: str


@dataclass(frozen=True)
class ResendRecords:
    pass


@dataclass(frozen=True)
class StoppedChanged:
    stopped: bool


@dataclass(frozen=True)
class Notice:
    text: str
    level: str = "info"


Action = Relay | Send | Record | Progress | ResendRecords | StoppedChanged | Notice
