"""The store's read-only reports for the dashboard and the API: the network's errors (a
view over the audit trail: :mod:`cloud.central.network_errors`) and the drivers' board
(a page of drivers, each one's last ticket).  A mixin of :class:`cloud.central.store.Store`:
same database, same lock.
"""

from __future__ import annotations

import json
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
        the same time, the one recorded last), by driver id: one seek a driver down the
        ``sessions_last_ticket`` index (a window over every ended session took 60 ms
        for a page of 1,000 drivers and 20,000 sessions)."""
        found: dict[str, dict[str, Any]] = {}
        with self._lock:
            for row in self.db.query(
                    "SELECT id, cp_id, driver_id, started_at, ended_at, kwh, eur, reason "
                    "FROM sessions WHERE rowid IN (SELECT (SELECT rowid FROM sessions "
                    "WHERE driver_id = wanted.value AND status = 'ended' "
                    "ORDER BY ended_at DESC, rowid DESC LIMIT 1) FROM json_each(?) AS wanted)",
                    [json.dumps(driver_ids)]):
                found[row["driver_id"]] = row
        return found

    def driver_page(self, limit: int | None, offset: int = 0) -> list[dict[str, Any]]:
        with self._lock:
            return list(self.db["drivers"].rows_where(order_by="id", limit=limit,
                                                      offset=offset or None))

    def driver_count(self) -> int:
        with self._lock:
            return self.db["drivers"].count
