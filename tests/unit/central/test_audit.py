"""The audit trail's table, shared by Central and the registry: append-only rows, one JSON
line each on the ``evcharging.audit`` logger, filters, the older table migrated, and
never a key, a secret or a token."""

from __future__ import annotations

import json
import logging
import sqlite3

import pytest

from cloud.central import audit
from protocol import seal


@pytest.fixture
def conn(tmp_path):
    conn = sqlite3.connect(tmp_path / "central.db")
    audit.ensure_table(conn)
    yield conn
    conn.close()


def test_a_record_is_one_row_and_one_json_line(conn, caplog):
    caplog.set_level(logging.INFO, audit.LOGGER)
    row = audit.append(conn, audit.Record("auth failed", "cp", "10.0.0.9:51000", "CP1",
                                          {"reason": "wrong secret"}, "refused"),
                       ts="2026-01-02T10:00:00.000Z")
    assert row == {"id": 1, "ts": "2026-01-02T10:00:00.000Z", "actor": "cp",
                   "source": "10.0.0.9:51000", "action": "auth failed", "cp_id": "CP1",
                   "params": {"reason": "wrong secret"}, "outcome": "refused"}
    [line] = [r for r in caplog.records if r.name == "evcharging.audit"]
    assert json.loads(line.getMessage()) == row and "\n" not in line.getMessage()
    assert audit.query(conn) == ([row], 1)


@pytest.mark.parametrize("fields", [
    {"action": "teleport", "actor": "cp"}, {"action": "stop", "actor": "hacker"},
    {"action": "stop", "actor": "admin", "outcome": "maybe"},
])
def test_only_known_actions_actors_and_outcomes(fields):
    with pytest.raises(ValueError, match="unknown audit"):
        audit.Record(**fields)


def test_the_table_is_append_only(conn):
    audit.append(conn, audit.Record("stop", "admin", "10.0.0.5", "CP1", {"reason": "admin"}))
    for sql in ("UPDATE audit SET outcome = 'failed'", "DELETE FROM audit"):
        with pytest.raises(sqlite3.DatabaseError, match="append-only"):
            with conn:
                conn.execute(sql)
    assert audit.query(conn)[1] == 1


def test_keys_secrets_tokens_and_bytes_never_reach_a_row_or_the_log(conn, caplog):
    caplog.set_level(logging.INFO, audit.LOGGER)
    key = seal.new_key("k-0123456789ab")
    params = {"key_id": key.key_id, "key": key.secret.hex(), "wrapped_key": "d3JhcHBlZA",
              "secret": "s3cret-value", "admin_token": "t0ken-value", "raw": key.secret,
              "nested": {"password": "pa55word-value", "key_id": "k-2"}, "reason": "ok"}
    audit.append(conn, audit.Record("key issued", "cp", "10.0.0.9:1", "CP1", params))
    stored = json.dumps(conn.execute("SELECT * FROM audit").fetchall())
    logged = caplog.text
    for secret in (key.secret.hex(), "d3JhcHBlZA", "s3cret-value", "t0ken-value",
                   "pa55word-value"):
        assert secret not in stored and secret not in logged
    [row], _ = audit.query(conn)
    assert row["params"] == {"key_id": "k-0123456789ab", "key": "[redacted]",
                             "wrapped_key": "[redacted]", "secret": "[redacted]",
                             "admin_token": "[redacted]", "raw": "[redacted]",
                             "nested": {"password": "[redacted]", "key_id": "k-2"},
                             "reason": "ok"}


def test_filters_pages_and_totals(conn):
    times = ["2026-01-01T23:59:59.999Z", "2026-01-02T00:00:00.000Z", "2026-01-02T10:00:00.000Z"]
    for n, ts in enumerate(times):
        for cp_id, action in (("CP1", "stop"), ("CP2", "key mismatch"), ("CP1", "resume")):
            audit.append(conn, audit.Record(action, "admin", "a", cp_id, {"n": n}), ts=ts)
    rows, total = audit.query(conn, audit.Query(cp_id="CP1"), limit=2)
    assert total == 6 and [(r["action"], r["params"]["n"]) for r in rows] == [
        ("resume", 2), ("stop", 2)]
    rows, total = audit.query(conn, audit.Query(cp_id="CP1"), limit=2, offset=4)
    assert total == 6 and [(r["action"], r["params"]["n"]) for r in rows] == [
        ("resume", 0), ("stop", 0)]
    rows, total = audit.query(conn, audit.Query(action="key mismatch",
                                                since=audit.parse_since("2026-01-02")))
    assert total == 2 and {r["ts"] for r in rows} == set(times[1:])
    assert audit.query(conn, audit.Query(cp_id="CP9")) == ([], 0)


@pytest.mark.parametrize(("text", "expected"), [
    ("2026-01-02", "2026-01-02T00:00:00.000Z"),
    ("2026-01-02T10:00:00Z", "2026-01-02T10:00:00.000Z"),
    ("2026-01-02T12:00:00+02:00", "2026-01-02T10:00:00.000Z"),
    ("2026-01-02T10:00:00.5", "2026-01-02T10:00:00.500Z"),
])
def test_since_is_read_as_utc(text, expected):
    assert audit.parse_since(text) == expected


@pytest.mark.parametrize("text", ["yesterday", "2026-13-01", "", "1 OR 1=1"])
def test_a_bad_since_is_one_line(text):
    with pytest.raises(ValueError, match="since must be an ISO-8601 date or time"):
        audit.parse_since(text)


@pytest.mark.parametrize(("text", "expected"), [
    ("admin@10.0.0.5", ("admin", "10.0.0.5")), ("cp@10.0.0.9:51000", ("cp", "10.0.0.9:51000")),
    ("registry", ("registry", "")), ("cli", ("admin", "console")),
    ("weather office", ("service", "weather office")),
])
def test_actors(text, expected):
    assert audit.split_actor(text) == expected


def test_a_table_of_the_older_schema_is_migrated(tmp_path):
    conn = sqlite3.connect(tmp_path / "old.db")
    with conn:
        conn.execute("CREATE TABLE audit (id INTEGER PRIMARY KEY, ts TEXT, actor TEXT, "
                     "action TEXT, cp_id TEXT, detail TEXT)")
        conn.executemany("INSERT INTO audit (ts, actor, action, cp_id, detail) VALUES "
                         "(?, ?, ?, ?, ?)", [
                             ("2026-01-01T00:00:00.000Z", "cli", "add_cp", "CP1", "Madrid"),
                             ("2026-01-01T00:00:01.000Z", "admin@10.0.0.5", "stop", "CP1",
                              "admin"),
                             ("2026-01-01T00:00:02.000Z", "cli", "add_driver", None, "D1")])
    audit.ensure_table(conn)
    audit.ensure_table(conn)  # idempotent
    rows, total = audit.query(conn)
    assert total == 3
    assert [(r["id"], r["actor"], r["source"], r["action"], r["cp_id"], r["params"])
            for r in reversed(rows)] == [
        (1, "admin", "console", "registered", "CP1", {"detail": "Madrid"}),
        (2, "admin", "10.0.0.5", "stop", "CP1", {"detail": "admin"}),
        (3, "admin", "console", "registered", None, {"detail": "D1"})]
    with pytest.raises(sqlite3.DatabaseError, match="append-only"), conn:
        conn.execute("DELETE FROM audit")
    conn.close()
