"""The audit writer: records appended in batches by its own thread, in order, one JSON
line each; readers and the synchronous appender see everything queued before them; the
queue is bounded; closing writes what waits."""

from __future__ import annotations

import json
import logging
import sqlite3
import threading

import pytest

from cloud.central import audit
from cloud.central.audit_writer import AuditWriter
from cloud.central.store import Store


def record(n: int) -> audit.Record:
    return audit.Record("state change", "service", "central", f"CP{n}",
                        {"from": "ACTIVATED", "to": "SUPPLYING"})


@pytest.fixture
def store(tmp_path):
    store = Store(str(tmp_path / "central.db"))
    yield store
    store.close()


def test_queued_records_are_written_by_the_writer_thread_in_order(store, caplog):
    caplog.set_level(logging.INFO, audit.LOGGER)
    done, writers = threading.Event(), set()

    def after(row):
        writers.add(threading.current_thread().name)
        if row["cp_id"] == "CP499":
            done.set()

    for n in range(500):
        store.queue_audit(record(n), after)
    assert done.wait(10)
    assert writers == {"audit-writer"}  # not the thread that queued them
    rows = list(reversed(store.audit_log(limit=1000)))
    assert [r["cp_id"] for r in rows] == [f"CP{n}" for n in range(500)]
    assert [r["id"] for r in rows] == list(range(1, 501))
    lines = [json.loads(r.getMessage()) for r in caplog.records if r.name == audit.LOGGER]
    assert lines == rows  # one JSON line a record, in order


def test_a_burst_is_one_transaction_not_one_commit_a_record(tmp_path):
    conn = sqlite3.connect(tmp_path / "central.db", check_same_thread=False)
    audit.ensure_table(conn)
    commits = []
    conn.set_trace_callback(lambda sql: commits.append(sql) if sql == "COMMIT" else None)
    writer = AuditWriter(conn, threading.RLock(), linger=0.5)
    for n in range(200):
        writer.append(record(n))
    writer.close()
    assert len(commits) == 1
    assert conn.execute("SELECT count(*) FROM audit").fetchone()[0] == 200
    conn.close()


def test_a_reader_and_the_synchronous_appender_see_what_was_queued_before(store):
    store.audit_writer.linger = 60.0  # the thread would not write for a minute
    store.queue_audit(record(1))
    assert [r["cp_id"] for r in store.audit_log()] == ["CP1"]  # flushed for the reader
    store.queue_audit(record(2))
    row = store.append_audit(record(3))
    assert row["id"] == 3
    assert [r["cp_id"] for r in store.audit_log()] == ["CP3", "CP2", "CP1"]


def test_the_queue_is_bounded_the_appender_writes_when_it_is_full(tmp_path):
    conn = sqlite3.connect(tmp_path / "central.db", check_same_thread=False)
    audit.ensure_table(conn)
    writer = AuditWriter(conn, threading.RLock(), limit=3, linger=60.0)
    for n in range(7):
        writer.append(record(n))
    written = [r[0] for r in conn.execute("SELECT cp_id FROM audit ORDER BY id")]
    assert written == ["CP0", "CP1", "CP2", "CP3", "CP4", "CP5"]
    conn.close()


def test_closing_writes_what_waits_and_refuses_more(tmp_path):
    store = Store(str(tmp_path / "central.db"))
    store.audit_writer.linger = 60.0
    store.queue_audit(record(1))
    store.close()
    again = Store(str(tmp_path / "central.db"))
    assert [r["cp_id"] for r in again.audit_log()] == ["CP1"]
    again.close()
    with pytest.raises(RuntimeError, match="closed"):
        store.queue_audit(record(2))


def test_the_trail_stays_append_only(store):
    store.queue_audit(record(1))
    store.audit_log()
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        store.db.conn.execute("DELETE FROM audit")
