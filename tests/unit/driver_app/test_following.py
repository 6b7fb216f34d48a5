"""What the app keeps between updates: the supply followed, ids already seen."""

from __future__ import annotations

from dataclasses import asdict
from decimal import Decimal

import pytest

from driver_app.following import Bounded, Following, decimal
from protocol.states import DriverPhase


def test_the_phase_is_a_driver_phase_and_saves_as_its_string():
    f = Following("MAD-01", "authorized", session_id="S1")
    assert f.phase is DriverPhase.AUTHORIZED
    assert asdict(f)["phase"] == "authorized"
    assert Following.restore(asdict(f)) == f


@pytest.mark.parametrize("memory", [
    None, "MAD-01", [], {}, {"cp_id": "MAD-01"}, {"cp_id": "MAD-01", "phase": "asleep"},
    {"cp_id": None, "phase": "supplying"}, {"cp_id": "MAD-01", "phase": "supplying", "kw": 7},
])
def test_restore_refuses_what_is_not_a_following(memory):
    assert Following.restore(memory) is None


def test_restore_ignores_fields_it_does_not_know():
    f = Following.restore({"cp_id": "MAD-01", "phase": "accepted", "colour": "blue"})
    assert f == Following("MAD-01", DriverPhase.ACCEPTED)


def test_bounded_keeps_only_the_latest():
    seen = Bounded(2)
    for item in ("a", "b", "a", "c"):
        seen.add(item)
    assert "a" not in seen and "b" in seen and "c" in seen
    assert list(seen.order) == ["b", "c"]


@pytest.mark.parametrize(("value", "number"), [
    ("1.25", Decimal("1.25")), (None, Decimal(0)), ("NaN", Decimal(0)), ("Infinity", Decimal(0)),
    ("lots", Decimal(0)), (3, Decimal(3)),
])
def test_decimal(value, number):
    assert decimal(value) == number
