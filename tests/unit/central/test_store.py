"""Central's store on a real temporary SQLite file."""

import sqlite3
from decimal import Decimal

import pytest

from cloud.central import audit
from cloud.central.cpstate import StopReason
from cloud.central.errors import BadPrice, BadRegistration, CpIdTaken
from cloud.central.store import Store
from protocol import auth


@pytest.fixture
def store(tmp_path):
    store = Store(str(tmp_path / "central.db"))
    yield store
    store.close()


def test_add_cp_returns_the_secret_and_keeps_only_its_key(store):
    secret = store.add_cp("CP1", "Calle Mayor 1", "0.35")
    row = store.cp("CP1")
    assert row["secret_key"] == auth.secret_key(secret).hex()
    assert secret not in str(row)
    assert (row["price_eur_kwh"], row["stop_reasons"], row["location"]) == (
        "0.35", "", "Calle Mayor 1")


@pytest.mark.parametrize(("cp_id", "location", "price"), [
    ("bad id!", "x", "0.3"), ("CP1", "x", "abc"), ("CP1", "x", "-1"), ("CP1", "x", "NaN"),
    ("CP1", "x" * 201, "0.3"),
])
def test_add_cp_rejects_bad_input(store, cp_id, location, price):
    with pytest.raises(ValueError):
        store.add_cp(cp_id, location, price)
    assert store.cps() == []


def test_duplicates_are_refused(store):
    store.add_cp("CP1", "x", "0.3")
    store.add_driver("D1")
    with pytest.raises(ValueError):
        store.add_cp("CP1", "y", "0.4")
    with pytest.raises(ValueError):
        store.add_driver("D1")
    assert [d["id"] for d in store.drivers()] == ["D1"]


def test_stop_reasons_persist_across_reopening(tmp_path):
    path = str(tmp_path / "c.db")
    first = Store(path)
    first.add_cp("CP1", "x", "0.3")
    first.set_stop_reasons("CP1", frozenset({StopReason.WEATHER, StopReason.ADMIN}))
    first.close()
    again = Store(path)
    assert again.cp("CP1")["stop_reasons"] == "admin,weather"
    assert again.stop_reasons(again.cp("CP1")) == {StopReason.ADMIN, StopReason.WEATHER}


def test_a_database_from_before_stop_reasons_is_migrated(tmp_path):
    """``enabled = 0`` (stopped by an administrator) becomes {admin}; rows keep the rest."""
    path = tmp_path / "old.db"
    old = sqlite3.connect(path)
    old.execute("CREATE TABLE cps (id TEXT PRIMARY KEY, location TEXT, price_eur_kwh TEXT, "
                "secret_key TEXT, enabled INTEGER, created_at TEXT)")
    old.executemany("INSERT INTO cps VALUES (?, ?, '0.3', 'ab', ?, '2026-01-01')",
                    [("CP1", "Madrid", 1), ("CP2", "Lugo", 0)])
    old.commit()
    old.close()
    store = Store(str(path))
    rows = {row["id"]: row for row in store.cps()}
    assert {cp: store.stop_reasons(row) for cp, row in rows.items()} == {
        "CP1": frozenset(), "CP2": {StopReason.ADMIN}}
    assert "enabled" not in rows["CP1"] and rows["CP2"]["location"] == "Lugo"
    assert store.secret_key("CP2") == "ab" and store.knows("CP1") and not store.knows("CP9")
    store.close()
    assert Store(str(path)).cp("CP2")["stop_reasons"] == "admin"  # once only


def test_domain_errors_say_what_is_wrong(store):
    store.add_cp("CP1", "x", "0.3")
    with pytest.raises(CpIdTaken, match="CP CP1 already exists"):
        store.add_cp("CP1", "y", "0.4")
    with pytest.raises(BadPrice, match="price must be a decimal number"):
        store.add_cp("CP2", "y", "abc")
    with pytest.raises(BadRegistration, match="bad CP id"):
        store.add_cp("bad id!", "y", "0.4")


def test_cps_registered_after_a_row(store):
    store.add_cp("CP1", "x", "0.3")
    [first] = store.cps_after(0)
    store.add_cp("CP2", "y", "0.4")
    assert [row["id"] for row in store.cps_after(first["rowid"])] == ["CP2"]


def started(store, session_id="s1"):
    return store.record_started(session_id, "CP1", "D1", "0.35", "2026-01-01T10:00:00.000Z")


def ended(store, session_id="s1", kwh="2.5", eur="0.875"):
    return store.record_ended(session_id, "CP1", "D1", "0.35", "2026-01-01T10:00:00.000Z",
                              "2026-01-01T10:30:00.000Z", kwh, eur, "unplugged")


