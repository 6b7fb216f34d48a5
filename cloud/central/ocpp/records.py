"""The OCPP transaction table in Central's SQLite file: transaction id <-> session.

The table allocates transaction ids (``INTEGER PRIMARY KEY AUTOINCREMENT``: never
reused, so a charger's late StopTransaction never lands on a newer transaction) and
keeps them across restarts, so a StartTransaction repeated after Central restarted still
gets its first id.  A transaction's start is unique (:func:`transactions.start_key`).
The decisions are :mod:`cloud.central.ocpp.transactions`'; this is their storage.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from cloud.central.ocpp.transactions import Transaction, wh

SCHEMA = """
CREATE TABLE IF NOT EXISTS ocpp_transactions (
    transaction_id INTEGER PRIMARY KEY AUTOINCREMENT,
    cp_id TEXT NOT NULL,
    connector_id INTEGER NOT NULL,
    id_tag TEXT NOT NULL,
    meter_start_wh TEXT NOT NULL,
    started_at TEXT NOT NULL,
    session_id TEXT NOT NULL UNIQUE,
    driver_id TEXT,
    price_eur_kwh TEXT NOT NULL,
    stopped_at TEXT,
    meter_stop_wh TEXT,
    reason TEXT
);
CREATE UNIQUE INDEX IF NOT EXISTS ocpp_transactions_start
    ON ocpp_transactions (cp_id, connector_id, id_tag, started_at, meter_start_wh);
CREATE INDEX IF NOT EXISTS ocpp_transactions_open ON ocpp_transactions (cp_id, stopped_at);
"""
_COLUMNS = ("transaction_id, cp_id, connector_id, id_tag, meter_start_wh, started_at, "
            "session_id, driver_id, price_eur_kwh, stopped_at, meter_stop_wh, reason")


def _transaction(row: tuple[Any, ...] | None) -> Transaction | None:
    if row is None:
        return None
    (tid, cp_id, connector, id_tag, start, started_at, session_id, driver_id, price,
     stopped_at, stop, reason) = row
    return Transaction(tid, cp_id, connector, id_tag, Decimal(start), started_at, session_id,
                       driver_id, price, stopped_at, Decimal(stop) if stop else None, reason)


class TransactionRecords:
    """The table, on the store's connection and under its lock."""

    def __init__(self, store) -> None:  # a cloud.central.store.Store
        self.conn = store.db.conn
        self.lock = store.lock
        with self.lock, self.conn:
            self.conn.executescript(SCHEMA)

    def _one(self, where: str, params: list) -> Transaction | None:
        with self.lock:
            row = self.conn.execute(f"SELECT {_COLUMNS} FROM ocpp_transactions WHERE {where}",
                                    params).fetchone()
        return _transaction(row)

    def find(self, key: tuple[str, int, str, str, str]) -> Transaction | None:
        """The transaction whose start has this :func:`start_key`."""
        return self._one("cp_id = ? AND connector_id = ? AND id_tag = ? AND started_at = ? "
                         "AND meter_start_wh = ?", list(key))

    def get(self, transaction_id: int) -> Transaction | None:
        return self._one("transaction_id = ?", [transaction_id])

    def of_session(self, session_id: str) -> Transaction | None:
        return self._one("session_id = ?", [session_id])

    def open_at(self, cp_id: str) -> Transaction | None:
        """The CP's newest transaction not stopped yet."""
        return self._one("cp_id = ? AND stopped_at IS NULL ORDER BY transaction_id DESC",
                         [cp_id])

    def open_on(self, cp_id: str, connector_id: int) -> list[Transaction]:
        """The CP's transactions on that connector not stopped yet, oldest first."""
        with self.lock:
            rows = self.conn.execute(
                f"SELECT {_COLUMNS} FROM ocpp_transactions WHERE cp_id = ? AND "
                "connector_id = ? AND stopped_at IS NULL ORDER BY transaction_id",
                [cp_id, connector_id]).fetchall()
        return [_transaction(row) for row in rows]

    def add(self, transaction: Transaction) -> Transaction:
        """Store a new transaction; returns it with its id (the existing one's if the same
        start is there already)."""
        t = transaction
        with self.lock, self.conn:
            self.conn.execute(
                "INSERT INTO ocpp_transactions (cp_id, connector_id, id_tag, meter_start_wh, "
                "started_at, session_id, driver_id, price_eur_kwh) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
                " ON CONFLICT DO NOTHING",
                [t.cp_id, t.connector_id, t.id_tag, wh(t.meter_start_wh), t.started_at,
                 t.session_id, t.driver_id, t.price_eur_kwh])
        return self.find(t.key)

    def stopped(self, transaction_id: int, at: str, meter_stop_wh: Decimal, reason: str) -> None:
        """Its stop (the first one: a repeated StopTransaction changes nothing)."""
        with self.lock, self.conn:
            self.conn.execute(
                "UPDATE ocpp_transactions SET stopped_at = ?, meter_stop_wh = ?, reason = ? "
                "WHERE transaction_id = ? AND stopped_at IS NULL",
                [at, wh(meter_stop_wh), reason, transaction_id])

