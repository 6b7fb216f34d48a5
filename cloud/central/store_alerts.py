"""The store's half for weather alerts: the ``alerts`` table, one row per location
under alert (as the weather office wrote it), so that alerts survive a restart of
Central.  A mixin of :class:`cloud.central.store.Store`: same database, same lock.
"""

from __future__ import annotations

from cloud.central.alerts import Alert

COLUMNS = ("location", "temperature_c", "threshold_c", "observed_at", "raised_at", "raised_by")


class AlertRecords:
    """Mixed into Store, which provides ``db`` (sqlite-utils) and ``_lock``."""

    def _create_alerts(self) -> None:
        self.db["alerts"].create({name: str for name in COLUMNS}, pk="location",
                                 if_not_exists=True)

    def save_alert(self, alert: Alert) -> None:
        with self._lock:
            self.db["alerts"].upsert(alert.as_json(), pk="location")

    def drop_alert(self, location: str) -> None:
        with self._lock, self.db.conn:
            self.db.execute("DELETE FROM alerts WHERE location = ?", [location])

    def alerts(self) -> list[Alert]:
        with self._lock:
            return [Alert(**{name: row[name] for name in COLUMNS})
                    for row in self.db["alerts"].rows_where(order_by="location")]
