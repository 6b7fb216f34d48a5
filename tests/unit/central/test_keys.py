"""The CPs' keys persisted in ``cp_keys``: a restarted Central opens what was sealed before
it stopped; revocation deletes the rows; the registry reads the key state, never the key."""

from __future__ import annotations

import json
import sqlite3
import threading

import pytest

from cloud.central import keys as keystore
from cloud.central.keys import Keys
from protocol import seal


class Clock:
    def __init__(self, now: float = 1_780_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def conn(tmp_path):
    conn = sqlite3.connect(tmp_path / "central.db", check_same_thread=False)
    yield conn
    conn.close()


def rows(conn) -> list[tuple]:
    return conn.execute("SELECT cp_id, key_id, issued_at, retired_at FROM cp_keys "
                        "ORDER BY issued_at, key_id").fetchall()


def test_issued_keys_survive_a_restart_with_their_grace(conn):
    clock = Clock()
    keys = Keys(conn, threading.RLock(), clock, grace=600.0)
    first = keys.issue("CP1")
    clock.now += 60
    second = keys.issue("CP1")
    assert first.key_id != second.key_id and first.key.secret != second.key.secret
    again = Keys(conn, threading.RLock(), clock, grace=600.0)
    assert again.current("CP1").key == second.key
    assert again.for_data("CP1", first.key_id) == first.key
    clock.now += 601
    assert again.for_data("CP1", first.key_id) is None
    again.expire()
    assert [r[1] for r in rows(conn)] == [second.key_id]
    clock.now += 10_000
    assert Keys(conn, threading.RLock(), clock).for_data("CP1", second.key_id) == second.key


def test_the_table_holds_ids_and_times_and_the_key_only_in_its_own_column(conn):
    clock = Clock(1_780_000_000.0)
    keys = Keys(conn, threading.RLock(), clock)
    issued = keys.issue("CP1")
    clock.now += 30
    keys.issue("CP1")
    assert rows(conn)[0] == ("CP1", issued.key_id, "2026-05-28T20:26:40.000Z",
                             "2026-05-28T20:27:10.000Z")
    [stored] = conn.execute("SELECT key FROM cp_keys WHERE key_id = ?", [issued.key_id])
    assert bytes.fromhex(stored[0]) == issued.key.secret


def test_revocation_deletes_every_row_of_the_cp(conn):
    keys = Keys(conn, threading.RLock(), Clock())
    for cp_id in ("CP1", "CP1", "CP2"):
        keys.issue(cp_id)
    revoked = keys.revoke("CP1")
    assert len(revoked) == 2 and {r[0] for r in rows(conn)} == {"CP2"}
    assert keys.current("CP1") is None
    assert all(keys.for_data("CP1", key_id) is None for key_id in revoked)
    assert Keys(conn, threading.RLock(), Clock()).current("CP1") is None


def test_the_key_state_the_registry_reads_never_holds_the_key(conn):
    clock = Clock()
    keys = Keys(conn, threading.RLock(), clock)
    assert keystore.key_state(conn, "CP1", clock.now) == {
        "has_key": False, "key_id": None, "key_issued_at": None, "key_age_s": None}
    issued = keys.issue("CP1")
    state = keystore.key_state(conn, "CP1", clock.now + 42.4)
    assert state == {"has_key": True, "key_id": issued.key_id,
                     "key_issued_at": keystore.iso(clock.now), "key_age_s": 42}
    assert issued.key.secret.hex() not in json.dumps(state)
    assert keystore.delete_all(conn, "CP1") == 1
    assert keystore.key_state(conn, "CP1")["has_key"] is False


def test_keys_are_fresh_256_bit_and_never_in_their_repr(conn):
    keys = Keys(conn, threading.RLock(), Clock())
    issued = [keys.issue("CP1") for _ in range(3)]
    assert len({k.key.secret for k in issued}) == 3
    assert all(len(k.key.secret) == seal.KEY_BYTES for k in issued)
    assert all(k.key.secret.hex() not in repr(k) for k in issued)


def test_the_current_key_is_found_without_reading_the_clock(conn):
    """Every record a CP sends asks for its key: the current one needs no clock (reading
    Central's was a third of a lookup); an earlier one still goes by its grace."""
    clock = Clock()
    keys = Keys(conn, threading.RLock(), clock, grace=600.0)
    first = keys.issue("CP1")
    second = keys.issue("CP1")
    reads = []
    keys.clock = lambda: reads.append(1) or clock.now
    assert keys.for_data("CP1", second.key_id) == second.key and reads == []
    assert keys.for_data("CP1", first.key_id) == first.key and reads == [1]
    clock.now += 601
    assert keys.for_data("CP1", first.key_id) is None
    assert keys.for_data("CP1", "no such key") is None and keys.for_data("CP9", "k") is None
