"""The audit trail: one append-only row per security or operational event.

Shared by Central and the registry (``ev-registry`` writes to the same SQLite file), so
this module imports neither Flask nor the rest of Central: it owns the ``audit`` table
(:func:`ensure_table`, which also migrates the table of older databases), writes a
:class:`Record` (:func:`append`: one row, and the same record as one JSON line on the
``evcharging.audit`` logger, for journald and a SIEM) and reads it back
(:func:`query`).  The table refuses UPDATE and DELETE (triggers).

A record says when (UTC), who (``actor``: one of :data:`ACTORS`), from where
(``source``: an address, ``console``, a Kafka position), what (``action``: one of
:data:`ACTIONS`), about which CP, with which parameters (a JSON object) and how it
ended (``outcome``: one of :data:`OUTCOMES`).  A key, a wrapped key, a secret, a token
or a password never reaches it: parameters with such a name, and bytes, are redacted.
"""

from __future__ import annotations

import json
import logging
import re
import sqlite3
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

ACTORS = ("cp", "driver", "admin", "service", "registry")
ACTIONS = (
    "auth ok", "auth failed", "registered", "deregistered", "credentials rotated",
    "key issued", "key revoked", "key mismatch", "replayed", "state change", "stop",
    "resume", "weather alert raised", "weather alert cleared", "refused input", "error",
    "cp command",
)
OUTCOMES = ("ok", "refused", "failed")
LOGGER = "evcharging.audit"
MAX_TEXT = 500  # characters of one parameter value or source kept
MAX_LIMIT = 1000  # rows in one query
REDACTED = "[redacted]"
_SECRET_NAME = re.compile(r"(^key$|^keys$|secret|password|passwd|token|wrapped|hmac|nonce)",
                          re.IGNORECASE)

log = logging.getLogger(LOGGER)

SCHEMA = """
CREATE TABLE IF NOT EXISTS audit (
    id INTEGER PRIMARY KEY,
    ts TEXT NOT NULL,
    actor TEXT NOT NULL,
    source TEXT NOT NULL,
    action TEXT NOT NULL,
    cp_id TEXT,
    params TEXT NOT NULL,
    outcome TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS audit_by_cp ON audit (cp_id, id);
CREATE INDEX IF NOT EXISTS audit_by_action ON audit (action, id);
CREATE INDEX IF NOT EXISTS audit_by_ts ON audit (ts);
CREATE TRIGGER IF NOT EXISTS audit_no_update BEFORE UPDATE ON audit
BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END;
CREATE TRIGGER IF NOT EXISTS audit_no_delete BEFORE DELETE ON audit
BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END;
"""
COLUMNS = ("id", "ts", "actor", "source", "action", "cp_id", "params", "outcome")

# The rows of the table before this schema (ts, actor, action, cp_id, detail).
_OLD_ACTIONS = {"add_cp": "registered", "add_driver": "registered"}


def utc_now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass(frozen=True)
class Record:
    """One event of the audit trail; ``ts`` is filled in when it is appended."""

    action: str
    actor: str
    source: str = ""
    cp_id: str | None = None
    params: dict[str, Any] = field(default_factory=dict)
    outcome: str = "ok"
    ts: str | None = None

    def __post_init__(self) -> None:
        if self.action not in ACTIONS:
            raise ValueError(f"unknown audit action {self.action!r}")
        if self.actor not in ACTORS:
            raise ValueError(f"unknown audit actor {self.actor!r}")
        if self.outcome not in OUTCOMES:
            raise ValueError(f"unknown audit outcome {self.outcome!r}")

    def row(self, ts: str) -> dict[str, Any]:
        """The record as a row (and a JSON line): parameters redacted and bounded."""
        return {"ts": self.ts or ts, "actor": self.actor, "source": _text(self.source),
                "action": self.action, "cp_id": self.cp_id,
                "params": redact(self.params), "outcome": self.outcome}


def redact(params: dict[str, Any]) -> dict[str, Any]:
    """``params`` fit for the trail: a value named like a key, secret, token or password,
    and any bytes, become ``[redacted]``; long texts are cut."""
    clean: dict[str, Any] = {}
    for name, value in params.items():
        name = str(name)
        if _SECRET_NAME.search(name) or isinstance(value, bytes | bytearray):
            clean[name] = REDACTED
        elif isinstance(value, dict):
            clean[name] = redact(value)
        elif isinstance(value, list | tuple | set | frozenset):
            clean[name] = [_plain(x) for x in (sorted(value) if isinstance(
                value, set | frozenset) else value)]
        else:
            clean[name] = _plain(value)
    return clean


def _plain(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, bytes | bytearray):
        return REDACTED
    return _text(str(value))


def _text(value: str | None) -> str:
    value = "" if value is None else str(value)
    return value if len(value) <= MAX_TEXT else value[:MAX_TEXT] + "…"


