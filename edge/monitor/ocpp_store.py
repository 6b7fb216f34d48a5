"""The OCPP charge point's durable state: a SQLite file beside the monitor.

Three tables: ``queue`` (transaction messages not yet answered by the central system, in
order), ``supplies`` (the ledger: each reported supply's register reading at its start,
its transaction id, whether its stop is queued) and ``settings`` (the register and the
configuration keys the central system changed).  A message is queued together with its
supply's row in one SQLite transaction, and the head leaves the queue together with the
transaction id its answer named, so a restart between any two steps neither loses a
message nor sends one twice (the head in flight when the monitor died is sent again, as
OCPP expects of a charge point).  At each start the monitor forgets the supplies ended
and reported long ago (:meth:`OcppStore.forget_old_supplies`), so the file does not grow
for ever.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from pathlib import Path

from .ocpp_ledger import Ledger, Supply, Transaction

SCHEMA = """
CREATE TABLE IF NOT EXISTS queue (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, session_id TEXT NOT NULL, action TEXT NOT NULL,
    payload TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS supplies (
    session_id TEXT PRIMARY KEY, id_tag TEXT NOT NULL, meter_start INTEGER NOT NULL,
    transaction_id INTEGER, ended INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""
REGISTER = "register_wh"
CONFIG = "config:"
INOPERATIVE = "inoperative_scheduled"
# Ended supplies remembered beyond those still queued: a record the engine sends again
# (its acknowledgement lost) is still known, and not reported as a new transaction.
KEEP_ENDED = 1000


class OcppStore:
    def __init__(self, path: Path | str) -> None:
        self._conn = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self._lock = threading.Lock()
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=FULL")
        self._conn.executescript(SCHEMA)

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    # -- what the core starts from ---------------------------------------------
    def ledger(self) -> Ledger:
        with self._lock:
            rows = self._conn.execute(
                "SELECT session_id, id_tag, meter_start, transaction_id, ended FROM supplies")
            supplies = [Supply(s, tag, start, tid, bool(ended))
                        for s, tag, start, tid, ended in rows]
            register = self._setting(REGISTER)
        return Ledger(supplies, int(register or 0))

    def forget_old_supplies(self, keep: int = KEEP_ENDED) -> int:
        """Forget the ended supplies whose messages have all been delivered, but the
        newest ``keep``; returns how many."""
        with self._lock, self._conn:
            return self._conn.execute(
                "DELETE FROM supplies WHERE ended = 1 AND session_id NOT IN "
                "(SELECT session_id FROM queue) AND rowid NOT IN (SELECT rowid FROM supplies "
                "WHERE ended = 1 ORDER BY rowid DESC LIMIT ?)", [keep]).rowcount

    def config(self) -> dict[str, str]:
        with self._lock:
            rows = self._conn.execute("SELECT key, value FROM settings WHERE key LIKE ?",
                                      [CONFIG + "%"])
            return {key[len(CONFIG):]: value for key, value in rows}

    def inoperative_scheduled(self) -> bool:
        """A ChangeAvailability to Inoperative answered Scheduled, not applied yet."""
        with self._lock:
            return self._setting(INOPERATIVE) == "1"

    # -- changes ------------------------------------------------------------------
    def enqueue(self, transaction: Transaction, supply: Supply, register_wh: int) -> int:
        """Queue a message with its supply's row and the register, all or nothing."""
        with self._lock, self._conn:
            self._conn.execute("BEGIN IMMEDIATE")
            self._conn.execute(
                "INSERT INTO supplies (session_id, id_tag, meter_start, transaction_id, ended) "
                "VALUES (?, ?, ?, ?, ?) ON CONFLICT(session_id) DO UPDATE SET "
                "ended = excluded.ended", [supply.session_id, supply.id_tag, supply.meter_start,
                                           supply.transaction_id, int(supply.ended)])
            self._put(REGISTER, str(register_wh))
            cursor = self._conn.execute(
                "INSERT INTO queue (session_id, action, payload) VALUES (?, ?, ?)",
                [transaction.session_id, transaction.action, json.dumps(transaction.payload())])
            return cursor.lastrowid

    def head(self) -> Transaction | None:
        with self._lock:
            row = self._conn.execute(
                "SELECT seq, session_id, action, payload, attempts FROM queue "
                "ORDER BY seq LIMIT 1").fetchone()
        if row is None:
            return None
        seq, session_id, action, payload, attempts = row
        return Transaction.load(session_id, action, json.loads(payload), seq, attempts)

    def delivered(self, seq: int, session_id: str, transaction_id: int | None) -> None:
        """The head is done; a StartTransaction's answer named the transaction id."""
        with self._lock, self._conn:
            self._conn.execute("BEGIN IMMEDIATE")
            if transaction_id is not None:
                self._conn.execute("UPDATE supplies SET transaction_id = ? WHERE session_id = ?",
                                   [transaction_id, session_id])
            self._conn.execute("DELETE FROM queue WHERE seq = ?", [seq])

    def attempted(self, seq: int) -> None:
        with self._lock:
            self._conn.execute("UPDATE queue SET attempts = attempts + 1 WHERE seq = ?", [seq])

    def depth(self) -> int:
        with self._lock:
            return self._conn.execute("SELECT count(*) FROM queue").fetchone()[0]

    def save_config(self, key: str, value: str) -> None:
        with self._lock:
            self._put(CONFIG + key, value)

    def schedule_inoperative(self, scheduled: bool) -> None:
        with self._lock:
            self._put(INOPERATIVE, "1" if scheduled else "0")

    def _put(self, key: str, value: str) -> None:
        self._conn.execute("INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT(key) "
                           "DO UPDATE SET value = excluded.value", [key, value])

    def _setting(self, key: str) -> str | None:
        row = self._conn.execute("SELECT value FROM settings WHERE key = ?", [key]).fetchone()
        return row and row[0]
