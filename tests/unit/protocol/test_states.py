"""The one vocabulary: members are their strings, on the wire and in JSON."""

import json

import pytest

from protocol.states import CpState, DriverPhase, EngineState, Health, SessionStatus


@pytest.mark.parametrize("enum", [EngineState, Health, CpState, SessionStatus, DriverPhase])
def test_a_state_is_its_string(enum):
    for member in enum:
        assert member == member.value and str(member) == member.value
        assert json.dumps({"state": member}) == json.dumps({"state": member.value})
        assert enum(member.value) is member


def test_central_states_are_listed_in_order_of_precedence():
    assert list(CpState) == ["DISCONNECTED", "BROKEN", "STOPPED", "SUPPLYING", "AUTHORIZED",
                             "ACTIVATED"]
