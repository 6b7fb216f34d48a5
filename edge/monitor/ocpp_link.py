"""The WebSocket to the central system: a thin asyncio shell around mobilityhouse ``ocpp``.

One thread runs an event loop that dials ``ws(s)://...`` (subprotocol ``ocpp1.6``, HTTP
Basic authentication with the CP's id and password when given), keeps the link, dials
again with backoff after it drops, and carries calls both ways.  What to answer and what
to send is the core's (:mod:`edge.monitor.ocpp_core`), reached through the service
(:class:`~edge.monitor.ocpp_service.OcppMonitor`) under its lock.

The library's rules are kept: a handler (``@on``) never awaits a call (the call's answer
would be read by the loop that runs the handler); the calls a request leads to go out
from its ``@after`` hook, after our answer.  One task sends every call, one at a time:
first what the core asked for, then the durable queue of transaction messages, in order.
A call that gets no answer in time does not wedge the link: the next one goes out.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
import threading
from collections import deque
from collections.abc import Callable
from urllib.parse import urlsplit

from ocpp.exceptions import OCPPError
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus

from protocol.auth import basic_authorization
from runtime import backoff

from .ocpp_handlers import ChargePointHandlers

log = logging.getLogger(__name__)
logging.getLogger("ocpp").setLevel(logging.WARNING)  # it logs every frame at INFO

CALL_TIMEOUT = 30.0
SUBPROTOCOL = "ocpp1.6"


class LinkError(Exception):
    """A setting the link cannot work with: one line for the operator."""


def where(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.hostname}:{parts.port or (443 if parts.scheme == 'wss' else 80)}"


def check_url(url: str, ca: str | None) -> ssl.SSLContext | None:
    """The TLS context for ``url`` (None for ws://); a bad URL or CA is a LinkError."""
    parts = urlsplit(url)
    if parts.scheme not in ("ws", "wss") or not parts.hostname:
        raise LinkError(f"--ocpp {url!r} is not a ws:// or wss:// URL")
    if parts.scheme == "ws":
        if ca:
            raise LinkError("--ca is for wss:// URLs: a plain ws:// link has no certificate "
                            "to check")
        return None
    try:
        return ssl.create_default_context(cafile=ca)
    except (OSError, ssl.SSLError) as error:
        raise LinkError(f"cannot use --ca {ca}: {getattr(error, 'strerror', None) or error}") \
            from None


async def end(tasks: list[asyncio.Future]) -> None:
    """Cancel ``tasks`` and wait for them to end, cancelling again until they do: in
    Python 3.11 ``asyncio.wait_for`` loses a cancellation that comes as what it waits for
    completes (gh-86296), and the link's sender, which lost one, ran on and held the
    monitor's stop for good."""
    pending = set(tasks)
    while pending:
        for task in pending:
            task.cancel()
        _, pending = await asyncio.wait(pending, timeout=0.1)


class OcppLink:
    def __init__(self, url: str, cp_id: str, password: str | None, context: ssl.SSLContext | None,
                 service, *, on_status: Callable[[str], None],
                 on_fatal: Callable[[str], None], call_timeout: float = CALL_TIMEOUT,
                 delays=lambda: backoff.delays(0.5, 30.0)) -> None:
        self.url, self.cp_id, self.service = url, cp_id, service
        self.call_timeout = call_timeout
        self._password, self._context = password, context
        self._on_status, self._on_fatal = on_status, on_fatal
        self._delays = delays
        self._loop = asyncio.new_event_loop()
        self._calls: deque = deque()  # what the core asked to send now
        self._wake = asyncio.Event()
        self._reconnect = asyncio.Event()
        self._failed = False  # a transaction message failed on this connection
        self._stopping = asyncio.Event()
        self._thread = threading.Thread(target=self._loop.run_until_complete,
                                        args=(self._run(),), name="ocpp-link", daemon=True)

    def start(self) -> OcppLink:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._loop.call_soon_threadsafe(self._stopping.set)
        self._thread.join(5.0)

    # -- from any thread ----------------------------------------------------------
    def submit(self, calls: list) -> None:
        if calls:
            self._loop.call_soon_threadsafe(self._add, calls)

    def wake(self) -> None:
        self._loop.call_soon_threadsafe(self._wake.set)

    def reconnect(self) -> None:
        self._loop.call_soon_threadsafe(self._reconnect_now)

    def _reconnect_now(self) -> None:
        self._reconnect.set()
        self._wake.set()

    def _add(self, calls: list) -> None:
        self._calls.extend(calls)
        self._wake.set()

    # -- the loop -----------------------------------------------------------------
    async def _run(self) -> None:
        delays, outage, refusal = self._delays(), False, None
        headers = {}
        if self._password is not None:
            headers["Authorization"] = basic_authorization(self.cp_id, self._password)
        while not self._stopping.is_set():
            try:
                async with connect(self.url, subprotocols=[SUBPROTOCOL], ssl=self._context,
                                   additional_headers=headers, open_timeout=10,
                                   max_size=2**20) as ws:
                    delays, outage, refusal = self._delays(), False, None
                    await self._connected(ws)
                    if self._stopping.is_set():
                        return
                    self._on_status(f"lost the central system at {where(self.url)}")
            except ssl.SSLCertVerificationError as error:
                self._on_fatal(f"the central system at {where(self.url)} has a certificate "
                               f"this CP does not trust ({error.verify_message}): check --ca")
                return
            except InvalidStatus as error:
                code = error.response.status_code
                text = (f"the central system at {where(self.url)} refused our credentials "
                        f"(HTTP {code}): check the CP id and --ocpp-password-file"
                        if code == 401 else f"the central system at {where(self.url)} "
                        f"refused the connection (HTTP {code}), retrying")
                if text != refusal:
                    refusal = text
                    log.warning("%s", text)
                    self._on_status(text)
            except (OSError, TimeoutError, InvalidHandshake, ConnectionClosed) as error:
                if not outage:
                    outage = True
                    text = f"cannot reach central system at {where(self.url)}, retrying"
                    log.warning("%s", text)
                    log.debug("central system at %s: %s", self.url, error)
                    self._on_status(text)
            await self._pause(next(delays) if refusal is None else max(next(delays), 10.0))

    async def _pause(self, seconds: float) -> None:
        try:
            await asyncio.wait_for(self._stopping.wait(), seconds)
        except TimeoutError:
            pass

    async def _connected(self, ws) -> None:
        if ws.subprotocol != SUBPROTOCOL:
            log.warning("the central system did not agree to %s (it answered %r)",
                        SUBPROTOCOL, ws.subprotocol)
        log.info("connected to the central system at %s", self.url)
        self._on_status(f"connected to the central system at {where(self.url)}")
        cp = ChargePointHandlers(self.cp_id, ws, self)
        self._calls.clear()
        self._reconnect.clear()
        self._failed = False
        self.service.csms_connected()
        tasks = [asyncio.ensure_future(cp.start()), asyncio.ensure_future(self._sender(cp)),
                 asyncio.ensure_future(self._stopping.wait())]
        try:
            done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                if not task.cancelled() and isinstance(task.exception(), Exception) \
                        and not isinstance(task.exception(), ConnectionClosed):
                    log.error("OCPP link task failed: %r", task.exception())
        finally:
            await end(tasks)
            self.service.csms_lost()
            self._calls.clear()

    async def _sender(self, cp: ChargePointHandlers) -> None:
        """Every call, one at a time: the core's first, then the queue's head.  A call
        under way is never cut short: a reconnection (Reset) waits for the queue to be
        sent (or for a call to fail), so that nothing is sent twice."""
        while True:
            self._wake.clear()
            if self._reconnect.is_set() and (not self.service.queued() or self._failed):
                return
            if self._calls:
                sent = self._calls.popleft()
                self.service.answered(sent, await self._call(cp, sent.request))
                continue
            head = self.service.next_transaction()
            if head is not None:
                transaction, request = head
                try:
                    result = await cp.call(request, suppress=False)
                except OCPPError as error:
                    self._failed = True
                    self.service.undelivered(transaction, f"{type(error).__name__}: "
                                             f"{error.description}")
                    await self._backoff()
                    continue
                except TimeoutError:
                    self._failed = True
                    log.warning("no answer to %s within %g s: sending it again later",
                                transaction.action, self.call_timeout)
                    await self._backoff()
                    continue
                self.service.delivered(transaction, result)
                continue
            try:
                await asyncio.wait_for(self._wake.wait(), 1.0)
            except TimeoutError:
                pass

    async def _call(self, cp: ChargePointHandlers, request):
        try:
            return await cp.call(request, suppress=False)
        except OCPPError as error:
            log.warning("%s refused: %s", type(request).__name__, error)
        except TimeoutError:
            log.warning("no answer to %s within %g s", type(request).__name__, self.call_timeout)
        return None

    async def _backoff(self) -> None:
        seconds = self.service.retry_interval()
        try:  # what the core asks for still goes out meanwhile
            await asyncio.wait_for(self._wake.wait(), seconds)
        except TimeoutError:
            pass
