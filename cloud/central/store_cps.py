"""The store's half for a CP's registration: what ``ev-registry`` changes in the ``cps``
table (update, new secret, deregistration) and the registration state it shows, beside
what Central writes there (the last authentication).  A mixin of
:class:`cloud.central.store.Store`: same database, same lock, same schema.

Columns of ``cps`` this adds (migrated when a database from before them is opened):
``last_auth_at`` (UTC ISO time of the CP's last successful login; Central calls
:meth:`CpRecords.set_last_auth`).  ``created_at`` is "registered since".

Deregistration deletes the CP's row (and its keys in ``cp_keys``): it can no longer
authenticate, and Central, which notices within a second, drops its link.  Its
sessions stay, as history.  Registering it again is a new registration with a new
secret.

A new CP's row gets a rowid above every one given before, even those of deregistered
CPs (SQLite alone would give the rowid of a deleted last row again): Central notices new
registrations by rowid.  ``cp_rowids`` keeps the highest given, seeded from the table
when a database from before it is opened.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from protocol import auth
from protocol.messages import MAX_TEXT

CP_COLUMNS = {"last_auth_at": "TEXT"}
KEYS_TABLE = "cp_keys"  # Central's per-CP keys: cp_id, key_id, key, issued_at, retired_at


class CpRecords:
    """Mixed into Store, which provides ``db`` (sqlite-utils) and ``_lock``."""

    def _migrate_cp_columns(self) -> None:
        columns = self.db["cps"].columns_dict
        with self.db.conn:
            for name, kind in CP_COLUMNS.items():
                if name not in columns:
                    self.db.execute(f"ALTER TABLE cps ADD COLUMN {name} {kind}")

    def _create_cp_rowids(self) -> None:
        with self.db.conn:
            self.db.execute("CREATE TABLE IF NOT EXISTS cp_rowids (last INTEGER NOT NULL)")
            self.db.execute("INSERT INTO cp_rowids SELECT coalesce(max(rowid), 0) FROM cps "
                            "WHERE NOT EXISTS (SELECT 1 FROM cp_rowids)")

    def _insert_cp(self, row: dict[str, str]) -> None:
        """Insert a CP's row on a rowid never given before (one transaction)."""
        columns = ", ".join(row)
        with self.db.conn:
            self.db.execute(
                f"INSERT INTO cps (rowid, {columns}) VALUES (max((SELECT last FROM cp_rowids), "
                f"coalesce((SELECT max(rowid) FROM cps), 0)) + 1, {', '.join('?' * len(row))})",
                list(row.values()))
            self.db.execute("UPDATE cp_rowids SET last = last_insert_rowid()")

    def set_last_auth(self, cp_id: str, at: str) -> None:
        """A CP logged in at ``at`` (Central, at each successful authentication)."""
        with self._lock, self.db.conn:
            self.db.execute("UPDATE cps SET last_auth_at = ? WHERE id = ?", [at, cp_id])

    def update_cp(self, cp_id: str, location: str, price_eur_kwh: Decimal) -> bool:
        """New location and price for a registered CP; False if it is not registered."""
        with self._lock, self.db.conn:
            return self.db.execute(
                "UPDATE cps SET location = ?, price_eur_kwh = ? WHERE id = ?",
                [location[:MAX_TEXT], str(price_eur_kwh), cp_id]).rowcount == 1

    def new_secret(self, cp_id: str) -> str | None:
        """Replace a CP's secret (credentials rotated): the new one, shown once; None if
        the CP is not registered.  Its next login needs the new secret."""
        secret = auth.new_secret()
        with self._lock, self.db.conn:
            changed = self.db.execute("UPDATE cps SET secret_key = ? WHERE id = ?",
                                      [auth.secret_key(secret).hex(), cp_id]).rowcount
        return secret if changed == 1 else None

    def remove_cp(self, cp_id: str) -> bool:
        """Deregister a CP: its row and its keys go; False if it was not registered."""
        with self._lock, self.db.conn:
            removed = self.db.execute("DELETE FROM cps WHERE id = ?", [cp_id]).rowcount
            if removed and self.db[KEYS_TABLE].exists():
                self.db.execute(f"DELETE FROM {KEYS_TABLE} WHERE cp_id = ?", [cp_id])
        return removed == 1

    def registration(self, cp_id: str, now: datetime) -> dict[str, Any] | None:
        """A CP's registration state (never a secret nor a key): location, price,
        registered since, last authentication, and its current key's id and age."""
        with self._lock:
            row = self._one("cps", cp_id)
            if row is None:
                return None
            key = self._current_key(cp_id)
        state = {"cp_id": cp_id, "location": row["location"],
                 "price_eur_kwh": row["price_eur_kwh"], "registered_since": row["created_at"],
                 "last_auth": row.get("last_auth_at"), "has_key": key is not None,
                 "key_id": None, "key_age_s": None}
        if key is not None:
            state["key_id"] = key["key_id"]
            state["key_age_s"] = _age(key["issued_at"], now)
        return state

    def _current_key(self, cp_id: str) -> dict[str, Any] | None:
        if not self.db[KEYS_TABLE].exists():
            return None
        rows = list(self.db.query(
            f"SELECT key_id, issued_at FROM {KEYS_TABLE} WHERE cp_id = ? AND retired_at IS NULL "
            "ORDER BY issued_at DESC LIMIT 1", [cp_id]))
        return rows[0] if rows else None


def _age(issued_at: str | None, now: datetime) -> int | None:
    try:
        issued = datetime.fromisoformat(str(issued_at).replace("Z", "+00:00"))
        return max(0, int((now - issued).total_seconds()))
    except (TypeError, ValueError):
        return None
