"""The fleet's power over the last hour: a bounded ring of samples, pure, time passed in.

Central samples the total kW of its CPs every ``step`` seconds (:meth:`PowerHistory.add`
refuses a sample that comes sooner) and keeps the last ``span`` seconds; the dashboard
draws them.  Times are UTC epoch seconds.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

SPAN = 3600.0  # one hour
STEP = 5.0  # one point every 5 s: 720 points an hour


@dataclass(frozen=True)
class Point:
    t: float  # UTC epoch seconds
    kw: Decimal

    def as_json(self) -> dict[str, str]:
        return {"t": iso(self.t), "kw": str(self.kw)}


class PowerHistory:
    def __init__(self, span: float = SPAN, step: float = STEP) -> None:
        if step <= 0 or span < step:
            raise ValueError("need 0 < step <= span")
        self.span, self.step = float(span), float(step)
        self._points: deque[Point] = deque(maxlen=int(span // step) + 1)

    def due(self, t: float) -> bool:
        """True if a sample taken at ``t`` would be kept."""
        last = self._points[-1].t if self._points else None
        return last is None or t >= last + self.step or t <= last - self.step

    def add(self, t: float, kw: Decimal) -> Point | None:
        """Keep a sample taken at ``t``; None if it comes within ``step`` of the last."""
        if not self.due(t):
            return None
        if self._points and t < self._points[-1].t:
            self._points.clear()  # the wall clock went back a step or more: start over
        point = Point(t, kw)
        self._points.append(point)
        while self._points[0].t <= t - self.span:
            self._points.popleft()
        return point

    def points(self, now: float) -> list[Point]:
        """The samples of the ``span`` seconds up to ``now``, oldest first."""
        return [p for p in self._points if now - self.span < p.t <= now]

    def as_json(self, now: float) -> dict[str, Any]:
        return {"span": self.span, "step": self.step, "now": iso(now),
                "points": [p.as_json() for p in self.points(now)]}


def fleet_kw(cps: Iterable[Mapping[str, Any]]) -> Decimal:
    """Total kW of the CPs' views (only a supplying CP shows a ``kw``)."""
    total = Decimal(0)
    for cp in cps:
        try:
            kw = Decimal(str(cp.get("kw"))) if cp.get("kw") is not None else Decimal(0)
        except InvalidOperation:
            continue
        if kw.is_finite() and kw > 0:
            total += kw
    return total


def iso(t: float) -> str:
    """Epoch seconds -> ``2026-01-02T10:00:05.000Z``."""
    moment = datetime.fromtimestamp(t, UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")
