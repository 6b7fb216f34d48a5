"""Carrying out the fleet core's effects: every kind it can return has a handler."""

from typing import get_args

from cloud.central.effects import Command, Effect, StoreWrite
from cloud.central.executor import EXECUTE


def flatten(union) -> set[type]:
    kinds = set()
    for kind in get_args(union):
        kinds |= flatten(kind) if get_args(kind) else {kind}
    return kinds


def test_every_effect_of_the_core_has_a_handler():
    assert set(EXECUTE) == flatten(Effect)
    assert flatten(Command) | flatten(StoreWrite) <= set(EXECUTE)
