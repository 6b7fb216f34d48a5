"""The uplink's pure decisions: which topic a message goes to, which outbox rows are in
flight, and one log line per broker outage.  No I/O, no clock, no threads."""

from __future__ import annotations

from dataclasses import dataclass, field

from protocol import messages
from protocol.data import KIND_TYPES

WINDOW = 100


def topic_kind(message: messages.Message) -> str:
    """The MQTT topic kind (``events``, ``telemetry``, ``status``) a message goes to."""
    for kind, types in KIND_TYPES.items():
        if message.TYPE in types:
            return kind
    raise ValueError(f"a {message.TYPE} message has no place on the data plane")


# -- pure decisions ------------------------------------------------------------------
@dataclass
class Window:
    """Rows in flight: which ``mid`` carries which ``seq``; at most ``size`` at a time."""

    size: int = WINDOW
    after: int = 0  # highest seq published since the last reset
    inflight: dict[int, int] = field(default_factory=dict)

    @property
    def free(self) -> int:
        return max(0, self.size - len(self.inflight))

    def sent(self, seq: int, mid: int) -> None:
        self.inflight[mid] = seq
        self.after = max(self.after, seq)

    def acked(self, mid: int, ok: bool) -> int | None:
        """The seq to delete for this PUBACK (None: not ours, or the broker refused it)."""
        seq = self.inflight.pop(mid, None)
        return seq if ok else None

    def reset(self) -> None:
        """A new connection: publish again from the oldest row still in the outbox."""
        self.after = 0
        self.inflight.clear()


@dataclass
class Outage:
    """One log line per outage, not one per failed attempt."""

    address: str
    down_since: float | None = None
    logged: bool = False
    ever_up: bool = False

    def lost(self, now: float, reason: str) -> str | None:
        if self.down_since is None:
            self.down_since = now
        if self.logged:
            return None
        self.logged = True
        return f"cannot reach MQTT broker at {self.address}, retrying ({reason})"

    def connected(self, now: float, backlog: int) -> str:
        was, again = self.down_since, self.ever_up
        self.down_since, self.logged, self.ever_up = None, False, True
        if again and was is not None:
            return (f"MQTT uplink back on {self.address} after {now - was:.1f} s "
                    f"(outbox {backlog} rows)")
        return f"MQTT uplink connected to {self.address} (outbox {backlog} rows)"

