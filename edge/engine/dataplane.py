"""What the engine tells the data plane (``--mqtt``): a thin adapter over the uplink.

Every message goes to the uplink's outbox (durable), which publishes it: a
``StateChanged`` on each change of state, health or session, a ``ButtonPressed`` per
press, the supply records (the very messages journaled and sent to the monitor) and a
``Telemetry`` every second of a supply.  The uplink seals each with the CP's key when it
publishes it.  Without an uplink nothing is published.
"""

from __future__ import annotations

from collections.abc import Callable

from edge.engine.clock import Now
from edge.engine.machine import Machine
from protocol import messages
from protocol.data import ButtonPressed, StateChanged, Telemetry
from protocol.seal import Key


class DataPlane:
    def __init__(self, cp_id: str, uplink, new_id: Callable[[], str]) -> None:
        self.cp_id = cp_id
        self.uplink = uplink  # .publish(message), .connected, .depth; None without --mqtt
        self._new_id = new_id
        self._published: tuple | None = None  # the state last published

    @property
    def enabled(self) -> bool:
        return self.uplink is not None

    @property
    def connected(self) -> bool:
        return bool(self.uplink and self.uplink.connected)

    @property
    def depth(self) -> int:
        """Messages in the outbox, not yet acknowledged by the broker."""
        return self.uplink.depth if self.uplink else 0

    def use_key(self, key: Key | None) -> None:
        """Seal with ``key`` from now on; None: revoked, everything waits in the outbox."""
        if self.uplink is not None:
            self.uplink.use_key(key)

    def publish(self, message: messages.Message) -> None:
        if self.uplink is not None:
            self.uplink.publish(message)

    def button(self, now: Now, button: str) -> None:
        if self.uplink is not None:
            self.publish(ButtonPressed(cp_id=self.cp_id, id=self._new_id(), ts=now.iso,
                                       button=button))

    def state(self, now: Now, machine: Machine, reason: str) -> None:
        """A ``StateChanged`` if state, health or session changed since the last one."""
        current = machine.supply or machine.authorization
        key = (machine.state, machine.health, current and current.session_id)
        if self.uplink is None or key == self._published:
            return
        self._published = key
        self.publish(StateChanged(
            cp_id=self.cp_id, id=self._new_id(), ts=now.iso, state=machine.state,
            health=machine.health, session_id=current and current.session_id,
            driver_id=current and current.driver_id, reason=reason))

    def telemetry(self, now: Now, machine: Machine) -> None:
        supply = machine.supply
        if self.uplink is None or supply is None:
            return
        reading = supply.reading
        self.publish(Telemetry(
            cp_id=self.cp_id, id=self._new_id(), ts=now.iso,
            session_id=supply.session_id, kw=str(reading.kw), kwh=str(reading.kwh),
            eur=str(reading.eur), price_eur_kwh=str(supply.price), driver_id=supply.driver_id))
