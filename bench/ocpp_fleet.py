"""N simulated OCPP 1.6J chargers in one asyncio process: the websockets shell around
:class:`bench.ocppsim.ChargerModel`.

Each charger is one WebSocket (subprotocol ``ocpp1.6``, HTTP Basic auth with its CP id
and secret), a reader task that feeds Central's frames to its model, a writer task that
sends the model's frames in order, and a timer for :meth:`ChargerModel.next_due`.  The
chargers offer no ``permessage-deflate`` (``compression=None``) and send no pings of
their own: Central pings them, as it does real chargers.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Callable

from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake

from bench.ocppsim import ChargerModel
from protocol.auth import basic_authorization


class SimulatedCharger:
    def __init__(self, model: ChargerModel, password: str) -> None:
        self.model, self.password = model, password
        self.cp_id = model.cp_id
        self.settled = asyncio.Event()  # ready, or failed
        self.closed = ""  # why the connection ended, if it did
        self._outgoing: asyncio.Queue[str] = asyncio.Queue()
        self._timer: asyncio.TimerHandle | None = None
        self._loop = asyncio.get_running_loop()

    async def run(self, url: str) -> None:
        try:
            authorization = basic_authorization(self.cp_id, self.password)
            async with connect(f"{url}{self.cp_id}", subprotocols=["ocpp1.6"],
                               additional_headers={"Authorization": authorization},
                               compression=None, ping_interval=None, open_timeout=60,
                               close_timeout=2) as websocket:
                writer = asyncio.create_task(self._write(websocket))
                try:
                    self.do(ChargerModel.start)
                    async for text in websocket:
                        self._emit(self.model.received(text, time.time()))
                finally:
                    writer.cancel()
            self.closed = "closed by Central"
        except (OSError, TimeoutError, InvalidHandshake, ConnectionClosed) as error:
            self.closed = f"{type(error).__name__}: {error}"
        finally:
            if self._timer:
                self._timer.cancel()
            self.settled.set()

    def do(self, action: Callable[..., list[str]], *args) -> None:
        """Run one of the model's actions (``ChargerModel.fault`` ...) and send what it says."""
        self._emit(action(self.model, time.time(), *args))

    async def _write(self, websocket) -> None:
        while True:
            await websocket.send(await self._outgoing.get())

    def _emit(self, frames: list[str]) -> None:
        for frame in frames:
            self._outgoing.put_nowait(frame)
        if self.model.ready:
            self.settled.set()
        if self._timer:
            self._timer.cancel()
        due = self.model.next_due()
        if due != float("inf"):
            self._timer = self._loop.call_later(max(0.0, due - time.time()), self._tick)

    def _tick(self) -> None:
        self._timer = None
        if not self.closed:
            self._emit(self.model.tick(time.time()))


async def connect_chargers(url: str, credentials: list[tuple[str, str]], charging: set[str],
                           rate: float = 250.0, progress=print,
                           timeout: float = 180.0) -> tuple[list[SimulatedCharger], list]:
    """Connect every charger (``rate`` per second), those in ``charging`` with an idTag
    (their driver: ``D`` + the CP id) and a transaction, and wait until each is ready or
    has failed.  Returns the chargers and their tasks."""
    fleet, tasks = [], []
    started = time.monotonic()
    for n, (cp_id, secret) in enumerate(credentials, 1):
        id_tag = f"D{cp_id}" if cp_id in charging else None
        model = ChargerModel(cp_id, id_tag, phase=random.uniform(0, 10))
        charger = SimulatedCharger(model, secret)
        fleet.append(charger)
        tasks.append(asyncio.create_task(charger.run(url)))
        if n % 250 == 0 or n == len(credentials):
            ready = sum(c.model.ready for c in fleet)
            progress(f"  connecting: {n}/{len(credentials)} chargers started, {ready} ready")
        await asyncio.sleep(max(0.0, n / rate - (time.monotonic() - started)))
    waiting = asyncio.gather(*(c.settled.wait() for c in fleet))
    try:
        await asyncio.wait_for(waiting, timeout)
    except TimeoutError:
        pass
    ready = sum(c.model.ready for c in fleet)
    progress(f"  {ready}/{len(fleet)} chargers ready in {time.monotonic() - started:.1f} s")
    failed = [c for c in fleet if c.closed]
    if failed:
        progress(f"  {len(failed)} chargers failed, e.g. {failed[0].cp_id}: {failed[0].closed}")
    return fleet, tasks
