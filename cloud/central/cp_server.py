"""Central's CP socket server: one asyncio loop in a thread of its own, many CP links
(:class:`~cloud.central.cp_connection.CpConnection`), beside the HTTP server."""

from __future__ import annotations

import asyncio
import logging
import threading

from cloud.central.cp_connection import CpConnection
from cloud.central.fleet import Fleet
from cloud.central.framed import CommandLedger
from runtime import systemd
from runtime.loop_thread import LoopThread

log = logging.getLogger(__name__)

SWEEP_EVERY = 0.2


class CpServer:
    """The CP socket server in a thread of its own: ``start()`` binds, ``stop()`` ends."""

    def __init__(self, fleet: Fleet, host: str = "127.0.0.1", port: int = 7000) -> None:
        self.fleet = fleet
        self.registry = fleet.registry  # credentials
        self.ledger = CommandLedger()  # what each command sent was, for its result
        self.host, self.port = host, port
        self._runner = LoopThread("cp-server", self._run)
        self.loop = self._runner.loop
        self.connections: set[CpConnection] = set()
        self.active: dict[str, CpConnection] = {}
        self.thread_id: int | None = None
        self._server: asyncio.Server | None = None
        self.watchdog = systemd.Watchdog()  # kicked by the sweep, on this loop only

    @property
    def address(self) -> tuple[str, int]:
        return self._server.sockets[0].getsockname()[:2]

    def start(self) -> CpServer:
        """Bind and serve; raises OSError (e.g. port in use) from the caller's thread."""
        self._runner.start()
        return self

    def stop(self) -> None:
        if self._runner.alive():
            self.loop.call_soon_threadsafe(self.loop.stop)
            self._runner.join(5)

    def _run(self) -> None:
        self.thread_id = threading.get_ident()
        asyncio.set_event_loop(self.loop)
        try:
            self._server = self.loop.run_until_complete(self.loop.create_server(
                lambda: CpConnection(self), self.host, self.port, backlog=1024))
        except BaseException as error:  # noqa: BLE001 - handed to start()'s caller
            self._runner.bound(error)
            self.loop.close()
            return
        log.info("CP server listening on %s:%s", *self.address)
        self._runner.bound()
        self.loop.call_soon(self._sweep)
        try:
            self.loop.run_forever()
        finally:
            self._shutdown()

    def _sweep(self) -> None:
        try:
            self.fleet.sweep()
            self.fleet.sample_power()
        except Exception:
            log.exception("sweep failed")
        self.watchdog.kick()
        self.loop.call_later(SWEEP_EVERY, self._sweep)

    def _shutdown(self) -> None:
        self._server.close()
        for connection in list(self.connections):
            connection.close("Central shutting down")
        self.loop.run_until_complete(asyncio.sleep(0.05))
        self.loop.run_until_complete(self._server.wait_closed())
        self.loop.close()
        log.info("CP server stopped")