def json_line(row: dict[str, Any]) -> str:
    """One record as the JSON line the log carries."""
    return json.dumps(row, ensure_ascii=False, separators=(",", ":"))


# -- the table ---------------------------------------------------------------------
def ensure_table(conn: sqlite3.Connection) -> None:
    """Create the table (idempotent); a table of the older schema is migrated."""
    columns = {row[1] for row in conn.execute("PRAGMA table_info(audit)")}
    with conn:
        if columns and "detail" in columns:
            _migrate(conn)
        conn.executescript(SCHEMA)


def _migrate(conn: sqlite3.Connection) -> None:
    """Older rows (actor ``admin@addr`` or ``cli``, ``detail`` text) in the new schema."""
    old = conn.execute("SELECT id, ts, actor, action, cp_id, detail FROM audit ORDER BY id")
    rows = []
    for id_, ts, actor, action, cp_id, detail in old.fetchall():
        who, source = split_actor(actor or "")
        action = _OLD_ACTIONS.get(action, action if action in ACTIONS else "error")
        params = {"detail": detail} if detail else {}
        rows.append((id_, ts or "", who, source, action, cp_id, json_line(params), "ok"))
    conn.execute("DROP TABLE audit")
    conn.executescript(SCHEMA)
    conn.executemany("INSERT INTO audit (id, ts, actor, source, action, cp_id, params, "
                     "outcome) VALUES (?, ?, ?, ?, ?, ?, ?, ?)", rows)


def split_actor(text: str) -> tuple[str, str]:
    """``admin@10.0.0.5`` -> ("admin", "10.0.0.5"); ``cli`` -> ("admin", "console"); a
    name that is not an actor (``weather office``) -> ("service", name)."""
    kind, at, where = str(text).partition("@")
    if kind in ACTORS:
        return kind, where if at else ""
    if text == "cli":
        return "admin", "console"
    return "service", str(text)


def append(conn: sqlite3.Connection, record: Record, ts: str | None = None) -> dict[str, Any]:
    """Write ``record`` (committed) and log it as one JSON line; returns the row with its
    ``id``.  The caller serialises access to ``conn`` (one thread at a time)."""
    return append_many(conn, [(record, ts or utc_now())])[0]


def append_many(conn: sqlite3.Connection,
                records: list[tuple[Record, str]]) -> list[dict[str, Any]]:
    """Write ``(record, ts)`` pairs in order in one transaction, then log each as one
    JSON line; returns their rows with their ``id``.  One thread at a time."""
    rows = []
    with conn:
        for record, ts in records:
            row = record.row(ts)
            cursor = conn.execute(
                "INSERT INTO audit (ts, actor, source, action, cp_id, params, outcome) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                (row["ts"], row["actor"], row["source"], row["action"], row["cp_id"],
                 json_line(row["params"]), row["outcome"]))
            rows.append({"id": cursor.lastrowid, **row})
    for row in rows:
        log.info("%s", json_line(row))
    return rows


@dataclass(frozen=True)
class Query:
    """A filter on the trail: all given conditions hold; ``since`` is an ISO time."""

    cp_id: str | None = None
    action: str | None = None
    since: str | None = None

    def where(self) -> tuple[str, list[str]]:
        clauses, args = [], []
        for column, value in (("cp_id", self.cp_id), ("action", self.action)):
            if value is not None:
                clauses.append(f"{column} = ?")
                args.append(value)
        if self.since is not None:
            clauses.append("ts >= ?")
            args.append(self.since)
        return (" WHERE " + " AND ".join(clauses)) if clauses else "", args


def query(conn: sqlite3.Connection, where: Query = Query(), limit: int = 100,
          offset: int = 0) -> tuple[list[dict[str, Any]], int]:
    """Rows newest first (``params`` parsed) and how many the filter selects in all."""
    clause, args = where.where()
    total = conn.execute(f"SELECT count(*) FROM audit{clause}", args).fetchone()[0]
    rows = conn.execute(
        f"SELECT {', '.join(COLUMNS)} FROM audit{clause} ORDER BY id DESC LIMIT ? OFFSET ?",
        [*args, max(0, min(limit, MAX_LIMIT)), max(0, offset)]).fetchall()
    return [_parsed(dict(zip(COLUMNS, row, strict=True))) for row in rows], total


def _parsed(row: dict[str, Any]) -> dict[str, Any]:
    try:
        row["params"] = json.loads(row["params"] or "{}")
    except ValueError:
        row["params"] = {}
    return row


def parse_since(text: str) -> str:
    """A ``since`` argument (``2026-01-02`` or an ISO-8601 time with an offset or Z) as
    the trail's own UTC form; ValueError with a one-line reason otherwise."""
    value = str(text).strip()
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"since must be an ISO-8601 date or time, not {value[:40]!r}") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
