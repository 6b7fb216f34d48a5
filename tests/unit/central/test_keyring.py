"""The CPs' keys as Central holds them: current key, earlier ones in their grace for the
data plane only, revocation deletes them all."""

from __future__ import annotations

import re

from cloud.central.keyring import GRACE, IssuedKey, KeyRing, new_key_id
from protocol import seal


def key(n: int) -> seal.Key:
    return seal.Key(f"k-{n}", bytes([n]) * 32)


def test_a_key_id_says_nothing_of_the_key():
    ids = {new_key_id() for _ in range(100)}
    assert len(ids) == 100 and all(re.fullmatch(r"k-[0-9a-f]{12}", i) for i in ids)


def test_each_login_replaces_the_current_key_and_keeps_the_last_for_the_grace():
    ring = KeyRing()
    current, retired, dropped = ring.issue("CP1", key(1), 1000.0)
    assert (current, retired, dropped) == (IssuedKey("CP1", key(1), 1000.0), None, [])
    current, retired, dropped = ring.issue("CP1", key(2), 1100.0)
    assert retired == IssuedKey("CP1", key(1), 1000.0, 1100.0) and dropped == []
    assert ring.current("CP1") == current and current.key_id == "k-2"
    assert ring.for_data("CP1", "k-1", 1100.0 + GRACE) == key(1)  # a late MQTT message
    assert ring.for_data("CP1", "k-1", 1100.0 + GRACE + 0.001) is None
    assert ring.for_data("CP1", "k-2", 1e12) == key(2)  # the current key has no end


def test_keys_past_their_grace_are_dropped_at_the_next_login_or_by_expire():
    ring = KeyRing(grace=10.0)
    ring.issue("CP1", key(1), 0.0)
    ring.issue("CP1", key(2), 5.0)
    ring.issue("CP1", key(3), 10.0)
    _, retired, dropped = ring.issue("CP1", key(4), 16.0)
    assert retired.key_id == "k-3" and [k.key_id for k in dropped] == ["k-1"]
    assert [k.key_id for k in ring.expire(15.0 + 10.0)] == ["k-2"]
    assert ring.for_data("CP1", "k-3", 25.0) == key(3) and ring.current("CP1").key_id == "k-4"


def test_keys_belong_to_their_cp():
    ring = KeyRing()
    ring.issue("CP1", key(1), 0.0)
    ring.issue("CP2", key(2), 0.0)
    assert ring.for_data("CP1", "k-2", 1.0) is None and ring.for_data("CP2", "k-2", 1.0) == key(2)
    assert ring.current("CP3") is None and ring.cp_ids() == {"CP1", "CP2"}
    assert ring.current_keys == {"CP1": key(1), "CP2": key(2)}


def test_revocation_deletes_every_key_of_the_cp_and_no_other():
    ring = KeyRing()
    ring.issue("CP1", key(1), 0.0)
    ring.issue("CP1", key(2), 1.0)
    ring.issue("CP2", key(3), 1.0)
    assert ring.revoke("CP1") == ("k-1", "k-2")
    assert ring.current("CP1") is None and ring.for_data("CP1", "k-1", 2.0) is None
    assert ring.for_data("CP1", "k-2", 2.0) is None and ring.current("CP2").key_id == "k-3"
    assert ring.current_keys == {"CP2": key(3)}
    assert ring.revoke("CP1") == ()


def test_a_ring_is_rebuilt_from_what_was_persisted():
    ring = KeyRing([IssuedKey("CP1", key(2), 5.0), IssuedKey("CP1", key(1), 0.0, 5.0),
                    IssuedKey("CP2", key(3), 0.0, 5.0)])  # CP2: no current key
    assert ring.current("CP1").key_id == "k-2" and ring.for_data("CP1", "k-1", 6.0) == key(1)
    assert ring.current_keys == {"CP1": key(2)}
