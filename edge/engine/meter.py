"""Simulated energy meter: pure arithmetic, no clock, no I/O.

Energy grows with elapsed time at a constant power; money follows from the supply's
price.  A simulated meter may run faster than real time (``speed``: simulated seconds of
supply per real second), so that a demo's short supplies bill what real ones would.
Internally everything is an exact ``Decimal``; :func:`billed` is the one place where
numbers are rounded for records (kWh to 0.001, euros to the cent).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

DEFAULT_POWER_KW = Decimal("7.4")
KWH_STEP = Decimal("0.001")
EUR_STEP = Decimal("0.01")
SECONDS_PER_HOUR = Decimal(3600)


@dataclass(frozen=True)
class Reading:
    """What the meter shows: rounded kWh and the euros they cost."""

    kw: Decimal
    kwh: Decimal
    eur: Decimal


def energy_kwh(power_kw: Decimal, seconds: float | Decimal) -> Decimal:
    """Exact energy delivered at ``power_kw`` over ``seconds`` (never negative)."""
    elapsed = max(Decimal(str(seconds)), Decimal(0))
    return power_kw * elapsed / SECONDS_PER_HOUR


def billed(kwh: Decimal, price_eur_kwh: Decimal) -> tuple[Decimal, Decimal]:
    """The single rounding rule: kWh to 0.001, then euros = rounded kWh x price, to cents."""
    kwh_rounded = kwh.quantize(KWH_STEP, rounding=ROUND_HALF_UP)
    eur = (kwh_rounded * price_eur_kwh).quantize(EUR_STEP, rounding=ROUND_HALF_UP)
    return kwh_rounded, eur


@dataclass(frozen=True)
class Meter:
    power_kw: Decimal = DEFAULT_POWER_KW
    speed: Decimal = Decimal(1)

    def read(self, seconds: float | Decimal, price_eur_kwh: Decimal) -> Reading:
        kwh = energy_kwh(self.power_kw, Decimal(str(seconds)) * self.speed)
        kwh, eur = billed(kwh, price_eur_kwh)
        return Reading(self.power_kw, kwh, eur)
