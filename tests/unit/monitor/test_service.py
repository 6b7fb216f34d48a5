"""The monitor shells' routing: every action their cores can return is carried out."""

from typing import get_args

from edge.monitor import core, ocpp_actions, ocpp_service, service


def test_every_action_of_the_core_has_a_handler():
    assert set(service.EXECUTE) == set(get_args(core.Action))


def test_every_action_of_the_ocpp_core_has_a_handler():
    assert set(ocpp_service.EXECUTE) == set(get_args(ocpp_actions.Action))
