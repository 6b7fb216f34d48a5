"""What the driver-session model asks its shell to do: send, show, remember."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from protocol import driver as d


@dataclass(frozen=True)
class Send:
    message: d.DriverMessage
    retry: bool = False


@dataclass(frozen=True)
class Retrying:
    """A request went unanswered: ``cause`` is "kafka" (not delivered) or "central"."""

    cause: str


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
    """The followed service ended: outcome "ticket", "denied" or "cancelled"."""

    cp_id: str
    outcome: str
    reason: str = ""
    kwh: Decimal = Decimal(0)
    eur: Decimal = Decimal(0)


@dataclass(frozen=True)
class Remember:
    """What survives a restart changed: save :meth:`DriverSession.memory`."""
