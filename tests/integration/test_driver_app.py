"""The real ``ev-driver`` process against a real Kafka (Tansu) and a fake Central
(:mod:`tests.integration.fake_central`)."""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path

import pytest

from protocol import driver as d
from sim import brokers as b
from tests.integration.fake_central import DRIVER, OTHER, FakeCentral, rewritten
from tests.support import BIN, bound, spawn, stop, wait_for

pytestmark = pytest.mark.integration

ENV = {"EV_KAFKA_SESSION_MS": "2000"}


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


def driver(kafka, tmp_path: Path, log: Path, cps: list[str], *args: str) -> subprocess.Popen:
    listing = tmp_path / "cps.txt"
    listing.write_text("# CPs to visit\n\n" + "\n".join(cps) + "\n")
    return spawn(["ev-driver", "--kafka", kafka.address, "--driver-id", DRIVER,
                  "--file", str(listing), "--state-dir", str(tmp_path / "state"), *args],
                 log, **ENV)


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
    pause_after_ticket, pause_after_denial = pauses(central)
    assert pause_after_ticket >= 4.0 and pause_after_denial >= 4.0
    assert output.count("==== TICKET  MAD-01") == 1
    assert output.count("==== TICKET  MAD-02") == 1
    assert "denied at BAD-01: CP busy" in output
    assert "MAD-01  7.40 kW  0.400 kWh  0.14 EUR" in output
    assert "supplies  3 (2 completed, 1 not)" in output
    assert "energy    2.400 kWh" in output and "total     0.84 EUR" in output


def pauses(central: FakeCentral) -> tuple[float, float]:
    """From MAD-01's ticket to the request for BAD-01, and from BAD-01's denial to the
    request for MAD-02, as Central saw them."""
    (first_ticket, _), = [(t, u) for t, u in central.sent_of(d.Ticket) if u.cp_id == "MAD-01"]
    (denied, _), = central.sent_of(d.Denied)
    requested = {r.cp_id: t for t, r in central.received(d.ChargeRequest)}
    return requested["BAD-01"] - first_ticket, requested["MAD-02"] - denied


@pytest.mark.latency
def test_file_mode_asks_for_the_next_cp_once_the_pause_is_over(kafka, central_factory,
                                                               tmp_path):
    central = central_factory({"MAD-01": "ok", "MAD-02": "ok"})
    log = tmp_path / "driver.log"
    output = finish(driver(kafka, tmp_path, log, ["MAD-01", "BAD-01", "MAD-02"], "--wait", "1"),
                    log)
    clean(output)
    for pause in pauses(central):
        assert 1.0 <= pause < 1.0 + bound(1.0)


@pytest.mark.parametrize("offsets", ["kept", "lost"])
def test_killed_mid_supply_shows_the_outcome_on_restart(kafka, central_factory, tmp_path,
                                                        offsets):
    central = central_factory({"HOLD-01": "hold"})
    first_log, second_log = tmp_path / "first.log", tmp_path / "second.log"
    process = driver(kafka, tmp_path, first_log, ["HOLD-01"])
    try:
        wait_for(lambda: "HOLD-01  7.40 kW" in first_log.read_text(), 20)
        wait_for(rewritten(tmp_path / "state" / "offsets.json"), 10)  # past the progress
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
    assert "supplies  1 (1 completed, 0 not)" in output


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
