"""Carrying out the machine's actions: every kind it can return has a handler."""

from typing import get_args

from edge.engine.executor import EXECUTE
from edge.engine.machine import Action


def test_every_action_of_the_machine_has_a_handler():
    assert set(EXECUTE) == set(get_args(Action))
