"""What the driver-session model asks its shell to do: send, show, remember."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from typing import Any

from protocol import driver as d


class Cause(StrEnum):
    """Who left a request unanswered."""

    KAFKA = "kafka"  # the producer has not delivered it
    CENTRAL = "central"  # delivered, and Central did not answer


class Outcome(StrEnum):
    """How what the driver asked for ended."""

    TICKET = "ticket"  # a supply, and its ticket
    DENIED = "denied"  # Central said no to the request
    CANCELLED = "cancelled"  # authorized, but no supply followed


@dataclass(frozen=True)
class Send:
    message: d.DriverMessage
    retry: bool = False


@dataclass(frozen=True)
class Retrying:
    """A request went unanswered (see :class:`Cause`)."""

    cause: Cause


@dataclass(frozen=True)
class Notice:
    text: str


@dataclass(frozen=True)
class ShowProgress:
    session_id: str
    cp_id: str
    kw: str
    kwh: str
    eur: str


@dataclass(frozen=True)
class ShowTicket:
    ticket: dict[str, Any]
    late: bool = False  # it ended while the app was away


@dataclass(frozen=True)
class ShowList:
    cps: list[Any]


@dataclass(frozen=True)
class ShowStatus:
    current: dict[str, Any] | None
    recent: list[Any]


@dataclass(frozen=True)
class ShowHistory:
    recent: list[Any]


@dataclass(frozen=True)
class Ended:
    """What the driver asked for at ``cp_id`` ended: a supply and its ticket, a denial
    or a cancelled authorization."""

    cp_id: str
    outcome: Outcome
    reason: str = ""
    kwh: Decimal = Decimal(0)
    eur: Decimal = Decimal(0)


@dataclass(frozen=True)
class Remember:
    """What survives a restart changed: save :meth:`DriverSession.memory`."""
