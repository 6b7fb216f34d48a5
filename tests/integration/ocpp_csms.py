"""A small OCPP 1.6J central system written with mobilityhouse ``ocpp`` and websockets, for
the tests of ``ev-cp-m --ocpp``: it records every call a charge point makes and makes
calls to it (RemoteStart, ChangeConfiguration, ...), on its own event loop thread."""

from __future__ import annotations

import asyncio
import base64
import itertools
import json
import ssl
import threading
import time
from datetime import UTC, datetime
from http import HTTPStatus

from ocpp.routing import on
from ocpp.v16 import ChargePoint, call_result
from ocpp.v16.enums import Action
from websockets.asyncio.server import serve

from tests.support import wait_for


def utc_now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


class _Station(ChargePoint):
    def __init__(self, cp_id, connection, csms: Csms) -> None:
        super().__init__(cp_id, connection, response_timeout=10)
        self.csms = csms

    async def route_message(self, raw_msg):
        message = json.loads(raw_msg)
        if message[0] == 2:
            self.csms.record(message[2], message[3])
            self._actions = {message[1]: message[2]}
        await super().route_message(raw_msg)

    async def _send(self, message):
        """Answers to the actions in ``csms.lose_answer`` are lost once each."""
        sent = json.loads(message)
        action = getattr(self, "_actions", {}).get(sent[1]) if sent[0] == 3 else None
        if action in self.csms.lose_answer:
            self.csms.lose_answer.discard(action)
            return
        await super()._send(message)

    @on(Action.boot_notification)
    def _boot(self, **_):
        return call_result.BootNotification(current_time=utc_now(),
                                            interval=self.csms.interval,
                                            status=self.csms.boot_status)

    @on(Action.heartbeat)
    def _heartbeat(self, **_):
        return call_result.Heartbeat(current_time=utc_now())

    @on(Action.status_notification)
    def _status(self, **_):
        return call_result.StatusNotification()

    @on(Action.authorize)
    def _authorize(self, id_tag, **_):
        status = "Blocked" if id_tag in self.csms.blocked else "Accepted"
        return call_result.Authorize(id_tag_info={"status": status})

    @on(Action.start_transaction)
    def _start(self, id_tag, timestamp, **_):
        key = (id_tag, timestamp)
        tid = self.csms.transactions.setdefault(key, next(self.csms.ids))
        return call_result.StartTransaction(transaction_id=tid,
                                            id_tag_info={"status": "Accepted"})

    @on(Action.stop_transaction)
    def _stop(self, **_):
        return call_result.StopTransaction()

    @on(Action.meter_values)
    def _meter_values(self, **_):
        return call_result.MeterValues()


class Csms:
    def __init__(self, port: int, *, password: str | None = None, interval: int = 60,
                 first_id: int = 100, tls: ssl.SSLContext | None = None) -> None:
        self.port = port
        self.tls = tls
        self.password = password
        self.interval = interval
        self.boot_status = "Accepted"
        self.blocked: set[str] = set()
        self.lose_answer: set[str] = set()  # actions whose next answer never leaves
        self.ids = itertools.count(first_id)
        self.transactions: dict[tuple, int] = {}
        self.calls: list[tuple[float, str, dict]] = []  # (when, action, payload as sent)
        self.station: _Station | None = None
        self.refused = 0  # connections refused with 401
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"{'wss' if self.tls else 'ws'}://127.0.0.1:{self.port}/ocpp"

    def record(self, action: str, payload: dict) -> None:
        with self._lock:
            self.calls.append((time.monotonic(), action, payload))

    def of(self, action: str, since: float = 0.0) -> list[dict]:
        with self._lock:
            return [p for t, a, p in self.calls if a == action and t >= since]

    def wait(self, action: str, since: float = 0.0, timeout: float = 15.0, **match) -> dict:
        def found():
            for payload in self.of(action, since):
                if all(payload.get(k) == v for k, v in match.items()):
                    return [payload]  # truthy even when the payload is {}
            return None

        return wait_for(found, timeout)[0]

    # -- running ------------------------------------------------------------------
    def start(self) -> Csms:
        ready = threading.Event()
        self._loop = asyncio.new_event_loop()
        self._stopped = asyncio.Event()

        async def main():
            async with serve(self._handler, "127.0.0.1", self.port, subprotocols=["ocpp1.6"],
                             process_request=self._authenticate, ssl=self.tls) as server:
                ready.set()
                await self._stopped.wait()
                server.close()

        self._thread = threading.Thread(target=self._loop.run_until_complete, args=(main(),),
                                        daemon=True)
        self._thread.start()
        assert ready.wait(5)
        return self

    def stop(self) -> None:
        if self._thread is None:
            return
        self._loop.call_soon_threadsafe(self._stopped.set)
        self._thread.join(5)
        self._thread = None
        self.station = None

    def _authenticate(self, connection, request):
        if self.password is None:
            return None
        expected = base64.b64encode(f"{request.path.rsplit('/', 1)[-1]}:{self.password}"
                                    .encode()).decode()
        if request.headers.get("Authorization") != f"Basic {expected}":
            self.refused += 1
            return connection.respond(HTTPStatus.UNAUTHORIZED, "wrong credentials\n")
        return None

    async def _handler(self, connection) -> None:
        station = _Station(connection.request.path.rsplit("/", 1)[-1], connection, self)
        self.station = station
        try:
            await station.start()
        except Exception:  # noqa: BLE001 - the connection closed
            pass

    def call(self, request, timeout: float = 10.0):
        """Make a call to the connected charge point; its answer."""
        station = wait_for(lambda: self.station, timeout)
        future = asyncio.run_coroutine_threadsafe(station.call(request, suppress=False),
                                                  self._loop)
        return future.result(timeout)
