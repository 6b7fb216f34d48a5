"""The store's read-only reports for the dashboard and the API: the network's errors (a
view over the audit trail: :mod:`cloud.central.network_errors`) and the drivers' board
(a page of drivers, each one's last ticket).  A mixin of :class:`cloud.central.store.Store`:
same database, same lock.
"""

from __future__ import annotations

from typing import Any

from cloud.central import network_errors


class ReportQueries:
    """Mixed into Store, which provides ``db`` (sqlite-utils), ``_lock`` and
    ``audit_writer``."""

    def _create_error_index(self) -> None:
        """The errors' rows of the audit trail, indexed apart (a partial index): a page
        and its count read them alone, however long the trail."""
        with self.db.conn:
            self.db.execute(network_errors.INDEX)

    def error_page(self, since: str | None, limit: int = 50,
                   offset: int = 0) -> tuple[list[dict[str, Any]], int]:
        """One page of the network's errors newest first (:mod:`network_errors`: a view
        over the audit trail), and how many there are in all."""
        with self._lock:
            self.audit_writer.flush()
            return network_errors.query(self.db.conn, since, limit, offset)

    def last_tickets(self, driver_ids: list[str]) -> dict[str, dict[str, Any]]:
        """Each driver's last ended session (the latest ``ended_at``; of two ended at
        the same time, the one recorded last), by driver id."""
        found: dict[str, dict[str, Any]] = {}
        with self._lock:
            for start in range(0, len(driver_ids), 500):
                chunk = driver_ids[start:start + 500]
                marks = ", ".join("?" * len(chunk))
                for row in self.db.query(
                        "SELECT * FROM (SELECT id, cp_id, driver_id, started_at, ended_at, "
                        "kwh, eur, reason, row_number() OVER (PARTITION BY driver_id "
                        "ORDER BY ended_at DESC, rowid DESC) AS n FROM sessions "
                        f"WHERE status = 'ended' AND driver_id IN ({marks})) WHERE n = 1",
                        chunk):
                    found[row["driver_id"]] = row
        return found

    def driver_page(self, limit: int | None, offset: int = 0) -> list[dict[str, Any]]:
        with self._lock:
            return list(self.db["drivers"].rows_where(order_by="id", limit=limit,
                                                      offset=offset or None))

    def driver_count(self) -> int:
        with self._lock:
            return self.db["drivers"].count
