import pytest

from edge.engine.vehicle import Vehicle


def run(vehicle: Vehicle, steps):
    """Feed (time, state, plugged, session) and collect the moves."""
    return [(t, move) for t, state, plugged, session in steps
            if (move := vehicle.step(t, state, plugged, session))]


def test_plugs_in_a_second_after_authorization_and_unplugs_after_the_supply():
    steps = [
        (0.0, "available", False, None),
        (1.0, "authorized", False, "S1"),
        (1.75, "authorized", False, "S1"),
        (2.0, "authorized", False, "S1"),
        (2.25, "supplying", True, "S1"),
        (6.0, "supplying", True, "S1"),
        (7.25, "supplying", True, "S1"),
        (7.5, "available", False, None),
    ]
    assert run(Vehicle(5.0), steps) == [(2.0, "plug"), (7.25, "unplug")]


@pytest.mark.parametrize("after", ["broken", "stopped", "available"])
def test_unplugs_when_the_supply_ends_otherwise(after):
    steps = [(0.0, "supplying", True, "S1"), (1.0, after, True, None),
             (1.25, after, False, None)]
    assert run(Vehicle(30.0), steps) == [(1.0, "unplug")]


def test_a_new_authorization_restarts_the_plug_delay():
    steps = [(0.0, "authorized", False, "S1"), (0.5, "authorized", False, "S2"),
             (1.25, "authorized", False, "S2"), (1.5, "authorized", False, "S2")]
    assert run(Vehicle(5.0), steps) == [(1.5, "plug")]


def test_a_second_supply_gets_its_own_duration():
    vehicle = Vehicle(2.0)
    steps = [(0.0, "supplying", True, "S1"), (1.0, "supplying", True, "S1"),
             (1.5, "supplying", True, "S2"), (3.0, "supplying", True, "S2"),
             (3.5, "supplying", True, "S2")]
    assert run(vehicle, steps) == [(3.5, "unplug")]


def test_idle_and_unplugged_does_nothing():
    assert run(Vehicle(5.0), [(t, "available", False, None) for t in range(10)]) == []
