"""Central's alert and weather API, as the weather office uses it (service token).

    PUT    /api/alerts/<location>  {"temperature_c", "threshold_c", "observed_at"}
    DELETE /api/alerts/<location>  (404: there is none, which is cleared too)
    GET    /api/alerts             [{"location", ...}] (read at start-up)
    PUT    /api/weather            the office's status and readings, every round

Every call returns an :class:`Answer`, never raises.  :class:`Link` is the pure part
that decides which outcomes deserve a log line: "cannot reach Central" once, one line
when it is back, one line for a refused token.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass

from .core import Action, Clear, Raise, iso

TIMEOUT_S = 5.0
MAX_ANSWER = 1024 * 1024

OK, UNREACHABLE, REFUSED, FAILED = "ok", "unreachable", "refused", "failed"


@dataclass(frozen=True)
class Answer:
    outcome: str  # OK, UNREACHABLE, REFUSED (401/403), FAILED (any other answer)
    status: int = 0
    data: object = None
    detail: str = ""


class CentralClient:
    def __init__(self, base_url: str, token: str, timeout: float = TIMEOUT_S) -> None:
        self.base = base_url.rstrip("/")
        self._token = token
        self._timeout = timeout

    @property
    def where(self) -> str:
        return urllib.parse.urlsplit(self.base).netloc or self.base

    def alerts(self) -> Answer:
        return self._call("GET", "/api/alerts")

    def send(self, action: Action) -> Answer:
        path = "/api/alerts/" + urllib.parse.quote(action.location, safe="")
        if isinstance(action, Raise):
            return self._call("PUT", path, {
                "temperature_c": str(action.reading.temperature_c),
                "threshold_c": str(action.threshold_c),
                "observed_at": iso(action.reading.observed_at)})
        assert isinstance(action, Clear)
        answer = self._call("DELETE", path)
        if answer.status == 404:  # there is none: cleared
            return Answer(OK, 404)
        return answer

    def put_weather(self, report: dict) -> Answer:
        return self._call("PUT", "/api/weather", report)

    def _call(self, method: str, path: str, body: object = None) -> Answer:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.base + path, data=data, method=method)
        request.add_header("Authorization", f"Bearer {self._token}")
        request.add_header("Accept", "application/json")
        if data is not None:
            request.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(request, timeout=self._timeout) as answer:  # noqa: S310
                return Answer(OK, answer.status, _json(answer.read(MAX_ANSWER)))
        except urllib.error.HTTPError as error:
            outcome = REFUSED if error.code in (401, 403) else FAILED
            return Answer(outcome, error.code, detail=f"HTTP {error.code}")
        except (urllib.error.URLError, OSError) as error:
            return Answer(UNREACHABLE, detail=str(getattr(error, "reason", error)))
        except ValueError as error:
            return Answer(FAILED, detail=str(error))


def _json(body: bytes) -> object:
    try:
        return json.loads(body) if body else None
    except ValueError:
        return None


def raised_locations(answer: Answer) -> set[str] | None:
    """The locations in ``GET /api/alerts``'s answer (None when it is not a list of
    alerts: what Central holds stays unknown)."""
    if answer.outcome != OK or not isinstance(answer.data, list):
        return None
    names = {item.get("location") for item in answer.data if isinstance(item, dict)}
    return {name for name in names if isinstance(name, str)}


class Link:
    """What the office last knew of Central; :meth:`seen` returns a line to log when
    that changes (and None when it does not)."""

    def __init__(self, where: str) -> None:
        self.where = where
        self.state = OK

    def seen(self, answer: Answer) -> str | None:
        state = answer.outcome if answer.outcome in (UNREACHABLE, REFUSED) else OK
        previous, self.state = self.state, state
        if state == previous:
            return None
        if state == UNREACHABLE:
            return f"cannot reach Central at {self.where}, retrying"
        if state == REFUSED:
            return (f"Central at {self.where} refuses the service token (HTTP "
                    f"{answer.status}): check --token-file; retrying")
        return f"Central at {self.where} is back"
