"""The audit trail's writer: records appended in batches by one thread, off the loops
that decide.

A burst of 2,000 supply starts is 2,000 ``state change`` records; written where they
happen (the CP server's event loop), each was its own SQLite commit while every CP
waited for its acknowledgement.  :meth:`AuditWriter.append` only queues a record with
its time; the writer thread takes everything queued and appends it in one transaction
(:func:`cloud.central.audit.append_many`: still one JSON line on the
``evcharging.audit`` logger a record, in order), then calls each record's ``after``
with its row (the dashboard's nudge), still holding the store's lock.

Order is kept: records are taken from the queue only while the store's lock is held,
and written before it is released.  :meth:`flush` writes what is queued from the
caller's thread (a reader of the trail calls it first, so it sees every record
appended before); when ``limit`` records wait, the appender flushes itself (the
queue's bound); :meth:`close` flushes and stops the thread.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Callable
from typing import Any

from cloud.central import audit

log = logging.getLogger(__name__)

After = Callable[[dict[str, Any]], None]


class AuditWriter:
    def __init__(self, conn, lock: threading.RLock, limit: int = 10_000,
                 linger: float = 0.005) -> None:
        self.conn, self.lock, self.limit, self.linger = conn, lock, limit, linger
        self._queued: deque[tuple[audit.Record, str, After | None]] = deque()
        self._wake = threading.Event()
        self._closed = threading.Event()
        self._thread: threading.Thread | None = None
        self._starting = threading.Lock()

    def append(self, record: audit.Record, after: After | None = None) -> None:
        """Queue ``record``, stamped now; ``after(row)`` once it is written."""
        if self._closed.is_set():
            raise RuntimeError("the audit trail is closed")
        if len(self._queued) >= self.limit:
            self.flush()
        self._queued.append((record, audit.utc_now(), after))
        if self._thread is None:
            self._start()
        self._wake.set()

    def flush(self) -> list[dict[str, Any]]:
        """Write every queued record now, from this thread; returns their rows."""
        with self.lock:  # held until every ``after`` ran: a flush is a barrier
            batch = []
            while self._queued:
                batch.append(self._queued.popleft())
            if not batch:
                return []
            rows = audit.append_many(self.conn, [(r, ts) for r, ts, _ in batch])
            for (_, _, after), row in zip(batch, rows, strict=True):
                if after is not None:
                    try:
                        after(row)
                    except Exception:
                        log.exception("after an audit record: failed")
        return rows

    def close(self) -> None:
        """Write what is queued and stop the thread (appending afterwards is an error)."""
        self._closed.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(10)
        self.flush()

    def _start(self) -> None:
        with self._starting:
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="audit-writer",
                                                daemon=True)
                self._thread.start()

    def _run(self) -> None:
        while not self._closed.is_set():
            self._wake.wait()
            self._closed.wait(self.linger)  # let a burst gather into one transaction
            self._wake.clear()
            try:
                self.flush()
            except Exception:  # the database is gone or failing: say so, keep going
                log.exception("appending to the audit trail failed")
