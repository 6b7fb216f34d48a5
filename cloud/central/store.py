"""Central's SQLite store: the one module that owns the database (sqlite-utils).

One connection in WAL mode, shared by the CP server's event loop and the HTTP threads
and guarded by a lock.  Supply records are idempotent upserts keyed by ``session_id``:
a duplicate or late record never counts twice, and an ended record wins over a
started one.  A CP's secret is returned once by :meth:`Store.add_cp`; only the key
derived from it (``protocol.auth.secret_key``) is stored, and the CP server reads it
through the :class:`~cloud.central.ports.Registry` methods (``knows``, ``secret_key``).
A CP's stop reasons are kept as one comma-separated column (``stop_reasons``; a
database from before them, with ``enabled``, is migrated when opened: a stopped CP
gets the admin reason).  What the registry changes in a CP's row, and its last
authentication, are in :mod:`cloud.central.store_cps`; supply sessions in
:mod:`cloud.central.store_sessions`; weather alerts in :mod:`cloud.central.store_alerts`.
"""

from __future__ import annotations

import sqlite3
import threading
from decimal import Decimal, InvalidOperation
from typing import Any

import sqlite_utils

from cloud.central import audit
from cloud.central.audit_writer import AuditWriter
from cloud.central.cpstate import StopReason, stop_reasons
from cloud.central.errors import BadPrice, BadRegistration, CpIdTaken, DriverIdTaken
from cloud.central.store_alerts import AlertRecords
from cloud.central.store_cps import CpRecords
from cloud.central.store_reports import ReportQueries
from cloud.central.store_sessions import SessionRecords
from protocol import auth
from protocol.messages import CP_ID, DRIVER_ID, MAX_TEXT, utc_now
from protocol.states import SessionStatus

STATUSES = tuple(SessionStatus)

def price(value: object) -> Decimal:
    """A price in EUR/kWh: a finite, non-negative decimal; raises BadPrice."""
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        raise BadPrice(f"price must be a decimal number, not {value!r}") from None
    if not number.is_finite() or number < 0:
        raise BadPrice(f"price must be a finite non-negative number, not {value!r}")
    return number


