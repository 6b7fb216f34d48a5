"""A charge point written with ``ocpp`` (python), as the client of Central's OCPP
endpoint in tests: a real WebSocket on a loop in its own thread, every call Central
makes recorded (and answered as the test says), calls to Central made synchronously."""

from __future__ import annotations

import asyncio
import queue
import threading
from typing import Any

import websockets
from ocpp.routing import on
from ocpp.v16 import ChargePoint, call, call_result
from ocpp.v16.enums import Action

from protocol.auth import basic_authorization


class _Client(ChargePoint):
    def __init__(self, cp_id, connection, owner) -> None:
        super().__init__(cp_id, connection, response_timeout=10)
        self.owner = owner

    def _got(self, action: str, **fields: Any) -> None:
        self.owner.received.put((action, fields))

    @on(Action.remote_start_transaction)
    async def on_remote_start(self, **fields):
        self._got("RemoteStartTransaction", **fields)
        await asyncio.sleep(self.owner.delays.get("RemoteStartTransaction", 0))
        return call_result.RemoteStartTransaction(status=self.owner.answers.get(
            "RemoteStartTransaction", "Accepted"))

    @on(Action.remote_stop_transaction)
    def on_remote_stop(self, **fields):
        self._got("RemoteStopTransaction", **fields)
        return call_result.RemoteStopTransaction(status="Accepted")

    @on(Action.change_availability)
    def on_change_availability(self, **fields):
        self._got("ChangeAvailability", **fields)
        return call_result.ChangeAvailability(status="Accepted")

    @on(Action.reset)
    def on_reset(self, **fields):
        self._got("Reset", **fields)
        return call_result.Reset(status="Accepted")

    @on(Action.unlock_connector)
    def on_unlock(self, **fields):
        self._got("UnlockConnector", **fields)
        return call_result.UnlockConnector(status="Unlocked")

    @on(Action.get_configuration)
    def on_get_configuration(self, **fields):
        self._got("GetConfiguration", **fields)
        return call_result.GetConfiguration(configuration_key=[
            {"key": "HeartbeatInterval", "readonly": False, "value": "300"}])

    @on(Action.change_configuration)
    def on_change_configuration(self, **fields):
        self._got("ChangeConfiguration", **fields)
        return call_result.ChangeConfiguration(status="Accepted")

    @on(Action.trigger_message)
    def on_trigger_message(self, **fields):
        self._got("TriggerMessage", **fields)
        return call_result.TriggerMessage(status="Accepted")


class Charger:
    """``Charger(url, cp_id, password)``: connected (or ``refused`` with the HTTP status);
    ``call(payload)`` returns Central's answer; ``expect(action)`` what Central sent."""

    def __init__(self, url: str, cp_id: str, password: str, ssl=None,
                 subprotocols: tuple[str, ...] = ("ocpp1.6",)) -> None:
        self.cp_id = cp_id
        self._ssl, self._subprotocols = ssl, list(subprotocols)
        self.received: queue.Queue = queue.Queue()
        self._unclaimed: list[tuple[str, dict[str, Any]]] = []
        self.answers: dict[str, str] = {}
        self.delays: dict[str, float] = {}  # seconds before answering (this loop waits)
        self.refused: int | None = None
        self.closed = threading.Event()
        self.loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._client: _Client | None = None
        self._thread = threading.Thread(target=self._run, args=(url, password), daemon=True)
        self._thread.start()
        assert self._ready.wait(10)

    def _run(self, url: str, password: str) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_until_complete(self._main(url, password))

    async def _main(self, url: str, password: str) -> None:
        try:
            connection = await websockets.connect(
                f"{url}{self.cp_id}", subprotocols=self._subprotocols or None,
                additional_headers={"Authorization": basic_authorization(self.cp_id, password)},
                ssl=self._ssl)
        except websockets.InvalidStatus as error:
            self.refused = error.response.status_code
            self._ready.set()
            self.closed.set()
            return
        self._connection = connection
        self._client = _Client(self.cp_id, connection, self)
        self._ready.set()
        try:
            await self._client.start()
        except websockets.ConnectionClosed:
            pass
        finally:
            self.closed.set()

    def call(self, payload: Any, timeout: float = 10) -> Any:
        future = asyncio.run_coroutine_threadsafe(self._client.call(payload, suppress=False),
                                                  self.loop)
        return future.result(timeout)

    def expect(self, action: str, timeout: float = 5) -> dict[str, Any]:
        """The first call of ``action`` Central made and no expect took yet, in any order
        with the others (two commands of one decision, e.g. RemoteStopTransaction and
        ChangeAvailability, need not arrive in the order a test names them)."""
        for n, (got, fields) in enumerate(self._unclaimed):
            if got == action:
                del self._unclaimed[n]
                return fields
        while True:
            got, fields = self.received.get(timeout=timeout)
            if got == action:
                return fields
            self._unclaimed.append((got, fields))

    def boot(self) -> Any:
        return self.call(call.BootNotification(charge_point_model="Test",
                                               charge_point_vendor="EV"))

    def status(self, status: str, connector_id: int = 1, error_code: str = "NoError") -> None:
        self.call(call.StatusNotification(connector_id=connector_id, error_code=error_code,
                                          status=status))

    def close(self) -> None:
        if self._client is not None and not self.closed.is_set():
            asyncio.run_coroutine_threadsafe(self._connection.close(), self.loop)
        assert self.closed.wait(5)
