"""Central's store, part: the supply sessions (a mixin of :class:`cloud.central.store.Store`,
which owns the connection and its lock).

Supply records are idempotent upserts keyed by ``session_id``: a duplicate or late
record never counts twice, and an ended record wins over a started one.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from protocol.messages import MAX_TEXT, new_id
from protocol.states import SessionStatus

# Supply records as idempotent upserts keyed by session id.  A record fills in what the
# authorization knew (CP, driver, source) and keeps it; a duplicate, a start after the
# end, or a second end changes nothing (rowcount 0).
_STARTED = """
INSERT INTO sessions (id, cp_id, driver_id, source, price_eur_kwh, started_at, status)
VALUES (?, ?, ?, 'cp', ?, ?, 'supplying')
ON CONFLICT (id) DO UPDATE SET
    driver_id = coalesce(excluded.driver_id, driver_id),
    source = coalesce(nullif(source, ''), 'cp'),
    price_eur_kwh = excluded.price_eur_kwh, started_at = excluded.started_at,
    status = 'supplying', reason = NULL, ended_at = NULL
WHERE coalesce(status, '') NOT IN ('supplying', 'ended')
"""
_ENDED = """
INSERT INTO sessions (id, cp_id, driver_id, source, price_eur_kwh, started_at, ended_at,
                      kwh, eur, reason, status)
VALUES (?, ?, ?, 'cp', ?, ?, ?, ?, ?, ?, 'ended')
ON CONFLICT (id) DO UPDATE SET
    driver_id = coalesce(excluded.driver_id, driver_id),
    source = coalesce(nullif(source, ''), 'cp'),
    price_eur_kwh = excluded.price_eur_kwh, started_at = excluded.started_at,
    ended_at = excluded.ended_at, kwh = excluded.kwh, eur = excluded.eur,
    reason = excluded.reason, status = 'ended'
WHERE coalesce(status, '') != 'ended'
"""


def _session_filter(
    cp_id: str | None, driver_id: str | None, day: str | None, status: str | None = None
) -> tuple[str | None, list[str]]:
    """The where clause of a sessions query.  A session's day is the UTC date on which
    it started (or was asked for, when no supply started); SQLite's date() converts any
    offset a timestamp carries to UTC."""
    where, args = [], []
    for column, value in (("cp_id", cp_id), ("driver_id", driver_id), ("status", status)):
        if value is not None:
            where.append(f"{column} = ?")
            args.append(value)
    if day is not None:
        where.append("date(coalesce(started_at, authorized_at, ended_at)) = ?")
        args.append(str(day))
    return " and ".join(where) or None, args


class SessionRecords:
    """Mixed into Store, which provides ``db`` (sqlite-utils), ``_lock`` and ``_one``."""

    def session(self, session_id: str) -> dict[str, Any] | None:
        with self._lock:
            return self._one("sessions", session_id)

    def sessions(
        self, cp_id: str | None = None, driver_id: str | None = None, limit: int | None = 1000,
        day: str | None = None, offset: int = 0, status: str | None = None,
    ) -> list[dict[str, Any]]:
        """Sessions newest first, filtered by CP, driver, UTC day (``YYYY-MM-DD``) and
        status."""
        where, args = _session_filter(cp_id, driver_id, day, status)
        order = "coalesce(ended_at, started_at, authorized_at) desc, id"
        with self._lock:
            return list(self.db["sessions"].rows_where(
                where, args, order_by=order, limit=limit, offset=offset or None))

    def session_count(self, cp_id: str | None = None, driver_id: str | None = None,
                      day: str | None = None, status: str | None = None) -> int:
        """How many sessions the same filter selects."""
        where, args = _session_filter(cp_id, driver_id, day, status)
        with self._lock:
            return self.db["sessions"].count_where(where or "1", args)

    def session_amounts(
        self, cp_id: str | None = None, driver_id: str | None = None, day: str | None = None,
        status: str | None = None,
    ) -> list[tuple[str | None, str | None]]:
        """``(kwh, eur)`` of every session the same filter selects, unpaged."""
        where, args = _session_filter(cp_id, driver_id, day, status)
        with self._lock:
            rows = self.db["sessions"].rows_where(where, args, select="kwh, eur")
            return [(row["kwh"], row["eur"]) for row in rows]

    def sessions_with_status(self, status: str) -> list[dict[str, Any]]:
        with self._lock:
            return list(self.db["sessions"].rows_where("status = ?", [status]))

    def record_authorized(
        self, session_id: str, cp_id: str, driver_id: str | None, source: str,
        price_eur_kwh: str, at: str,
    ) -> None:
        with self._lock:
            if self._one("sessions", session_id):
                return
            self.db["sessions"].insert({
                "id": session_id, "cp_id": cp_id, "driver_id": driver_id, "source": source,
                "price_eur_kwh": price_eur_kwh, "authorized_at": at,
                "status": SessionStatus.AUTHORIZED,
            })

    def record_denied(
        self, cp_id: str, driver_id: str | None, source: str, reason: str, at: str
    ) -> str:
        session_id = new_id()
        with self._lock:
            self.db["sessions"].insert({
                "id": session_id, "cp_id": cp_id, "driver_id": driver_id, "source": source,
                "authorized_at": at, "ended_at": at, "reason": reason,
                "status": SessionStatus.DENIED,
            })
        return session_id

    def expire(self, session_id: str, reason: str, at: str) -> bool:
        """An authorization not used: authorized -> expired.  True if it changed."""
        with self._lock:
            row = self._one("sessions", session_id)
            if not row or row["status"] != SessionStatus.AUTHORIZED:
                return False
            self.db["sessions"].update(
                session_id, {"status": SessionStatus.EXPIRED, "reason": reason, "ended_at": at})
            return True

    def record_started(
        self, session_id: str, cp_id: str, driver_id: str | None, price_eur_kwh: str,
        started_at: str,
    ) -> bool:
        """A supply started; True if this record changed anything (not a duplicate)."""
        return self._record(_STARTED, [session_id, cp_id, driver_id or None, price_eur_kwh,
                                       started_at])

    def record_ended(
        self, session_id: str, cp_id: str, driver_id: str | None, price_eur_kwh: str,
        started_at: str, ended_at: str, kwh: str, eur: str, reason: str,
    ) -> bool:
        """A supply ended (its final, billed record); True unless a duplicate."""
        return self._record(_ENDED, [session_id, cp_id, driver_id or None, price_eur_kwh,
                                     started_at, ended_at, str(Decimal(kwh)),
                                     str(Decimal(eur)), reason[:MAX_TEXT]])

    def _record(self, sql: str, params: list) -> bool:
        """One statement a record: supply records arrive on the CP server's event loop,
        thousands at once when a fleet starts charging, and every CP waits meanwhile."""
        with self._lock, self.db.conn:
            return self.db.conn.execute(sql, params).rowcount == 1
