"""Where temperatures come from: OpenWeather's Current Weather Data API, or a JSON file
(``--provider sim``) for machines without internet.

Each provider's ``read(location, now)`` returns a :class:`~cloud.weather.core.Reading`
or a :class:`~cloud.weather.core.Failure`, never raises.  The parser of OpenWeather's
answers is pure (:func:`parse_openweather`).  The API key goes into the request URL
only: it is never in a failure's text, and :func:`redact` strips it from anything else.
"""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.parse
import urllib.request
from datetime import datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path

from .core import (
    BAD_ANSWER,
    BAD_KEY,
    NO_KEY,
    RATE_LIMITED,
    UNKNOWN_CITY,
    UNREACHABLE,
    Failure,
    Reading,
)
from .files import write_atomically

OPENWEATHER_URL = "https://api.openweathermap.org"
TIMEOUT_S = 5.0
MAX_ANSWER = 64 * 1024
SIM_DEFAULT_C = Decimal("12")  # a location the sim file does not name
SIM_FILE = "weather-sim.json"


def redact(text: str) -> str:
    """``text`` with any ``appid=...`` value replaced."""
    return re.sub(r"(appid=)[^&\s'\"]*", r"\1***", text, flags=re.IGNORECASE)


def parse_openweather(location: str, status: int, body: bytes,
                      now: datetime) -> Reading | Failure:
    """One answer of ``/data/2.5/weather``: its HTTP status and body."""
    if status == 401:
        return Failure(location, BAD_KEY)
    if status == 404:
        return Failure(location, UNKNOWN_CITY)
    if status == 429:
        return Failure(location, RATE_LIMITED)
    if status != 200:
        return Failure(location, BAD_ANSWER, f"HTTP {status}")
    try:
        data = json.loads(body)
        value = data["main"]["temp"]
    except (ValueError, UnicodeDecodeError):
        return Failure(location, BAD_ANSWER, "not JSON")
    except (KeyError, TypeError):
        return Failure(location, BAD_ANSWER, "no main.temp")
    temperature = _temperature(value)
    if temperature is None:
        return Failure(location, BAD_ANSWER, "main.temp is not a temperature")
    return Reading(location, temperature, now)


def _temperature(value: object) -> Decimal | None:
    """A plausible temperature in C, or None."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        return None
    if not number.is_finite() or not Decimal(-100) <= number <= Decimal(70):
        return None
    number = number.quantize(Decimal("0.01")) + 0  # + 0: no "-0"
    if number == number.to_integral_value():
        return number.quantize(Decimal(1))  # "10", not "1E+1"
    return number.normalize()  # "-3.2", not "-3.20"


class OpenWeather:
    def __init__(self, api_key: str | None, base_url: str = OPENWEATHER_URL,
                 timeout: float = TIMEOUT_S) -> None:
        self._key = api_key
        self._base = base_url.rstrip("/")
        self._timeout = timeout

    def read(self, location: str, now: datetime) -> Reading | Failure:
        if not self._key:
            return Failure(location, NO_KEY)
        query = urllib.parse.urlencode({"q": location, "appid": self._key, "units": "metric"})
        url = f"{self._base}/data/2.5/weather?{query}"
        try:
            with urllib.request.urlopen(url, timeout=self._timeout) as answer:  # noqa: S310
                return parse_openweather(location, answer.status, answer.read(MAX_ANSWER), now)
        except urllib.error.HTTPError as error:
            body = error.read(MAX_ANSWER) if error.fp else b""
            return parse_openweather(location, error.code, body, now)
        except (urllib.error.URLError, OSError) as error:  # TimeoutError is an OSError
            reason = getattr(error, "reason", error)
            return Failure(location, UNREACHABLE, redact(str(reason)))
        except ValueError as error:  # http.client's InvalidURL and the like
            return Failure(location, BAD_ANSWER, redact(str(error)))


class SimProvider:
    """Temperatures from a JSON file ``{"Madrid": "-3", ...}``, read every time."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def read(self, location: str, now: datetime) -> Reading | Failure:
        try:
            table = read_sim_file(self.path)
        except ValueError as error:
            return Failure(location, BAD_ANSWER, str(error))
        return Reading(location, table.get(location, SIM_DEFAULT_C), now)


def read_sim_file(path: Path) -> dict[str, Decimal]:
    """The sim file's table; a missing file is an empty one; a bad one a ValueError."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    except (OSError, UnicodeDecodeError) as error:
        raise ValueError(f"cannot read sim file {path}: {error}") from None
    try:
        data = json.loads(text)
    except ValueError:
        raise ValueError(f"sim file {path} is not JSON") from None
    if not isinstance(data, dict):
        raise ValueError(f"sim file {path} is not a JSON object")
    table = {}
    for name, value in data.items():
        temperature = _temperature(value)
        if temperature is None:
            raise ValueError(f"sim file {path}: {name!r} has no temperature")
        table[name] = temperature
    return table


def set_sim_temperature(path: Path, location: str, text: str) -> Decimal:
    """``ev-weather set``: rewrite the sim file with ``location`` at ``text`` C."""
    temperature = _temperature(text)
    if temperature is None:
        raise ValueError(f"not a temperature between -100 and 70 C: {text!r}")
    table = read_sim_file(path)
    table[location] = temperature
    write_atomically(path, json.dumps({k: str(v) for k, v in table.items()}, indent=2) + "\n")
    return temperature
