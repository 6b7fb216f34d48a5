"""Errors from every part of the network, as ``GET /api/errors`` and the dashboard's
Errors panel show them: a view over the audit trail plus the problems going on now.

No second store: what went wrong is in the audit trail already (:mod:`cloud.central.audit`)
-- every record whose outcome is not ``ok`` (a login or an API call refused, a key
mismatch, a replay, input refused by Central or dead-lettered by the bridge, a failure,
a problem the weather office reported) and every CP that broke down (``state change``
to ``BROKEN``).  :func:`describe` says which part of the network each one comes from
(:data:`PARTS`) and what it was, in one line, without the source's address or any
parameter beyond its reason.  :func:`ongoing` lists what is wrong right now (the weather
office's status, Kafka unreachable, CPs broken down).  Pure, but for :func:`query`.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from cloud.central import audit

# Where an error comes from: a CP (its faults and the input Central refused), a driver,
# the bridge (what it dead-letters), the weather office, the CPs' keys and logins,
# Central itself, and calls to the API with a wrong token.
PARTS = ("cp", "driver", "bridge", "weather", "keys", "central", "api")
BRIDGE = "bridge"  # the source prefix of what the bridge dead-lettered
WEATHER_OFFICE = "weather office"  # the source of what the weather office reported
MAX_LIMIT = 1000
STALE_REPORT_S = 60  # the weather office has not reported for this long: say so
MAX_NAMED = 10  # CPs named in one line of ongoing problems

WHERE = ("(outcome != 'ok' OR (action = 'state change' "
         "AND json_extract(params, '$.to') = 'BROKEN'))")
INDEX = f"CREATE INDEX IF NOT EXISTS audit_errors ON audit (id, ts) WHERE {WHERE}"


def query(conn: sqlite3.Connection, since: str | None = None, limit: int = 50,
          offset: int = 0) -> tuple[list[dict[str, Any]], int]:
    """Errors newest first, described, and how many there are since ``since`` in all.
    The caller holds the store's lock."""
    clause, args = WHERE, []
    if since is not None:
        clause += " AND ts >= ?"
        args.append(since)
    total = conn.execute(f"SELECT count(*) FROM audit WHERE {clause}", args).fetchone()[0]
    rows = conn.execute(
        f"SELECT {', '.join(audit.COLUMNS)} FROM audit WHERE {clause} "
        "ORDER BY id DESC LIMIT ? OFFSET ?",
        [*args, max(1, min(limit, MAX_LIMIT)), max(0, offset)]).fetchall()
    return [describe(audit._parsed(dict(zip(audit.COLUMNS, row, strict=True))))
            for row in rows], total


def part_of(row: dict[str, Any]) -> str:
    """Which part of the network an error record comes from."""
    action, actor, source = row["action"], row["actor"], row.get("source") or ""
    if source.startswith(BRIDGE):
        return "bridge"
    if source == WEATHER_OFFICE:
        return "weather"
    if action in ("key mismatch", "replayed", "key revoked"):
        return "keys"
    if action == "auth failed":
        return "keys" if actor == "cp" else "api"
    if action in ("state change", "refused input"):
        return "driver" if actor == "driver" else "cp"
    return "central"


def text_of(row: dict[str, Any]) -> str:
    """What went wrong, in one line (no address, no parameter but the reason)."""
    params = row.get("params") or {}
    action = row["action"]
    reason = str(params.get("reason") or params.get("what") or "").strip()
    if action == "state change":
        return f"broken down (was {params.get('from', '?')})"
    if action == "auth failed" and params.get("call"):
        return f"{params['call']} refused: {reason}"
    if action == "auth failed":
        return f"login refused: {reason}"
    if action == "replayed":
        return f"replayed {params.get('type', 'message')} {params.get('id', '')} refused"
    if action == "key mismatch":
        return f"message did not open ({params.get('plane', '?')} plane): {reason}"
    if row.get("source", "").startswith(BRIDGE):
        return f"dead-lettered by the bridge: {reason}"
    if action == "refused input":
        return f"input refused: {reason}"
    return reason or action


def describe(row: dict[str, Any]) -> dict[str, Any]:
    """An audit record as one error: ``{id, ts, part, cp_id, action, text}``."""
    return {"id": row["id"], "ts": row["ts"], "part": part_of(row), "cp_id": row.get("cp_id"),
            "action": row["action"], "text": text_of(row)}


def weather_problems(status: str | None) -> list[str]:
    """The problems in a weather office's status (``"ok"``: none): each distinct one."""
    if not status or status.strip() == "ok":
        return []
    return [part.strip() for part in status.split(";") if part.strip()]


def new_weather_problems(before: str | None, after: str | None) -> list[str]:
    """The problems of the office's status ``after`` that ``before`` did not have: what
    the audit trail records (a problem going on is recorded once)."""
    known = set(weather_problems(before))
    return [problem for problem in weather_problems(after) if problem not in known]


def ongoing(now: datetime, weather: dict[str, Any] | None, kafka: dict[str, Any] | None,
            broken: Iterable[str]) -> list[dict[str, Any]]:
    """What is wrong right now: ``[{part, text, since}]`` (``since`` may be None)."""
    problems: list[dict[str, Any]] = []
    if weather is not None:
        for problem in weather_problems(weather.get("status")):
            problems.append({"part": "weather", "text": f"weather: {problem}",
                             "since": weather.get("since")})
        received = _moment(weather.get("received_at"))
        if received is not None and (now - received).total_seconds() > STALE_REPORT_S:
            problems.append({"part": "weather", "text": "weather: no report from the weather "
                             f"office for {int((now - received).total_seconds() // 60)} min",
                             "since": weather.get("received_at")})
    if kafka is not None and not kafka.get("up"):
        problems.append({"part": "central", "text": str(kafka.get("text") or
                                                        "Kafka unreachable"), "since": None})
    broken = sorted(broken)
    if broken:
        named = ", ".join(broken[:MAX_NAMED]) + (
            f" and {len(broken) - MAX_NAMED} more" if len(broken) > MAX_NAMED else "")
        problems.append({"part": "cp", "since": None, "text": (
            f"{len(broken)} CP{'s' if len(broken) != 1 else ''} broken down: {named}")})
    return problems


def _moment(text: str | None) -> datetime | None:
    try:
        return datetime.fromisoformat(str(text).replace("Z", "+00:00")) if text else None
    except ValueError:
        return None
