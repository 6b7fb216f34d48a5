"""The CPs' keys, persisted: the ``cp_keys`` table and :class:`Keys`, the thread-safe
shell around the pure :class:`~cloud.central.keyring.KeyRing`.

Central issues a CP's key at each login and keeps it (hex) in SQLite beside the CP's
other credentials, so that a restarted Central still opens what the bridge buffered in
Kafka.  Rows: ``cp_id, key_id, key, issued_at, retired_at`` (UTC ISO-8601; no
``retired_at``: the current key).  The registry, another process on the same file,
reads a CP's key state (:func:`key_state`: never the key) and deletes a deregistered
CP's keys (:func:`delete_all`).  The key of a row never reaches a log line, an audit
record or an error message.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from cloud.central.keyring import GRACE, IssuedKey, KeyRing, new_key_id
from protocol import seal

SCHEMA = """
CREATE TABLE IF NOT EXISTS cp_keys (
    key_id TEXT PRIMARY KEY,
    cp_id TEXT NOT NULL,
    key TEXT NOT NULL,
    issued_at TEXT NOT NULL,
    retired_at TEXT
);
CREATE INDEX IF NOT EXISTS cp_keys_by_cp ON cp_keys (cp_id);
"""


def iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="milliseconds").replace(
        "+00:00", "Z")


def epoch(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def ensure_table(conn: sqlite3.Connection) -> None:
    with conn:
        conn.executescript(SCHEMA)


def load(conn: sqlite3.Connection) -> list[IssuedKey]:
    rows = conn.execute("SELECT cp_id, key_id, key, issued_at, retired_at FROM cp_keys")
    return [IssuedKey(cp_id, seal.Key(key_id, bytes.fromhex(key)), epoch(issued),
                      epoch(retired) if retired else None)
            for cp_id, key_id, key, issued, retired in rows.fetchall()]


def delete_all(conn: sqlite3.Connection, cp_id: str) -> int:
    """Delete every key of ``cp_id`` (revocation, deregistration); how many there were."""
    with conn:
        return conn.execute("DELETE FROM cp_keys WHERE cp_id = ?", [cp_id]).rowcount


def key_state(conn: sqlite3.Connection, cp_id: str, now: float | None = None) -> dict[str, Any]:
    """``{"has_key", "key_id", "key_issued_at", "key_age_s"}`` of the CP's current key
    (None values when it has none); never the key."""
    row = conn.execute("SELECT key_id, issued_at FROM cp_keys WHERE cp_id = ? AND "
                       "retired_at IS NULL ORDER BY issued_at DESC LIMIT 1", [cp_id]).fetchone()
    if row is None:
        return {"has_key": False, "key_id": None, "key_issued_at": None, "key_age_s": None}
    now = time.time() if now is None else now
    return {"has_key": True, "key_id": row[0], "key_issued_at": row[1],
            "key_age_s": max(0, round(now - epoch(row[1])))}


class Keys:
    """Every CP's keys, in memory and in ``cp_keys``; safe from any thread.  ``conn`` is
    used under ``lock`` (the store's)."""

    def __init__(self, conn: sqlite3.Connection, lock: threading.RLock,
                 clock: Callable[[], float] = time.time, grace: float = GRACE,
                 new_key: Callable[[], seal.Key] = lambda: seal.new_key(new_key_id())) -> None:
        self.conn, self.lock, self.clock, self.new_key = conn, lock, clock, new_key
        with self.lock:
            ensure_table(conn)
            self.ring = KeyRing(load(conn), grace)
            self._save_expired(self.ring.expire(clock()))

    def issue(self, cp_id: str) -> IssuedKey:
        """A fresh key for the CP, persisted; the one it had stays for the data plane."""
        key = self.new_key()
        with self.lock:
            current, retired, dropped = self.ring.issue(cp_id, key, self.clock())
            with self.conn:
                if retired is not None:
                    self.conn.execute("UPDATE cp_keys SET retired_at = ? WHERE key_id = ?",
                                      [iso(retired.retired_at), retired.key_id])
                self.conn.executemany("DELETE FROM cp_keys WHERE key_id = ?",
                                      [[issued.key_id] for issued in dropped])
                self.conn.execute(
                    "INSERT INTO cp_keys (key_id, cp_id, key, issued_at) VALUES (?, ?, ?, ?)",
                    [key.key_id, cp_id, key.secret.hex(), iso(current.issued_at)])
            return current

    def current(self, cp_id: str) -> IssuedKey | None:
        with self.lock:
            return self.ring.current(cp_id)

    def for_data(self, cp_id: str, key_id: str) -> seal.Key | None:
        """The key that opens a data-plane message of ``cp_id`` sealed under ``key_id``.

        The current one takes no lock: Kafka's thread opens every record, and waiting
        for the store's lock, held by the CP server's loop and the HTTP threads in turn,
        cost more than the opening.  It is one dict lookup, atomic: a key issued or
        revoked at the same moment is seen either before or after, as if the record had
        come a moment later or earlier."""
        current = self.ring.current_keys.get(cp_id)
        if current is not None and current.key_id == key_id:
            return current
        with self.lock:
            return self.ring.for_data(cp_id, key_id, self.clock())

    def revoke(self, cp_id: str) -> tuple[str, ...]:
        """Delete every key of the CP (memory and table); returns their ids."""
        with self.lock:
            key_ids = self.ring.revoke(cp_id)
            delete_all(self.conn, cp_id)
            return key_ids

    def expire(self) -> None:
        """Drop the earlier keys past their grace (the sweep calls this)."""
        with self.lock:
            self._save_expired(self.ring.expire(self.clock()))

    def _save_expired(self, dropped: list[IssuedKey]) -> None:
        if dropped:
            with self.conn:
                self.conn.executemany("DELETE FROM cp_keys WHERE key_id = ?",
                                      [[issued.key_id] for issued in dropped])
