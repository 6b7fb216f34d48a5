"""A fleet simulator: N charging points in one asyncio process, real protocol.

Each simulated CP is what a monitor looks like to Central: it opens a framed link,
answers the HMAC challenge, unwraps the key its Welcome carries and seals every frame
after it (as a monitor does; :attr:`SimulatedCP.key` also seals its engine's data-plane
messages, see :func:`sealed`), sends a heartbeat every second, can report a fault and
run a supply (its start record goes over the control plane, as the engine's does).
It refuses authorizations, so a CP a driver asked for is free again at once.
With ``sealing=False`` it keeps speaking plain after login, for a Central whose
sealing layer is left out (``bench.plain_central``).
"""

from __future__ import annotations

import asyncio
import random
import time

from protocol import key_wrap, seal
from protocol import messages as m
from protocol.auth import proof, secret_key
from protocol.link import Closed, Link, Received


class SimulatedCP(asyncio.Protocol):
    def __init__(self, cp_id: str, secret: str, loop: asyncio.AbstractEventLoop,
                 sealing: bool = True) -> None:
        self.cp_id, self.secret, self.loop, self.sealing = cp_id, secret, loop, sealing
        self.link = Link(m.CONTROL_CODEC)
        self.transport: asyncio.Transport | None = None
        self.welcomed = asyncio.Event()
        self.closed = False
        self.close_reason = ""
        self.engine = "OK"
        self.session_id: str | None = None
        self.key: seal.Key | None = None
        self._wrapping: bytes | None = None
        self._timer: asyncio.TimerHandle | None = None

    # asyncio.Protocol
    def connection_made(self, transport) -> None:
        self.transport = transport
        self.link.open(self.loop.time())
        self.link.send(m.Hello(cp_id=self.cp_id, location="bench"), self.loop.time())
        self._flush()

    def data_received(self, data: bytes) -> None:
        self.link.receive_data(data, self.loop.time())
        self._flush()

    def connection_lost(self, exc) -> None:
        self.closed = True
        self.close_reason = self.close_reason or f"connection lost: {exc}"

    # behaviour
    def send(self, message: m.Message) -> None:
        if not self.closed:
            self.link.send(message, self.loop.time())
            self._flush()

    def set_engine(self, health: str) -> None:
        self.engine = health
        self.send(m.EngineStatus(cp_id=self.cp_id, engine=health, reason="bench"))

    def start_supply(self, session_id: str, price: str = "0.30") -> None:
        self.session_id = session_id
        self.send(m.SupplyStarted(cp_id=self.cp_id, session_id=session_id,
                                  started_at=m.utc_now(), price_eur_kwh=price))

    def _handle(self, message: m.Message) -> None:
        if isinstance(message, m.Command):
            refused = message.action == "authorize"
            self.send(m.CommandResult(cp_id=self.cp_id, ref=message.id, ok=not refused,
                                      reason="bench: no vehicle" if refused else ""))
        elif isinstance(message, m.Challenge):
            self._wrapping = key_wrap.wrapping_key(secret_key(self.secret), message.nonce,
                                                   self.cp_id)
            self.send(m.Authenticate(cp_id=self.cp_id, hmac=proof(self.secret, message.nonce,
                                                                    self.cp_id)))
        elif isinstance(message, m.Welcome):
            self.key = key_wrap.unwrap(message.wrapped_key, message.key_id, self._wrapping,
                                       self.cp_id)
            if self.sealing:
                self.link.codec = seal.SealingCodec(m.CONTROL_CODEC, self.cp_id, self.key)
            self.welcomed.set()
            self.send(m.EngineStatus(cp_id=self.cp_id, engine=self.engine))
            self.loop.call_later(random.random(), self._heartbeat)

    def _heartbeat(self) -> None:
        if self.closed:
            return
        state = "available" if self.engine == "OK" else "broken"
        if self.session_id and self.engine == "OK":
            state = "supplying"
        self.send(m.Heartbeat(cp_id=self.cp_id, engine=self.engine, state=state,
                              session_id=self.session_id))
        self.loop.call_later(1.0, self._heartbeat)

    def _flush(self) -> None:
        out = self.link.data_to_send()
        if out and self.transport and not self.transport.is_closing():
            self.transport.write(out)
        while (event := self.link.next_event()) is not None:
            if isinstance(event, Received):
                self._handle(event.message)
            elif isinstance(event, Closed):
                self.closed = True
                self.close_reason = self.close_reason or event.reason
                if self.transport:
                    self.transport.close()
        if self._timer:
            self._timer.cancel()
        deadline = self.link.deadline()
        if deadline is not None:
            self._timer = self.loop.call_at(deadline, self._tick)

    def _tick(self) -> None:
        self._timer = None
        self.link.tick(self.loop.time())
        self._flush()


def published(cp: SimulatedCP, message: m.Message) -> bytes:
    """A data-plane message as the CP's engine publishes it: sealed under its key (plain
    for a fleet that does not seal)."""
    if not cp.sealing:
        return m.encode(message)
    return seal.seal(cp.key, message.cp_id, message.TYPE, message.id, m.encode(message),
                     seal.new_nonce())


async def connect_fleet(host: str, port: int, credentials: list[tuple[str, str]],
                        rate: float = 500.0, progress=print,
                        sealing: bool = True) -> list[SimulatedCP]:
    """Connect every CP (``rate`` per second) and wait until all are welcomed."""
    loop = asyncio.get_running_loop()
    fleet = []
    started = time.monotonic()
    for n, (cp_id, secret) in enumerate(credentials, 1):
        cp = SimulatedCP(cp_id, secret, loop, sealing)
        await loop.create_connection(lambda cp=cp: cp, host, port)
        fleet.append(cp)
        if n % 250 == 0:
            progress(f"  connected {n}/{len(credentials)} CPs")
        await asyncio.sleep(max(0.0, n / rate - (time.monotonic() - started)))
    await asyncio.wait_for(asyncio.gather(*(cp.welcomed.wait() for cp in fleet)), timeout=120)
    return fleet