def test_records_are_idempotent_and_ended_wins(store):
    assert started(store) is True
    assert started(store) is False
    assert ended(store) is True
    assert ended(store, kwh="9", eur="9") is False  # a duplicate never counts twice
    assert started(store) is False  # a late start never reopens an ended session
    [session] = store.sessions()
    assert (session["status"], session["kwh"], session["eur"]) == ("ended", "2.5", "0.875")
    assert Decimal(session["eur"]) == Decimal("0.875")


def test_an_ended_record_without_a_start_is_kept(store):
    assert ended(store, "s2") is True
    assert store.session("s2")["status"] == "ended"


def test_authorization_expires_unless_the_supply_started(store):
    store.record_authorized("s1", "CP1", "D1", "app", "0.35", "2026-01-01T10:00:00.000Z")
    store.record_authorized("s2", "CP1", "D1", "app", "0.35", "2026-01-01T10:00:00.000Z")
    started(store, "s2")
    assert store.expire("s1", "not plugged", "2026-01-01T10:01:00.000Z") is True
    assert store.expire("s2", "not plugged", "2026-01-01T10:01:00.000Z") is False
    assert store.session("s1")["status"] == "expired"
    assert store.session("s2")["status"] == "supplying"
    assert started(store, "s1") is True  # a real supply is billed even after expiry


def test_sessions_filter_by_cp_and_driver(store):
    store.record_started("a", "CP1", "D1", "0.3", "2026-01-01T10:00:00.000Z")
    store.record_started("b", "CP2", "D1", "0.3", "2026-01-01T11:00:00.000Z")
    store.record_started("c", "CP2", "D2", "0.3", "2026-01-01T12:00:00.000Z")
    assert [s["id"] for s in store.sessions()] == ["c", "b", "a"]
    assert [s["id"] for s in store.sessions(cp_id="CP2")] == ["c", "b"]
    assert [s["id"] for s in store.sessions(cp_id="CP2", driver_id="D1")] == ["b"]


def day_sessions(store):
    """Sessions either side of midnight UTC, one stamped with an offset, one denied."""
    store.record_ended("late", "CP1", "D1", "0.3", "2026-01-01T23:59:59.999Z",
                       "2026-01-02T00:30:00.000Z", "1.5", "0.45", "unplugged")
    store.record_started("early", "CP1", "D2", "0.3", "2026-01-02T00:00:00.000Z")
    store.record_started("offset", "CP2", "D1", "0.3", "2026-01-02T00:30:00+01:00")  # 1 Jan UTC
    store.record_denied("CP2", "D1", "driver", "CP busy", "2026-01-02T12:00:00.000Z")
    store.record_authorized("asked", "CP2", "D2", "driver", "0.3", "2026-01-02T13:00:00.000Z")


@pytest.mark.parametrize(("filters", "expected"), [
    ({"day": "2026-01-01"}, {"late", "offset"}),
    ({"day": "2026-01-02"}, {"early", "denied", "asked"}),
    ({"day": "2026-01-02", "cp_id": "CP2"}, {"denied", "asked"}),
    ({"day": "2026-01-02", "driver_id": "D2"}, {"early", "asked"}),
    ({"day": "2026-01-03"}, set()),
])
def test_sessions_filter_by_utc_day(store, filters, expected):
    day_sessions(store)
    ids = {s["id"] if s["status"] != "denied" else "denied" for s in store.sessions(**filters)}
    assert ids == expected
    assert len(store.session_amounts(**filters)) == len(expected)


def test_sessions_pages_and_amounts_cover_the_whole_set(store):
    for i in range(25):
        store.record_ended(f"s{i:02d}", "CP1", "D1", "0.3", f"2026-01-02T10:{i:02d}:00.000Z",
                           f"2026-01-02T11:{i:02d}:00.000Z", "1.1", "0.33", "unplugged")
    newest_first = [f"s{i:02d}" for i in reversed(range(25))]
    assert [s["id"] for s in store.sessions(limit=10)] == newest_first[:10]
    assert [s["id"] for s in store.sessions(limit=10, offset=20)] == newest_first[20:]
    assert [s["id"] for s in store.sessions(limit=None, offset=5)] == newest_first[5:]
    assert len(store.sessions(limit=None)) == 25
    assert store.session_amounts(cp_id="CP1") == [("1.1", "0.33")] * 25
    assert store.session_amounts(cp_id="CP2") == []


def test_audit_log(store):
    store.append_audit(audit.Record("stop", "admin", "10.0.0.5", "CP1"))
    store.append_audit(audit.Record("resume", "admin", "ops", "CP1", {"note": "after repair"}))
    store.append_audit(audit.Record("key mismatch", "cp", "10.0.0.9:1", "CP2", {}, "refused"))
    log = store.audit_log()
    assert [(e["source"], e["action"]) for e in log] == [
        ("10.0.0.9:1", "key mismatch"), ("ops", "resume"), ("10.0.0.5", "stop")]
    assert log[1]["params"] == {"note": "after repair"}
    assert store.audit_page(audit.Query(cp_id="CP1"), limit=1) == ([log[1]], 2)


