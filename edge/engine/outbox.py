"""The engine's outbox: every data-plane message, durable on the Pi until the broker acks it.

One SQLite file (``<state-dir>/outbox.db``), one row per message, in ``seq`` order.  A row
is committed (``synchronous=FULL``) before :meth:`Outbox.put` returns and deleted only
when the broker's PUBACK names it, so a reboot or a broker outage loses nothing.

Bounded at ``max_rows``: when full, :func:`shed_plan` frees room by dropping the oldest
telemetry first, then the oldest state and button events.  Supply records
(``supply_started`` / ``supply_ended``) are never shed: with only records left the
outbox grows past its bound and says so once.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

log = logging.getLogger(__name__)

DEFAULT_MAX_ROWS = 100_000
KINDS = ("event", "telemetry", "status")
RECORDS = ("supply_started", "supply_ended")
# what is shed first when the outbox is full: one tuple of message types per tier
SHED_TIERS: tuple[tuple[str, ...], ...] = (
    ("telemetry",),
    ("cp_status", "state_changed", "button_pressed"),
)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS outbox (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL,
    type TEXT NOT NULL,
    topic TEXT NOT NULL,
    payload BLOB NOT NULL,
    created_at TEXT NOT NULL
)
"""


@dataclass(frozen=True)
class Row:
    seq: int
    kind: str
    type: str
    topic: str
    payload: bytes


def shed_plan(counts: dict[str, int], excess: int) -> list[tuple[tuple[str, ...], int]]:
    """How many of the oldest rows of each tier to drop to free ``excess`` rows.

    ``counts`` is rows per message type.  The plan may free fewer than ``excess`` when
    only supply records are left: those are never shed.
    """
    plan = []
    for tier in SHED_TIERS:
        if excess <= 0:
            break
        available = sum(counts.get(kind, 0) for kind in tier)
        take = min(available, excess)
        if take:
            plan.append((tier, take))
            excess -= take
    return plan


class Outbox:
    def __init__(self, path: Path | str, max_rows: int = DEFAULT_MAX_ROWS) -> None:
        if max_rows < 1:
            raise ValueError("max_rows must be at least 1")
        self.max_rows = max_rows
        self.shed_total = 0
        self._over = False
        self._lock = threading.RLock()
        self._conn = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=FULL")
        self._conn.execute(_SCHEMA)
        self._counts: dict[str, int] = dict(
            self._conn.execute("SELECT type, COUNT(*) FROM outbox GROUP BY type").fetchall())

    @property
    def rows(self) -> int:
        with self._lock:
            return sum(self._counts.values())

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def put(self, topic: str, payload: bytes, kind: str, type_: str) -> int:
        """Store one message durably; returns its ``seq``.  ``type_`` is the message TYPE."""
        if kind not in KINDS:
            raise ValueError(f"unknown outbox kind {kind!r}")
        created = datetime.now(UTC).isoformat(timespec="milliseconds")
        with self._lock:
            counts = dict(self._counts)
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                self._make_room()
                cursor = self._conn.execute(
                    "INSERT INTO outbox (kind, type, topic, payload, created_at) "
                    "VALUES (?,?,?,?,?)", (kind, type_, topic, payload, created))
                self._conn.execute("COMMIT")
            except BaseException:
                self._conn.execute("ROLLBACK")
                self._counts = counts
                raise
            self._counts[type_] = self._counts.get(type_, 0) + 1
            return int(cursor.lastrowid or 0)

    def pending(self, limit: int, after: int = 0) -> list[Row]:
        """Up to ``limit`` rows with ``seq > after``, oldest first."""
        with self._lock:
            found = self._conn.execute(
                "SELECT seq, kind, type, topic, payload FROM outbox WHERE seq > ? "
                "ORDER BY seq LIMIT ?", (after, limit)).fetchall()
        return [Row(seq, kind, type_, topic, bytes(payload))
                for seq, kind, type_, topic, payload in found]

    def delete(self, seq: int) -> bool:
        """Forget a row the broker acknowledged; False if it was already gone (shed)."""
        with self._lock:
            found = self._conn.execute("SELECT type FROM outbox WHERE seq = ?", (seq,)).fetchone()
            if found is None:
                return False
            self._conn.execute("DELETE FROM outbox WHERE seq = ?", (seq,))
            self._counts[found[0]] -= 1
            return True

    def counters(self) -> dict[str, int]:
        with self._lock:
            return {"rows": self.rows, "shed_total": self.shed_total}

    def _make_room(self) -> None:
        excess = self.rows + 1 - self.max_rows
        if excess <= 0:
            self._over = False
            return
        shed = 0
        for tier, count in shed_plan(self._counts, excess):
            marks = ",".join("?" * len(tier))
            victims = self._conn.execute(
                f"SELECT seq, type FROM outbox WHERE type IN ({marks}) ORDER BY seq LIMIT ?",
                (*tier, count)).fetchall()
            self._conn.executemany("DELETE FROM outbox WHERE seq = ?", [(s,) for s, _ in victims])
            for _, type_ in victims:
                self._counts[type_] -= 1
            shed += len(victims)
        if shed:
            if self.shed_total == 0:
                log.warning("outbox full (%d rows): shedding the oldest telemetry and events",
                            self.max_rows)
            self.shed_total += shed
        if shed < excess and not self._over:
            self._over = True
            log.warning("outbox holds only supply records and grows past its bound of %d rows",
                        self.max_rows)
