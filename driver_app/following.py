"""What the driver's app keeps between updates: the supply it follows (from the request
to its end) and bounded sets of the ids it has already seen."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field, fields
from decimal import Decimal, InvalidOperation

from protocol.states import DriverPhase


@dataclass
class Following:
    """The one supply the app follows, in its :class:`~protocol.states.DriverPhase`."""

    cp_id: str
    phase: DriverPhase
    request_id: str | None = None
    requested_at: str | None = None
    session_id: str | None = None
    started_at: str | None = None
    price_eur_kwh: str | None = None
    kw: str = "0"
    kwh: str = "0"
    eur: str = "0"

    def __post_init__(self) -> None:
        self.phase = DriverPhase(self.phase)

    @classmethod
    def restore(cls, memory: object) -> Following | None:
        """A :class:`Following` from what :func:`dataclasses.asdict` saved of one; None
        when ``memory`` is not one (a state file edited by hand, or damaged)."""
        if not isinstance(memory, dict):
            return None
        names = {f.name for f in fields(cls)}
        try:
            following = cls(**{k: v for k, v in memory.items() if k in names})
        except (TypeError, ValueError):
            return None
        text = (following.cp_id, following.kw, following.kwh, following.eur)
        return following if all(isinstance(value, str) for value in text) else None


@dataclass
class Bounded:
    """A set that remembers only its ``limit`` most recently added members."""

    limit: int
    order: deque = field(default_factory=deque)
    members: set = field(default_factory=set)

    def add(self, item: str) -> None:
        if item in self.members:
            return
        self.order.append(item)
        self.members.add(item)
        while len(self.order) > self.limit:
            self.members.discard(self.order.popleft())

    def __contains__(self, item: object) -> bool:
        return item in self.members


def decimal(value: object) -> Decimal:
    """``value`` as a finite Decimal, 0 when it is not a number."""
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        return Decimal(0)
    return number if number.is_finite() else Decimal(0)
