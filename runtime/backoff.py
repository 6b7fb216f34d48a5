"""Reconnect delays: exponential with full jitter, capped."""

from __future__ import annotations

import random
from collections.abc import Callable


def delays(
    first: float = 0.2, cap: float = 2.0, rand: Callable[[], float] = random.random
):
    """Endless delays: ``first``, doubling, capped, each jittered into [d/2, d]."""
    delay = first
    while True:
        yield delay / 2 + rand() * delay / 2
        delay = min(cap, delay * 2)
