"""Ways a person ends or cuts off ``ev-driver``: never a traceback, always a clean stop."""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path

import pytest

from sim import brokers as b
from tests.integration.fake_central import DRIVER, FakeCentral
from tests.support import BIN, bound, free_port, stop, wait_for

pytestmark = pytest.mark.integration

ENV = {**os.environ, "EV_KAFKA_SESSION_MS": "2000", "PYTHONUNBUFFERED": "1"}
RETRY = "Kafka did not answer"  # a debug line for each attempt that failed


def ev_driver(tmp_path: Path, kafka: str, *args: str, env: dict[str, str] | None = None,
              **popen) -> subprocess.Popen:
    return subprocess.Popen(
        [str(BIN / "ev-driver"), "--kafka", kafka, "--driver-id", DRIVER,
         "--state-dir", str(tmp_path / "state"), *args], env={**ENV, **(env or {})}, **popen)


def nowhere() -> str:
    return f"127.0.0.1:{free_port()}"  # nothing listens there


def clean(text: str) -> None:
    assert "Traceback" not in text and "Exception ignored" not in text
    assert "KeyboardInterrupt" not in text


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["INT", "TERM"])
def test_file_mode_without_kafka_says_so_once_and_stops_on_a_signal(tmp_path, sig):
    listing, log = tmp_path / "cps.txt", tmp_path / "driver.log"
    listing.write_text("MAD-01\n")
    address = nowhere()
    with open(log, "wb") as out:
        process = ev_driver(tmp_path, address, "--file", str(listing), stdout=out,
                            stderr=subprocess.STDOUT, env={"EV_LOG_LEVEL": "DEBUG"})
        try:
            wait_for(lambda: "cannot reach Kafka" in log.read_text(), 10)
            wait_for(lambda: log.read_text().count(RETRY) >= 2, 15)  # a retry since
            process.send_signal(sig)
            assert process.wait(5) == 0
        finally:
            stop(process)
    output = log.read_text()
    clean(output)
    said = output.index(f"cannot reach Kafka at {address}, retrying")
    assert RETRY in output[said:]  # retries went on after it was said, silently
    assert output.count(f"cannot reach Kafka at {address}, retrying") == 1
    assert f"stopping on {sig.name}" in output


@pytest.mark.latency
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["INT", "TERM"])
def test_a_signal_stops_it_at_once_while_kafka_is_unreachable(tmp_path, sig):
    listing = tmp_path / "cps.txt"
    listing.write_text("MAD-01\n")
    process = ev_driver(tmp_path, nowhere(), "--file", str(listing), stdout=subprocess.PIPE,
                        stderr=subprocess.STDOUT, text=True)
    try:
        assert "cannot reach Kafka" in process.stdout.readline()
        process.send_signal(sig)
        assert process.wait(bound(1.5)) == 0
    finally:
        stop(process)


def test_ctrl_c_during_start_up(tmp_path):
    """SIGINT while the Kafka client is still being loaded."""
    process = ev_driver(tmp_path, nowhere(), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                        stderr=subprocess.STDOUT)
    try:
        maps = Path(f"/proc/{process.pid}/maps")
        wait_for(lambda: "confluent_kafka" in maps.read_text(), 10, interval=0.001)
        process.send_signal(signal.SIGINT)
        output, _ = process.communicate(timeout=5)
    finally:
        stop(process)
    assert process.returncode == 0
    clean(output.decode())


@pytest.fixture
def kafka(tmp_path):
    broker = b.kafka_broker(tmp_path, free_port()).start()
    b.create_topics(broker.address)
    central = FakeCentral(broker.address, {"MAD-01": "ok"})
    yield broker
    central.close()
    broker.stop()


@pytest.mark.parametrize("stdin", ["closed", "empty"])
def test_without_input_the_menu_shows_the_status_and_ends(tmp_path, kafka, stdin):
    done = subprocess.run(
        [str(BIN / "ev-driver"), "--kafka", kafka.address, "--driver-id", DRIVER,
         "--state-dir", str(tmp_path / "state")],
        stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=10, env=ENV,
        preexec_fn=(lambda: os.close(0)) if stdin == "closed" else None)
    assert done.returncode == 0
    clean(done.stdout + done.stderr)
    assert "1) list available CPs" in done.stdout and "no supply under way" in done.stdout


def test_output_cut_off_by_head(tmp_path, kafka):
    """``ev-driver --file cps.txt | head -1``: the reader goes; the app stops quietly."""
    listing, log = tmp_path / "cps.txt", tmp_path / "stderr.log"
    listing.write_text("MAD-01\n" * 3)
    with open(log, "wb") as err:
        process = ev_driver(tmp_path, kafka.address, "--file", str(listing), "--wait", "0",
                            stdout=subprocess.PIPE, stderr=err)
        try:
            assert process.stdout.readline()
            process.stdout.close()
            assert process.wait(15) == 0
        finally:
            stop(process)
    errors = log.read_text()
    clean(errors)
    assert "stopping (its output was closed)" in errors
