"""What a registration request must carry: pure parsing of ``PUT /api/v1/cps/<cp_id>``.

``{"location": "Car park A, bay 1", "price_eur_kwh": "0.35"}`` (the price as a JSON
number or a decimal string); a ``cp_id`` in the body, if any, must be the path's.
Anything else is a :class:`BadBody` with the HTTP status and a one-line reason.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from decimal import Decimal

from cloud.central.errors import BadPrice
from cloud.central.store import price
from protocol.messages import CP_ID, MAX_TEXT

MAX_BODY = 4096  # bytes: a registration is a few dozen
MAX_PRICE = Decimal(100)  # EUR/kWh: above it, a typo (35 for 0.35), not a tariff
PLACES = 6
FIELDS = {"cp_id", "location", "price_eur_kwh"}


class BadBody(ValueError):
    def __init__(self, reason: str, status: int = 400) -> None:
        super().__init__(reason)
        self.status = status


@dataclass(frozen=True)
class Registration:
    location: str
    price_eur_kwh: Decimal


def check_cp_id(cp_id: str) -> str:
    if not CP_ID.match(cp_id):
        raise BadBody(f"bad CP id {cp_id[:70]!r}: 1 to 64 letters, digits, '_', '.' or '-', "
                      "starting with a letter or digit")
    return cp_id


def parse_registration(raw: bytes, cp_id: str) -> Registration:
    if len(raw) > MAX_BODY:
        raise BadBody(f"body too large ({len(raw)} bytes, limit {MAX_BODY})", 413)
    try:
        body = json.loads(raw, parse_float=Decimal, parse_constant=_no_constant)
    except (UnicodeDecodeError, ValueError) as error:
        raise BadBody(f"body is not valid JSON: {_short(error)}") from None
    if not isinstance(body, dict):
        raise BadBody('body must be a JSON object: {"location": ..., "price_eur_kwh": ...}')
    unknown = sorted(set(body) - FIELDS)
    if unknown:
        raise BadBody(f"unknown fields {[name[:40] for name in unknown[:5]]}")
    if "cp_id" in body and body["cp_id"] != cp_id:
        raise BadBody(f"the CP id in the body ({str(body['cp_id'])[:70]!r}) differs from "
                      f"the path ({cp_id!r})")
    location = body.get("location")
    if not isinstance(location, str) or not location.strip() or len(location) > MAX_TEXT:
        raise BadBody(f"location must be text of 1 to {MAX_TEXT} characters")
    if not location.isprintable():
        raise BadBody("location must not hold control characters")
    return Registration(location.strip(), _price(body.get("price_eur_kwh")))


def _price(value: object) -> Decimal:
    if value is None:
        raise BadBody("price_eur_kwh is missing")
    if isinstance(value, bool) or not isinstance(value, int | Decimal | str):
        raise BadBody("price_eur_kwh must be a number or a decimal string")
    try:
        amount = price(value)
    except BadPrice as error:
        raise BadBody(str(error)) from None
    if amount > MAX_PRICE:
        raise BadBody(f"price_eur_kwh {str(amount)[:20]} is above {MAX_PRICE} EUR/kWh")
    if amount.as_tuple().exponent < -PLACES:
        raise BadBody(f"price_eur_kwh has more than {PLACES} decimal places")
    return amount


def _no_constant(name: str) -> None:
    raise ValueError(f"{name} is not a number JSON allows")


def _short(error: Exception) -> str:
    return str(error).splitlines()[0][:120]
