"""A fake Central for the driver app's tests: it reads ``driver.requests`` from a real
Kafka and scripts ``driver.updates`` per CP id: ``ok`` (a short supply and its ticket),
``deny``, or ``hold`` (supplying until the test ends it).  It also writes updates for
another driver, which must never be shown.  :func:`rewritten` tells when the driver
app's state dir holds what it had read by some moment.
"""

from __future__ import annotations

import heapq
import itertools
import threading
import time
from collections.abc import Callable
from pathlib import Path

import confluent_kafka
from confluent_kafka import OFFSET_BEGINNING, TopicPartition

from protocol import driver as d
from protocol.messages import new_id, utc_now
from protocol.topics import DRIVER_REQUESTS, DRIVER_UPDATES

DRIVER = "D1"
OTHER = "OTHER-1"


def rewritten(path: Path) -> Callable[[], bool]:
    """A predicate for ``wait_for``: ``path`` (a JSON file the app replaces whole, like
    ``offsets.json``) holds something else than when this was called.  Such a save came
    after the call, so it covers whatever the app had read by then."""
    def text() -> str | None:
        try:
            return path.read_text()
        except FileNotFoundError:
            return None

    before = text()
    return lambda: text() != before


class FakeCentral:
    def __init__(self, bootstrap: str, script: dict[str, str], drop_first_status=False):
        self.script, self.drop_first_status = script, drop_first_status
        self.requests: list[tuple[float, d.DriverMessage]] = []
        self.sent: list[tuple[float, d.DriverMessage]] = []
        self.current: dict | None = None
        self.recent: list[dict] = []
        self.held: dict[str, d.Plugged] = {}
        self._timeline: list = []
        self._order = itertools.count()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._producer = confluent_kafka.Producer(
            {"bootstrap.servers": bootstrap, "linger.ms": 2, "log_level": 2})
        self._consumer = confluent_kafka.Consumer(
            {"bootstrap.servers": bootstrap, "group.id": "fake-central", "log_level": 2,
             "enable.auto.commit": False})
        meta = self._consumer.list_topics(DRIVER_REQUESTS, timeout=5).topics[DRIVER_REQUESTS]
        self._consumer.assign([TopicPartition(DRIVER_REQUESTS, p, OFFSET_BEGINNING)
                               for p in meta.partitions])
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(5)
        self._producer.flush(5)
        self._consumer.close()
        # a client left alive keeps Tansu from stopping for 5 s
        self._producer = self._consumer = None  # type: ignore[assignment]

    # what the tests look at
    def received(self, kind: type) -> list[tuple[float, d.DriverMessage]]:
        with self._lock:
            return [(t, r) for t, r in self.requests if isinstance(r, kind)]

    def sent_of(self, kind: type, driver_id: str = DRIVER) -> list[tuple[float, d.DriverMessage]]:
        with self._lock:
            return [(t, u) for t, u in self.sent
                    if isinstance(u, kind) and u.driver_id == driver_id]

    def end(self, cp_id: str, reason: str, interrupted: bool) -> str:
        with self._lock:
            plugged = self.held.pop(cp_id)
        self._emit(self._ticket(plugged, reason, interrupted))
        return plugged.session_id

    # the loop
    def _run(self) -> None:
        while not self._stop.is_set():
            for record in self._consumer.consume(20, 0.05):
                if record.error() is None:
                    self._handle(d.decode_request(record.value()))
            now = time.monotonic()
            while self._timeline and self._timeline[0][0] <= now:
                self._emit(heapq.heappop(self._timeline)[2])
            with self._lock:
                held = list(self.held.values())
            for plugged in held:
                if not self.sent_of(d.Progress) or now - self.sent_of(d.Progress)[-1][0] > 0.3:
                    self._emit(d.Progress(driver_id=plugged.driver_id, cp_id=plugged.cp_id,
                                          session_id=plugged.session_id, kw="7.4",
                                          kwh="0.5", eur="0.18"))
            self._producer.poll(0)

    def _later(self, delay: float, update: d.DriverMessage) -> None:
        heapq.heappush(self._timeline, (time.monotonic() + delay, next(self._order), update))

    def _emit(self, update: d.DriverMessage) -> None:
        with self._lock:
            self.sent.append((time.monotonic(), update))
            if isinstance(update, d.Plugged) and update.driver_id == DRIVER:
                self.current = {"cp_id": update.cp_id, "session_id": update.session_id,
                                "status": "supplying", "kw": "7.4", "kwh": "0.5", "eur": "0.18"}
            if isinstance(update, d.Ticket) and update.driver_id == DRIVER:
                self.current = None
                self.recent.insert(0, {k: v for k, v in vars(update).items()
                                       if k not in ("id", "ts", "driver_id")})
        self._producer.produce(DRIVER_UPDATES, key=update.driver_id, value=d.encode(update))

    def _handle(self, request: d.DriverMessage) -> None:
        with self._lock:
            first = not any(r.id == request.id for _, r in self.requests)
            self.requests.append((time.monotonic(), request))
        me = request.driver_id
        if isinstance(request, d.StatusRequest):
            if first and self.drop_first_status:
                return
            with self._lock:
                current, recent = self.current, list(self.recent)
            self._emit(d.DriverStatus(driver_id=me, ref=request.id, current=current,
                                      recent=recent))
        elif isinstance(request, d.ListRequest):
            self._emit(d.CpList(driver_id=me, ref=request.id, cps=[
                {"id": "MAD-01", "location": "Madrid", "price_eur_kwh": "0.35",
                 "state": "ACTIVATED"}]))
        elif isinstance(request, d.ChargeRequest) and first:
            self._charge(request)

    def _charge(self, request: d.ChargeRequest) -> None:
        me, cp_id, session = request.driver_id, request.cp_id, new_id()
        plan = self.script.get(cp_id, "deny")
        self._noise()
        if plan == "deny":
            self._emit(d.Denied(driver_id=me, ref=request.id, cp_id=cp_id, reason="CP busy"))
            return
        self._emit(d.Accepted(driver_id=me, ref=request.id, cp_id=cp_id, session_id=session))
        self._later(0.1, d.Authorized(driver_id=me, cp_id=cp_id, session_id=session,
                                      expires_in_s=60))
        plugged = d.Plugged(driver_id=me, cp_id=cp_id, session_id=session,
                            started_at=utc_now(), price_eur_kwh="0.35")
        self._later(0.2, plugged)
        if plan == "hold":
            with self._lock:
                self.held[cp_id] = plugged
            return
        for step in range(1, 4):
            self._later(0.2 + step * 0.2, d.Progress(
                driver_id=me, cp_id=cp_id, session_id=session, kw="7.40",
                kwh=f"{step * 0.4:.3f}", eur=f"{step * 0.14:.2f}"))
        self._later(1.0, self._ticket(plugged, "unplugged", False))

    def _ticket(self, plugged: d.Plugged, reason: str, interrupted: bool) -> d.Ticket:
        return d.Ticket(driver_id=plugged.driver_id, cp_id=plugged.cp_id,
                        session_id=plugged.session_id, started_at=plugged.started_at,
                        ended_at=utc_now(), kwh="1.200", eur="0.42", price_eur_kwh="0.35",
                        reason=reason, interrupted=interrupted)

    def _noise(self) -> None:
        """Another driver's supply on the same topic: never to be shown to D1."""
        session = new_id()
        self._emit(d.Progress(driver_id=OTHER, cp_id="SECRET-9", session_id=session,
                              kw="9.99", kwh="9.999", eur="9.99"))
        self._emit(d.Ticket(driver_id=OTHER, cp_id="SECRET-9", session_id=session,
                            started_at=utc_now(), ended_at=utc_now(), kwh="9.999",
                            eur="9.99", price_eur_kwh="1.00", reason="unplugged"))
