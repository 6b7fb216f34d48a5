import pytest

from edge.engine.vehicle import Vehicle
from protocol.states import EngineState

AVAILABLE, AUTHORIZED = EngineState.AVAILABLE, EngineState.AUTHORIZED
SUPPLYING, STOPPED, BROKEN = EngineState.SUPPLYING, EngineState.STOPPED, EngineState.BROKEN


def run(vehicle: Vehicle, steps):
    """Feed (time, state, plugged, session) and collect the moves."""
    return [(t, move) for t, state, plugged, session in steps
            if (move := vehicle.step(t, state, plugged, session))]


def test_plugs_in_a_second_after_authorization_and_unplugs_after_the_supply():
    steps = [
        (0.0, AVAILABLE, False, None),
        (1.0, AUTHORIZED, False, "S1"),
        (1.75, AUTHORIZED, False, "S1"),
        (2.0, AUTHORIZED, False, "S1"),
        (2.25, SUPPLYING, True, "S1"),
        (6.0, SUPPLYING, True, "S1"),
        (7.25, SUPPLYING, True, "S1"),
        (7.5, AVAILABLE, False, None),
    ]
    assert run(Vehicle(5.0), steps) == [(2.0, "plug"), (7.25, "unplug")]


@pytest.mark.parametrize("after", [BROKEN, STOPPED, AVAILABLE])
def test_unplugs_when_the_supply_ends_otherwise(after):
    steps = [(0.0, SUPPLYING, True, "S1"), (1.0, after, True, None),
             (1.25, after, False, None)]
    assert run(Vehicle(30.0), steps) == [(1.0, "unplug")]


def test_a_new_authorization_restarts_the_plug_delay():
    steps = [(0.0, AUTHORIZED, False, "S1"), (0.5, AUTHORIZED, False, "S2"),
             (1.25, AUTHORIZED, False, "S2"), (1.5, AUTHORIZED, False, "S2")]
    assert run(Vehicle(5.0), steps) == [(1.5, "plug")]


def test_a_second_supply_gets_its_own_duration():
    vehicle = Vehicle(2.0)
    steps = [(0.0, SUPPLYING, True, "S1"), (1.0, SUPPLYING, True, "S1"),
             (1.5, SUPPLYING, True, "S2"), (3.0, SUPPLYING, True, "S2"),
             (3.5, SUPPLYING, True, "S2")]
    assert run(vehicle, steps) == [(3.5, "unplug")]


def test_idle_and_unplugged_does_nothing():
    assert run(Vehicle(5.0), [(t, AVAILABLE, False, None) for t in range(10)]) == []
