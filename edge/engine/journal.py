"""The engine's supply journal: a local SQLite file, the source of truth for billing.

One row per supply, written when it starts, updated every second while it runs and
closed when it ends.  Each row remembers whether Central acknowledged its start and
end records; unacknowledged ones are rebuilt, with their original message ids, for
resending.  A supply still open at start-up (the engine died mid-supply) is closed with
its last journaled energy and the reason "engine restarted".
"""

from __future__ import annotations

import logging
import sqlite3
from decimal import Decimal
from pathlib import Path

import sqlite_utils

from protocol.messages import SupplyEnded, SupplyStarted

log = logging.getLogger(__name__)

RESTARTED = "engine restarted"
_COLUMNS = {
    "session_id": str, "cp_id": str, "driver_id": str, "price": str, "started_at": str,
    "updated_at": str, "ended_at": str, "kwh": str, "eur": str, "reason": str,
    "started_id": str, "ended_id": str, "started_reported": int, "ended_reported": int,
}


class Journal:
    def __init__(self, path: Path | str) -> None:
        self._conn = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self._db = sqlite_utils.Database(self._conn)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db["supplies"].create(_COLUMNS, pk="session_id", if_not_exists=True)
        self._db["settings"].create({"key": str, "value": str}, pk="key", if_not_exists=True)

    def close(self) -> None:
        self._conn.close()

    # -- supplies ----------------------------------------------------------------
    def open_supply(self, started: SupplyStarted) -> None:
        self._db["supplies"].upsert({
            "session_id": started.session_id, "cp_id": started.cp_id,
            "driver_id": started.driver_id, "price": started.price_eur_kwh,
            "started_at": started.started_at, "updated_at": started.started_at,
            "ended_at": None, "kwh": "0.000", "eur": "0.00", "reason": None,
            "started_id": started.id, "ended_id": None,
            "started_reported": 0, "ended_reported": 0,
        }, pk="session_id")

    def progress(self, session_id: str, kwh: Decimal, eur: Decimal, at: str) -> None:
        self._db.execute(
            "UPDATE supplies SET kwh = ?, eur = ?, updated_at = ? "
            "WHERE session_id = ? AND ended_at IS NULL",
            [str(kwh), str(eur), at, session_id],
        )

    def close_supply(self, ended: SupplyEnded) -> None:
        self._db.execute(
            "UPDATE supplies SET ended_at = ?, updated_at = ?, kwh = ?, eur = ?, reason = ?, "
            "ended_id = ? WHERE session_id = ?",
            [ended.ended_at, ended.ended_at, ended.kwh, ended.eur, ended.reason, ended.id,
             ended.session_id],
        )

    def recover(self, new_id) -> list[SupplyEnded]:
        """Close supplies left open by a crash; return their end records."""
        closed = []
        for row in list(self._db["supplies"].rows_where("ended_at IS NULL")):
            ended = SupplyEnded(
                cp_id=row["cp_id"], id=new_id(), session_id=row["session_id"],
                started_at=row["started_at"], ended_at=row["updated_at"], kwh=row["kwh"],
                eur=row["eur"], price_eur_kwh=row["price"], reason=RESTARTED,
                driver_id=row["driver_id"],
            )
            self.close_supply(ended)
            log.warning("supply %s was open at start-up: closed (%s) at %s kWh, %s EUR",
                        ended.session_id, RESTARTED, ended.kwh, ended.eur)
            closed.append(ended)
        return closed

    def acknowledge(self, ref: str, session_id: str) -> bool:
        """Central stored record ``ref``; True when it named one of ours."""
        row = next(self._db["supplies"].rows_where("session_id = ?", [session_id]), None)
        if row is None:
            return False
        if ref == row["ended_id"]:
            self._db["supplies"].update(session_id, {"started_reported": 1, "ended_reported": 1})
            return True
        if ref == row["started_id"]:
            self._db["supplies"].update(session_id, {"started_reported": 1})
            return True
        return False

    def unreported(self) -> list[SupplyStarted | SupplyEnded]:
        """Records Central has not acknowledged yet, oldest supply first, start before end."""
        out: list[SupplyStarted | SupplyEnded] = []
        where = "started_reported = 0 OR (ended_at IS NOT NULL AND ended_reported = 0)"
        for row in self._db["supplies"].rows_where(where, order_by="started_at"):
            if not row["started_reported"]:
                out.append(SupplyStarted(
                    cp_id=row["cp_id"], id=row["started_id"], session_id=row["session_id"],
                    started_at=row["started_at"], price_eur_kwh=row["price"],
                    driver_id=row["driver_id"],
                ))
            if row["ended_at"] is not None and not row["ended_reported"]:
                out.append(_ended(row))
        return out

    def supplies(self) -> list[dict]:
        return list(self._db["supplies"].rows_where(order_by="started_at"))

    def totals(self) -> tuple[Decimal, Decimal]:
        """Sum of kWh and EUR over every closed supply."""
        rows = self._db["supplies"].rows_where("ended_at IS NOT NULL")
        kwh = eur = Decimal(0)
        for row in rows:
            kwh += Decimal(row["kwh"])
            eur += Decimal(row["eur"])
        return kwh, eur

    # -- settings ----------------------------------------------------------------
    @property
    def stopped(self) -> bool:
        row = next(self._db["settings"].rows_where("key = 'stopped'"), None)
        return bool(row and row["value"] == "1")

    @stopped.setter
    def stopped(self, value: bool) -> None:
        self._db["settings"].upsert({"key": "stopped", "value": "1" if value else "0"}, pk="key")


def _ended(row: dict) -> SupplyEnded:
    return SupplyEnded(
        cp_id=row["cp_id"], id=row["ended_id"], session_id=row["session_id"],
        started_at=row["started_at"], ended_at=row["ended_at"], kwh=row["kwh"],
        eur=row["eur"], price_eur_kwh=row["price"], reason=row["reason"],
        driver_id=row["driver_id"],
    )
