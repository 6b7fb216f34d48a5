"""Weather alerts and the weather office's report, as Central takes them: plain data and
the validation of what ``PUT /api/alerts/<location>`` and ``PUT /api/weather`` carry.
Pure: no Flask, no store.

A location is ``City[,State][,CC]`` as OpenWeather's ``q=`` takes it: its city is the
part before the first comma (:func:`place`: without surrounding blanks, case folded), and
its last part, when it is two ASCII letters, its ISO 3166 country code (:func:`country`:
``Paris,FR`` is Paris in FR, ``Paris`` and ``Campus, parking B`` name no country).  An
alert's location matches a CP's (:func:`matches`) when the cities are the same and the
countries do not differ: ``Paris,FR`` matches CPs at ``Paris, fr`` and at ``Paris`` (a
location without a country cannot be told apart), never ``Paris,US``; ``Paris`` matches
every Paris.  Alerts are kept by :func:`alert_key` (``paris,fr``), so ``Paris,FR`` and
``Paris,US`` are two alerts.  An alert keeps the location as the office wrote it, which
``GET /api/alerts`` gives back.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

MAX_LOCATION = 100
MAX_LOCATIONS = 1000  # in one weather report
MAX_TEXT = 200  # a status or an error


class BadAlert(ValueError):
    """A body or location Central will not take (the reason is the message)."""


@dataclass(frozen=True)
class Alert:
    location: str
    temperature_c: str
    threshold_c: str
    observed_at: str
    raised_at: str
    raised_by: str

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


def place(location: str) -> str:
    """A location's city, case folded (``Paris,FR`` -> ``paris``)."""
    return str(location).split(",", 1)[0].strip().casefold()


def country(location: str) -> str | None:
    """A location's country code, upper case (``Paris, fr`` -> ``FR``); None without one
    (its last part after a comma is not two ASCII letters)."""
    parts = str(location).split(",")
    code = parts[-1].strip() if len(parts) > 1 else ""
    return code.upper() if len(code) == 2 and code.isascii() and code.isalpha() else None


def alert_key(location: str) -> str:
    """What an alert is kept by: its city and country (``Paris,FR`` -> ``paris,FR``)."""
    code = country(location)
    return place(location) if code is None else f"{place(location)},{code}"


def matches(alert_location: str, cp_location: str) -> bool:
    """Whether an alert for ``alert_location`` applies to a CP at ``cp_location``: the
    same city, and no two different countries."""
    if place(alert_location) != place(cp_location):
        return False
    wanted, there = country(alert_location), country(cp_location)
    return wanted is None or there is None or wanted == there


def location_name(text: str) -> str:
    """A location from a URL path: non-empty, at most 100 characters, no control
    characters; BadAlert otherwise."""
    name = str(text).strip()
    if not name or not place(name):
        raise BadAlert("location must not be empty")
    if len(name) > MAX_LOCATION:
        raise BadAlert(f"location must be at most {MAX_LOCATION} characters")
    if any(ord(c) < 32 or ord(c) == 127 for c in name):
        raise BadAlert("location must not contain control characters")
    return name


def _celsius(body: dict, name: str, required: bool = True) -> str | None:
    value = body.get(name)
    if value is None and not required:
        return None
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise BadAlert(f"{name} must be a number of degrees Celsius (a string or a number)")
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        raise BadAlert(f"{name} must be a number of degrees Celsius, not {str(value)[:20]!r}") \
            from None
    if not number.is_finite() or not -100 <= number <= 100:
        raise BadAlert(f"{name} must be between -100 and 100 °C")
    return str(number)


def _instant(body: dict, name: str, required: bool = True) -> str | None:
    value = body.get(name)
    if value is None and not required:
        return None
    if not isinstance(value, str):
        raise BadAlert(f"{name} must be an ISO-8601 time")
    try:
        moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        raise BadAlert(f"{name} must be an ISO-8601 time, not {value[:40]!r}") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _object(body: object) -> dict:
    if not isinstance(body, dict):
        raise BadAlert("the body must be a JSON object")
    return body


@dataclass(frozen=True)
class Reading:
    """What a raise carries: the temperature below the threshold, and when it was seen."""

    temperature_c: str
    threshold_c: str
    observed_at: str


def reading(body: object) -> Reading:
    """The body of ``PUT /api/alerts/<location>``; BadAlert with the reason otherwise."""
    body = _object(body)
    return Reading(_celsius(body, "temperature_c"), _celsius(body, "threshold_c"),
                   _instant(body, "observed_at"))


def weather_report(body: object, received_at: str) -> dict[str, Any]:
    """The body of ``PUT /api/weather`` checked and normalised: ``{status, since,
    received_at, locations: [{location, temperature_c, observed_at, alert, error}]}``."""
    body = _object(body)
    status = body.get("status")
    if not isinstance(status, str) or not status.strip():
        raise BadAlert("status must be a non-empty string")
    since = _instant(body, "since", required=False)
    items = body.get("locations", [])
    if not isinstance(items, list):
        raise BadAlert("locations must be a list")
    if len(items) > MAX_LOCATIONS:
        raise BadAlert(f"at most {MAX_LOCATIONS} locations")
    locations = []
    for item in items:
        item = _object(item)
        error = item.get("error")
        if error is not None and not isinstance(error, str):
            raise BadAlert("a location's error must be a string or null")
        if not isinstance(item.get("alert", False), bool):
            raise BadAlert("a location's alert must be true or false")
        locations.append({
            "location": location_name(item.get("location") if isinstance(
                item.get("location"), str) else ""),
            "temperature_c": _celsius(item, "temperature_c", required=False),
            "observed_at": _instant(item, "observed_at", required=False),
            "alert": bool(item.get("alert", False)),
            "error": error[:MAX_TEXT] if error else None})
    return {"status": status.strip()[:MAX_TEXT], "since": since, "received_at": received_at,
            "locations": locations}