class Store(CpRecords, SessionRecords, AlertRecords, ReportQueries):
    def __init__(self, path: str) -> None:
        self.path = str(path)
        self._lock = threading.RLock()
        conn = sqlite3.connect(self.path, check_same_thread=False, timeout=10)
        self.db = sqlite_utils.Database(conn)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self._create()

    def _create(self) -> None:
        with self._lock:
            self.db["cps"].create(
                {"id": str, "location": str, "price_eur_kwh": str, "secret_key": str,
                 "stop_reasons": str, "created_at": str},
                pk="id", if_not_exists=True,
            )
            self._migrate_enabled()
            self._migrate_cp_columns()
            self._create_cp_rowids()
            self.db["drivers"].create({"id": str, "created_at": str}, pk="id", if_not_exists=True)
            self.db["sessions"].create(
                {"id": str, "cp_id": str, "driver_id": str, "source": str, "price_eur_kwh": str,
                 "authorized_at": str, "started_at": str, "ended_at": str, "kwh": str,
                 "eur": str, "reason": str, "status": str},
                pk="id", if_not_exists=True,
            )
            self.db["sessions"].create_index(["cp_id"], if_not_exists=True)
            self.db["sessions"].create_index(["driver_id"], if_not_exists=True)
            self.db["sessions"].create_index(["driver_id", "status", "ended_at"],
                                             index_name="sessions_last_ticket",
                                             if_not_exists=True)
            audit.ensure_table(self.db.conn)
            self._create_alerts()
            self._create_error_index()
        self.audit_writer = AuditWriter(self.db.conn, self._lock)

    def _migrate_enabled(self) -> None:
        """A database from before stop reasons: ``enabled = 0`` becomes {admin}."""
        columns = self.db["cps"].columns_dict
        if "enabled" not in columns:
            return
        with self.db.conn:
            if "stop_reasons" not in columns:
                self.db.execute("ALTER TABLE cps ADD COLUMN stop_reasons TEXT")
            self.db.execute("UPDATE cps SET stop_reasons = CASE WHEN enabled = 0 THEN ? "
                            "ELSE '' END", [str(StopReason.ADMIN)])
        self.db["cps"].transform(drop={"enabled"})

    @property
    def lock(self) -> threading.RLock:
        """Held while the connection is used (the key store and the audit trail too)."""
        return self._lock

    def close(self) -> None:
        self.audit_writer.close()
        with self._lock:
            self.db.close()

    def _one(self, table: str, key: str) -> dict[str, Any] | None:
        rows = list(self.db[table].rows_where("id = ?", [key], limit=1))
        return rows[0] if rows else None

    # -- charging points -------------------------------------------------------
    def add_cp(self, cp_id: str, location: str, price_eur_kwh: object) -> str:
        """Register a CP; returns its secret (plaintext, shown once)."""
        if not isinstance(cp_id, str) or not CP_ID.match(cp_id):
            raise BadRegistration(f"bad CP id {cp_id!r}")
        if not isinstance(location, str) or len(location) > MAX_TEXT:
            raise BadRegistration("location must be text of at most 200 characters")
        amount = price(price_eur_kwh)
        secret = auth.new_secret()
        with self._lock:
            if self._one("cps", cp_id):
                raise CpIdTaken(cp_id)
            self._insert_cp({
                "id": cp_id, "location": location, "price_eur_kwh": str(amount),
                "secret_key": auth.secret_key(secret).hex(), "stop_reasons": "",
                "created_at": utc_now(),
            })
        return secret

    def cp(self, cp_id: str) -> dict[str, Any] | None:
        with self._lock:
            return self._one("cps", cp_id)

    def cps(self) -> list[dict[str, Any]]:
        with self._lock:
            return list(self.db["cps"].rows_where(order_by="id"))

    def cps_after(self, rowid: int) -> list[dict[str, Any]]:
        """CPs registered after row ``rowid`` (by any process), each with its
        ``rowid``: cheap enough to ask every fraction of a second."""
        with self._lock:
            return list(self.db["cps"].rows_where("rowid > ?", [rowid], select="rowid, *",
                                                  order_by="rowid"))

    def set_stop_reasons(self, cp_id: str, reasons: frozenset[StopReason]) -> None:
        with self._lock:
            self.db["cps"].update(cp_id, {"stop_reasons": ",".join(sorted(reasons))})

    @staticmethod
    def stop_reasons(row: dict[str, Any]) -> frozenset[StopReason]:
        """The stop reasons of a ``cps`` row."""
        return stop_reasons(x for x in (row.get("stop_reasons") or "").split(",") if x)

    # -- the registry (credentials) ---------------------------------------------
    def knows(self, cp_id: str) -> bool:
        return isinstance(cp_id, str) and self.cp(cp_id) is not None

    def secret_key(self, cp_id: str) -> str | None:
        with self._lock:
            rows = list(self.db.execute("SELECT secret_key FROM cps WHERE id = ?", [cp_id]))
        return rows[0][0] if rows else None

    def cp_terms(self) -> dict[str, tuple[str, str]]:
        """Every registered CP's location and price, by id."""
        with self._lock:
            return {cp_id: (location or "", price) for cp_id, location, price in
                    self.db.execute("SELECT id, location, price_eur_kwh FROM cps")}

    def changed_elsewhere(self) -> int:
        """SQLite's ``data_version``: it changes when another process (the registry,
        ``ev-central cp add``) commits to the file, never for our own writes."""
        with self._lock:
            return self.db.execute("PRAGMA data_version").fetchone()[0]

    def set_location(self, cp_id: str, location: str) -> None:
        with self._lock:
            self.db["cps"].update(cp_id, {"location": location[:MAX_TEXT]})

    # -- drivers ---------------------------------------------------------------
    def add_driver(self, driver_id: str) -> None:
        if not isinstance(driver_id, str) or not DRIVER_ID.match(driver_id):
            raise BadRegistration(f"bad driver id {driver_id!r}")
        with self._lock:
            if self._one("drivers", driver_id):
                raise DriverIdTaken(driver_id)
            self.db["drivers"].insert({"id": driver_id, "created_at": utc_now()})

    def driver(self, driver_id: str) -> dict[str, Any] | None:
        with self._lock:
            return self._one("drivers", driver_id)

    def drivers(self) -> list[dict[str, Any]]:
        with self._lock:
            return list(self.db["drivers"].rows_where(order_by="id"))

    def remove_driver(self, driver_id: str) -> bool:
        """Remove a driver (its sessions stay); False if there was none."""
        with self._lock, self.db.conn:
            return self.db.execute("DELETE FROM drivers WHERE id = ?", [driver_id]).rowcount == 1

    # -- audit trail ---------------------------------------------------------
    def append_audit(self, record: audit.Record) -> dict[str, Any]:
        """Append one record to the audit trail (and its JSON line to the log), after
        those queued before it."""
        with self._lock:
            self.audit_writer.flush()
            return audit.append(self.db.conn, record)

    def queue_audit(self, record: audit.Record, after=None) -> None:
        """Append ``record`` from the audit writer's thread (in order, in a batch), then
        call ``after(row)``: what a loop that must not wait for SQLite appends."""
        self.audit_writer.append(record, after)

    def audit_log(self, limit: int = 100, cp_id: str | None = None, action: str | None = None,
                  since: str | None = None, offset: int = 0) -> list[dict[str, Any]]:
        """The audit trail newest first, filtered."""
        return self.audit_page(audit.Query(cp_id, action, since), limit, offset)[0]

    def audit_page(self, where: audit.Query, limit: int = 100,
                   offset: int = 0) -> tuple[list[dict[str, Any]], int]:
        """One page of the audit trail newest first, and how many rows match in all
        (every record queued before included)."""
        with self._lock:
            self.audit_writer.flush()
            return audit.query(self.db.conn, where, limit, offset)
