"""The real ``ev-driver`` process against a real Kafka (Tansu) and a fake Central.

The fake Central reads ``driver.requests`` and scripts ``driver.updates`` per CP id:
``ok`` (a short supply and its ticket), ``deny``, or ``hold`` (supplying until the test
ends it).  It also writes updates for another driver, which must never be shown.
"""

from __future__ import annotations

import heapq
import itertools
import os
import signal
import subprocess
import threading
import time
from pathlib import Path

import confluent_kafka
import pytest
from confluent_kafka import OFFSET_BEGINNING, TopicPartition

from protocol import driver as d
from protocol.messages import new_id, utc_now
from protocol.topics import DRIVER_REQUESTS, DRIVER_UPDATES
from sim import brokers as b
from tests.support import BIN, spawn, stop, wait_for

pytestmark = pytest.mark.integration

ENV = {"EV_KAFKA_SESSION_MS": "2000"}
DRIVER = "D1"
OTHER = "OTHER-1"


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


@pytest.fixture
def kafka(brokers):
    return brokers[0]


@pytest.fixture
def central_factory(kafka):
    made: list[FakeCentral] = []

    def make(script: dict[str, str], **options) -> FakeCentral:
        made.append(FakeCentral(kafka.address, script, **options))
        return made[-1]

    yield make
    for central in made:
        central.close()


def driver(kafka, tmp_path: Path, log: Path, cps: list[str]) -> subprocess.Popen:
    listing = tmp_path / "cps.txt"
    listing.write_text("# CPs to visit\n\n" + "\n".join(cps) + "\n")
    return spawn(["ev-driver", "--kafka", kafka.address, "--driver-id", DRIVER,
                  "--file", str(listing), "--state-dir", str(tmp_path / "state")], log, **ENV)


def finish(process: subprocess.Popen, log: Path, timeout: float = 30) -> str:
    try:
        assert process.wait(timeout) == 0
    finally:
        stop(process)
    return log.read_text()


def clean(output: str) -> None:
    assert "Traceback" not in output
    assert "SECRET-9" not in output and OTHER not in output and "9.999" not in output


def test_file_mode_serves_each_cp_with_a_pause_and_skips_a_denial(kafka, central_factory,
                                                                   tmp_path):
    central = central_factory({"MAD-01": "ok", "MAD-02": "ok"})
    log = tmp_path / "driver.log"
    output = finish(driver(kafka, tmp_path, log, ["MAD-01", "BAD-01", "MAD-02"]), log)
    clean(output)
    asked = [r.cp_id for _, r in central.received(d.ChargeRequest)]
    assert asked == ["MAD-01", "BAD-01", "MAD-02"]
    (first_ticket, _), = [(t, u) for t, u in central.sent_of(d.Ticket) if u.cp_id == "MAD-01"]
    (denied, _), = central.sent_of(d.Denied)
    requested = {r.cp_id: t for t, r in central.received(d.ChargeRequest)}
    assert 4.0 <= requested["BAD-01"] - first_ticket < 5.0
    assert 4.0 <= requested["MAD-02"] - denied < 5.0
    assert output.count("==== TICKET  MAD-01") == 1
    assert output.count("==== TICKET  MAD-02") == 1
    assert "denied at BAD-01: CP busy" in output
    assert "MAD-01  7.40 kW  0.400 kWh  0.14 EUR" in output
    assert "services  3 (2 completed, 1 not)" in output
    assert "energy    2.400 kWh" in output and "total     0.84 EUR" in output


@pytest.mark.parametrize("offsets", ["kept", "lost"])
def test_killed_mid_supply_shows_the_outcome_on_restart(kafka, central_factory, tmp_path,
                                                        offsets):
    central = central_factory({"HOLD-01": "hold"})
    first_log, second_log = tmp_path / "first.log", tmp_path / "second.log"
    process = driver(kafka, tmp_path, first_log, ["HOLD-01"])
    try:
        wait_for(lambda: "HOLD-01  7.40 kW" in first_log.read_text(), 20)
        time.sleep(1.2)  # the offsets are saved every second
    finally:
        process.kill()
        process.wait(5)
    session_id = central.end("HOLD-01", "stopped by Central", interrupted=True)
    if offsets == "lost":  # then only Central's DriverStatus can tell
        (tmp_path / "state" / "offsets.json").unlink()
    output = finish(driver(kafka, tmp_path, second_log, ["HOLD-01"]), second_log)
    clean(output)
    assert len(central.received(d.ChargeRequest)) == 1  # not asked again
    assert output.count("==== TICKET  HOLD-01") == 1
    assert "INTERRUPTED: stopped by Central" in output
    assert session_id in output
    assert "services  1 (1 completed, 0 not)" in output


def test_interactive_waits_for_kafka_and_retries_a_silent_central(kafka, central_factory,
                                                                   tmp_path):
    kafka.stop()
    log = tmp_path / "driver.log"
    out = open(log, "ab")  # noqa: SIM115 - closed below
    process = subprocess.Popen(
        [str(BIN / "ev-driver"), "--kafka", kafka.address, "--driver-id", DRIVER,
         "--state-dir", str(tmp_path / "state")],
        stdin=subprocess.PIPE, stdout=out, stderr=subprocess.STDOUT, text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1", **ENV})
    try:
        wait_for(lambda: f"cannot reach Kafka at {kafka.address}, retrying" in log.read_text(), 10)
        kafka.start()
        b.create_topics(kafka.address)
        central = central_factory({}, drop_first_status=True)
        wait_for(lambda: "no supply under way" in log.read_text(), 25)
        assert "Central is not answering, retrying" in log.read_text()
        asked = central.received(d.StatusRequest)
        assert len(asked) == 2 and asked[0][1].id == asked[1][1].id
        process.stdin.write("1\n")
        process.stdin.flush()
        wait_for(lambda: "Madrid" in log.read_text(), 10)
        process.send_signal(signal.SIGTERM)
        assert process.wait(10) == 0
    finally:
        stop(process)
        out.close()
    output = log.read_text()
    clean(output)
    assert "1) list available CPs" in output
    assert output.count("cannot reach Kafka") == 1
