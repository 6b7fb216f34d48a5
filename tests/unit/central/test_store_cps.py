"""The store's registration half (cloud/central/store_cps.py) on a real SQLite file:
what the registry changes in a CP's row, the last authentication Central writes, the
registration state (never a secret or a key), and the migration of older databases."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from cloud.central.store import Store
from protocol import auth

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def store(tmp_path):
    store = Store(str(tmp_path / "central.db"))
    yield store
    store.close()


def _keys_table(store: Store) -> None:
    """Central's key table as the contract names its columns (cp_id, key_id, key,
    issued_at, retired_at)."""
    store.db.execute("CREATE TABLE IF NOT EXISTS cp_keys (cp_id TEXT, key_id TEXT, key TEXT, "
                     "issued_at TEXT, retired_at TEXT)")


def test_a_database_from_before_last_authentication_is_migrated(tmp_path):
    path = tmp_path / "old.db"
    old = sqlite3.connect(path)
    old.execute("CREATE TABLE cps (id TEXT PRIMARY KEY, location TEXT, price_eur_kwh TEXT, "
                "secret_key TEXT, stop_reasons TEXT, created_at TEXT)")
    old.execute("INSERT INTO cps VALUES ('CP1', 'Madrid', '0.3', 'ab', '', '2026-01-01')")
    old.commit()
    old.close()
    store = Store(str(path))
    assert store.cp("CP1")["last_auth_at"] is None
    store.set_last_auth("CP1", "2026-02-01T10:00:00.000Z")
    store.close()
    again = Store(str(path))  # opening it again migrates nothing twice
    assert again.cp("CP1")["last_auth_at"] == "2026-02-01T10:00:00.000Z"
    assert again.cp("CP1")["location"] == "Madrid"
    again.close()


def test_update_changes_location_and_price_of_a_registered_cp_only(store):
    store.add_cp("CP1", "Madrid", "0.30")
    assert store.update_cp("CP1", "Lugo", Decimal("0.42"))
    row = store.cp("CP1")
    assert (row["location"], row["price_eur_kwh"]) == ("Lugo", "0.42")
    assert not store.update_cp("CP9", "Lugo", Decimal("0.42"))
    assert store.cp("CP9") is None


def test_a_new_secret_replaces_the_old_one(store):
    old = store.add_cp("CP1", "Madrid", "0.30")
    new = store.new_secret("CP1")
    assert new and new != old
    assert store.secret_key("CP1") == auth.secret_key(new).hex()
    assert store.new_secret("CP9") is None


def test_removing_a_cp_forgets_its_credentials_and_keys_but_not_its_sessions(store):
    _keys_table(store)
    store.add_cp("CP1", "Madrid", "0.30")
    store.add_cp("CP2", "Lugo", "0.30")
    store.db.execute("INSERT INTO cp_keys VALUES ('CP1', 'k-1', 'xx', '2026-01-01', NULL), "
                     "('CP2', 'k-2', 'yy', '2026-01-01', NULL)")
    store.record_started("s1", "CP1", "D1", "0.30", "2026-01-01T00:00:00Z")
    assert store.remove_cp("CP1")
    assert not store.knows("CP1") and store.secret_key("CP1") is None
    assert [r[0] for r in store.db.execute("SELECT cp_id FROM cp_keys")] == ["CP2"]
    assert store.session("s1")["cp_id"] == "CP1"
    assert not store.remove_cp("CP1")
    secret = store.add_cp("CP1", "Madrid", "0.30")  # registered again: a new secret
    assert store.secret_key("CP1") == auth.secret_key(secret).hex()


def test_remove_works_before_central_made_its_key_table(store):
    store.add_cp("CP1", "Madrid", "0.30")
    assert store.remove_cp("CP1")


def test_registration_state_names_the_current_key_never_a_secret(store):
    secret = store.add_cp("CP1", "Madrid", "0.30")
    state = store.registration("CP1", NOW)
    assert state == {"cp_id": "CP1", "location": "Madrid", "price_eur_kwh": "0.30",
                     "registered_since": store.cp("CP1")["created_at"], "last_auth": None,
                     "has_key": False, "key_id": None, "key_age_s": None}
    _keys_table(store)
    issued = (NOW - timedelta(seconds=90)).isoformat().replace("+00:00", "Z")
    store.db.execute("INSERT INTO cp_keys VALUES ('CP1', 'k-old', 'aa', '2026-01-01T00:00:00Z', "
                     "'2026-03-01T11:58:30Z'), ('CP1', 'k-new', 'bb', ?, NULL)", [issued])
    store.set_last_auth("CP1", issued)
    state = store.registration("CP1", NOW)
    assert (state["has_key"], state["key_id"], state["key_age_s"]) == (True, "k-new", 90)
    assert state["last_auth"] == issued
    text = repr(state)
    assert secret not in text and store.secret_key("CP1") not in text and "bb" not in text
    assert store.registration("CP9", NOW) is None
