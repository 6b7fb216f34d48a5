"""The engine's time: one reading of both clocks, passed into the machine as ``now``."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime


@dataclass(frozen=True)
class Now:
    """A monotonic reading for durations, and the wall-clock time for records."""

    mono: float
    wall: datetime

    @property
    def iso(self) -> str:
        return self.wall.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def real_now() -> Now:
    return Now(time.monotonic(), datetime.now(UTC))