def test_a_record_keeps_what_the_authorization_knew(store):
    store.record_authorized("s1", "CP1", "D1", "app", "0.35", "2026-01-01T10:00:00.000Z")
    assert store.record_started("s1", "CP9", None, "0.40", "2026-01-01T10:01:00.000Z") is True
    session = store.session("s1")
    assert (session["cp_id"], session["driver_id"], session["source"]) == ("CP1", "D1", "app")
    assert (session["price_eur_kwh"], session["authorized_at"]) == ("0.40",
                                                                    "2026-01-01T10:00:00.000Z")
    assert store.record_ended("s1", "CP9", None, "0.40", "2026-01-01T10:01:00.000Z",
                              "2026-01-01T10:31:00.000Z", "1.5", "0.60", "unplugged") is True
    session = store.session("s1")
    assert (session["cp_id"], session["driver_id"], session["status"]) == ("CP1", "D1", "ended")
    assert (session["kwh"], session["eur"], session["reason"]) == ("1.5", "0.60", "unplugged")
    assert store.record_started("s2", "CP2", None, "0.3", "2026-01-01T11:00:00.000Z") is True
    assert (store.session("s2")["source"], store.session("s2")["driver_id"]) == ("cp", None)


def test_a_supply_record_is_one_statement(store):
    """Central writes every supply record on the CP server's event loop, and a CP whose
    frame is not acknowledged within 4 s drops its link.  At 15 statements a record
    (sqlite-utils' upsert reads the schema each time), 5,000 supplies started at once
    held the loop past that and every link was dropped (python -m bench supplying)."""
    statements = []
    store.db.conn.set_trace_callback(statements.append)
    started(store)
    started(store)  # a duplicate
    ended(store)
    ended(store)  # a duplicate
    store.db.conn.set_trace_callback(None)
    writes = [s for s in statements if not s.startswith(("BEGIN", "COMMIT"))]
    assert len(writes) == 4, statements


def test_sessions_by_status_and_their_count(store):
    store.record_ended("e1", "CP1", "D1", "0.35", "2026-01-02T10:00:00Z",
                       "2026-01-02T11:00:00Z", "2", "0.70", "unplugged")
    store.record_started("s1", "CP2", "D1", "0.35", "2026-01-02T10:30:00Z")
    store.record_started("s2", "CP3", "D2", "0.35", "2026-01-02T10:40:00Z")
    assert [row["id"] for row in store.sessions(status="supplying")] == ["s2", "s1"]
    assert store.session_count(status="supplying") == 2
    assert store.session_count(driver_id="D1", status="supplying") == 1
    assert store.session_count() == 3
    assert store.session_amounts(status="ended") == [("2", "0.70")]


def test_a_removed_driver_is_gone_and_its_sessions_stay(store):
    store.add_driver("D1")
    store.record_started("s1", "CP2", "D1", "0.35", "2026-01-02T10:30:00Z")
    assert store.remove_driver("D1") is True
    assert store.remove_driver("D1") is False
    assert store.driver("D1") is None and store.session("s1")["driver_id"] == "D1"


def test_a_new_cp_never_gets_the_rowid_of_a_deregistered_one(store):
    store.add_cp("CP1", "x", "0.3")
    store.add_cp("CP2", "y", "0.4")
    [_, second] = store.cps_after(0)
    store.remove_cp("CP2")  # the last row: SQLite alone would give its rowid again
    store.add_cp("CP3", "z", "0.5")
    assert [row["id"] for row in store.cps_after(second["rowid"])] == ["CP3"]
    store.remove_cp("CP3")
    reopened = Store(store.path)  # another process, or Central restarted
    reopened.add_cp("CP4", "w", "0.5")
    assert [row["id"] for row in reopened.cps_after(second["rowid"])] == ["CP4"]
    reopened.close()


def test_a_database_from_before_the_high_water_mark_continues_above_its_rows(tmp_path):
    path = tmp_path / "old.db"
    Store(path).add_cp("CP1", "x", "0.3")
    with sqlite3.connect(path) as conn:
        conn.execute("DROP TABLE cp_rowids")
        conn.execute("UPDATE cps SET rowid = 7")
    store = Store(path)
    store.add_cp("CP2", "y", "0.4")
    assert [(row["id"], row["rowid"]) for row in store.cps_after(0)] == [("CP1", 7), ("CP2", 8)]
    store.close()
