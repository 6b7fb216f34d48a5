"""The monitor shell's routing: every action its core can return is carried out."""

from typing import get_args

from edge.monitor.core import Action
from edge.monitor.service import EXECUTE


def test_every_action_of_the_core_has_a_handler():
    assert set(EXECUTE) == set(get_args(Action))
