"""What the sessions page, its CSV export and ``GET /api/sessions`` share: pure functions.

Filters come from query arguments (:func:`parse_filter`; a bad value raises
:class:`BadFilter` with a one-line message for a 400); totals are summed exactly in
``Decimal`` (:func:`totals`); one session becomes one row of display strings
(:func:`row`), the same for the HTML table and the CSV file (:func:`csv_lines`).
Days and times are UTC.
"""

from __future__ import annotations

import csv
import io
import itertools
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from protocol.messages import CP_ID, DRIVER_ID, driver_or_ad_hoc, parse_ts

COLUMNS = ("CP", "Driver", "Start (UTC)", "End (UTC)", "Duration", "kWh", "EUR", "Status",
           "Reason")
PAGE_SIZE = 100  # rows on one page of the sessions page
MAX_LIMIT = 1000  # rows in one GET /api/sessions answer
_DAY = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")
_FORMULA = ("=", "+", "-", "@", "\t", "\r")  # what a spreadsheet would run as a formula


class BadFilter(ValueError):
    """A query argument that cannot be used; its message is one line for the client."""


@dataclass(frozen=True)
class SessionFilter:
    cp_id: str | None = None
    driver_id: str | None = None
    day: date | None = None

    def query(self) -> dict[str, str]:
        """The filter as query arguments (for links that keep it)."""
        items = {"cp_id": self.cp_id, "driver_id": self.driver_id,
                 "day": self.day.isoformat() if self.day else None}
        return {name: value for name, value in items.items() if value}

    def store_args(self) -> dict[str, str | None]:
        """Keyword arguments of ``Store.sessions`` / ``Store.session_amounts``."""
        return {"cp_id": self.cp_id, "driver_id": self.driver_id,
                "day": self.day.isoformat() if self.day else None}


@dataclass(frozen=True)
class Totals:
    count: int
    kwh: Decimal
    eur: Decimal

    def as_json(self) -> dict[str, Any]:
        return {"count": self.count, "kwh": str(self.kwh), "eur": str(self.eur)}


def parse_filter(args: Mapping[str, str]) -> SessionFilter:
    """``cp_id``, ``driver_id`` and ``day`` from query arguments; empty means any."""
    return SessionFilter(
        cp_id=parse_id("cp_id", args.get("cp_id"), CP_ID),
        driver_id=parse_id("driver_id", args.get("driver_id"), DRIVER_ID),
        day=parse_day(args.get("day")),
    )


def parse_id(name: str, value: str | None, pattern: re.Pattern) -> str | None:
    if not value:
        return None
    if not pattern.match(value):
        raise BadFilter(f"bad {name} {value[:70]!r}: 1 to 64 letters, digits, '.', '_' or '-'")
    return value


def parse_day(value: str | None) -> date | None:
    """``YYYY-MM-DD`` (a UTC day) or empty; anything else raises BadFilter."""
    if not value:
        return None
    if _DAY.match(value):
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    raise BadFilter(f"bad day {value[:70]!r}: expected a date YYYY-MM-DD (UTC)")


def parse_count(name: str, value: str | None, default: int, low: int, high: int) -> int:
    """A whole number from ``low`` to ``high`` (``default`` when absent)."""
    if value is None or value == "":
        return default
    if not value.isascii() or not value.isdigit() or not low <= int(value) <= high:
        raise BadFilter(f"{name} must be a whole number from {low} to {high}")
    return int(value)


def totals(amounts: Iterable[tuple[str | None, str | None]]) -> Totals:
    """Count and exact sums of ``(kwh, eur)`` pairs; a missing figure counts as 0."""
    count, kwh, eur = 0, Decimal(0), Decimal(0)
    for energy, money in amounts:
        count += 1
        kwh += _decimal(energy)
        eur += _decimal(money)
    return Totals(count, kwh, eur)


def _decimal(value: str | None) -> Decimal:
    try:
        number = Decimal(value) if value else Decimal(0)
    except InvalidOperation:
        return Decimal(0)
    return number if number.is_finite() else Decimal(0)


def driver_label(session: Mapping[str, Any]) -> str:
    """The driver; a supply started at the CP without a driver id is ad hoc."""
    return driver_or_ad_hoc(session.get("driver_id"))


def start_of(session: Mapping[str, Any]) -> str | None:
    """When the supply started, or when it was asked for if it never started."""
    return session.get("started_at") or session.get("authorized_at")


def row(session: Mapping[str, Any]) -> tuple[str, ...]:
    """One session as the table and the CSV file show it (``""`` where nothing is known)."""
    started, ended = session.get("started_at"), session.get("ended_at")
    return (
        session.get("cp_id") or "",
        driver_label(session),
        utc_text(start_of(session)),
        utc_text(ended),
        duration(started, ended),
        session.get("kwh") or "",
        session.get("eur") or "",
        session.get("status") or "",
        session.get("reason") or "",
    )


def utc_text(value: str | None) -> str:
    """``2026-01-02T11:00:00.5+01:00`` -> ``2026-01-02 10:00:00`` (UTC)."""
    moment = _moment(value)
    return moment.strftime("%Y-%m-%d %H:%M:%S") if moment else (value or "")


def duration(started: str | None, ended: str | None) -> str:
    """``H:MM:SS`` from start to end of a supply; ``""`` unless both are known."""
    begin, end = _moment(started), _moment(ended)
    if begin is None or end is None or end < begin:
        return ""
    seconds = int((end - begin).total_seconds())
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


def _moment(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        return parse_ts(value).astimezone(UTC)
    except (ValueError, TypeError):
        return None


def csv_lines(sessions: Iterable[Mapping[str, Any]]) -> Iterator[str]:
    """CSV text, one line at a time: the header row, then one row per session."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    for values in itertools.chain([COLUMNS], (_safe(row(session)) for session in sessions)):
        writer.writerow(values)
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()


def _safe(values: tuple[str, ...]) -> tuple[str, ...]:
    """Text a spreadsheet would take for a formula is quoted with a leading apostrophe."""
    return tuple("'" + value if value.startswith(_FORMULA) else value for value in values)


def csv_filename(where: SessionFilter) -> str:
    """``sessions.csv``, ``sessions-CP1-2026-01-02.csv``... (ids are filename-safe)."""
    parts = [where.cp_id, where.driver_id, where.day.isoformat() if where.day else None]
    return "-".join(["sessions", *(part for part in parts if part)]) + ".csv"
