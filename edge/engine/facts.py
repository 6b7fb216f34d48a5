"""What the charging machine knows about the supply at hand: an authorization waiting
for the vehicle, or the supply under way."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from edge.engine.meter import Reading


@dataclass(frozen=True)
class Authorization:
    session_id: str
    driver_id: str | None
    price: Decimal
    expires_at: float


@dataclass
class Supply:
    session_id: str
    driver_id: str | None
    price: Decimal
    started_at: str
    started_mono: float
    reading: Reading
    reported_mono: float = 0.0
