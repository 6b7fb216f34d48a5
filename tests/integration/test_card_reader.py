"""A real ``ev-cp-e`` reading an RDM6300 card reader played by a pty pair."""

from __future__ import annotations

import os
import tty

import pytest

from edge.engine.cardreader import encode
from protocol import messages as msg
from tests.integration.test_engine import CP, FakeMonitor
from tests.support import free_port, spawn, stop, wait_for, wait_port

pytestmark = pytest.mark.integration
CARD = "0A1B2C3D4E"
OTHER = "FFEEDDCCBB"


@pytest.fixture
def reader():
    """(main fd, sub device path): the test writes frames on the main side."""
    main_fd, sub_fd = os.openpty()
    tty.setraw(sub_fd)
    yield main_fd, os.ttyname(sub_fd)
    os.close(main_fd)
    os.close(sub_fd)


def test_a_card_asks_central_for_a_supply_for_its_driver(tmp_path, output_dir, reader):
    main_fd, device = reader
    listen = free_port()
    log_path = output_dir / "engine-card.log"
    log_path.unlink(missing_ok=True)  # the output folder outlives a run
    engine = spawn(["ev-cp-e", "--cp-id", CP, "--listen", f"127.0.0.1:{listen}",
                    "--card-reader", device, "--state-dir", str(tmp_path)], log_path)
    monitor = None
    try:
        wait_port(listen)
        wait_for(lambda: f"card reader on {device}" in log_path.read_text())
        monitor = FakeMonitor(listen).greet()
        # a report to a health check (seq > 0) comes after Hello and CentralStatus
        monitor.expect(msg.HealthReport, lambda r: r.seq > 0 and r.state == "available")

        os.write(main_fd, b"\xffnoise" + encode(OTHER, check=0x00))  # bad checksum
        wait_for(lambda: "bad frame" in log_path.read_text())

        for _ in range(3):  # a held card repeats its frame: one request
            os.write(main_fd, encode(CARD))
        os.write(main_fd, encode(OTHER))  # then another card: the next request is for it
        request = monitor.expect(msg.SupplyRequest)  # the first: none for the bad frame
        assert (request.source, request.driver_id) == ("card", f"CARD-{CARD}")
        following = monitor.expect(msg.SupplyRequest)  # none for the repeats in between
        assert (following.source, following.driver_id) == ("card", f"CARD-{OTHER}")
        assert log_path.read_text().count("bad frame") == 1
        assert engine.poll() is None
        monitor.conn.send(msg.SupplyDenied(cp_id=CP, ref=request.id, reason="unknown driver"))
        wait_for(lambda: "denied the supply request" in log_path.read_text())
    finally:
        stop(engine)
        if monitor is not None:
            monitor.close()


def test_a_missing_card_reader_is_retried_while_the_cp_works(tmp_path, output_dir, reader):
    """No reader yet (unplugged, UART off): one warning, the engine serves its monitor,
    and the reader is read once it appears. Under systemd: no crash loop."""
    main_fd, device = reader
    path, listen = tmp_path / "serial0", free_port()
    log_path = output_dir / "engine-card-missing.log"
    log_path.unlink(missing_ok=True)
    engine = spawn(["ev-cp-e", "--cp-id", CP, "--listen", f"127.0.0.1:{listen}",
                    "--card-reader", str(path), "--state-dir", str(tmp_path)], log_path)
    monitor = None
    try:
        wait_port(listen)
        wait_for(lambda: "retrying every 2 s" in log_path.read_text())
        monitor = FakeMonitor(listen).greet()
        monitor.expect(msg.HealthReport, lambda r: r.seq > 0 and r.state == "available")
        path.symlink_to(device)  # the reader is plugged in
        wait_for(lambda: f"card reader on {path}" in log_path.read_text(), 5)
        os.write(main_fd, encode(CARD))
        request = monitor.expect(msg.SupplyRequest)
        assert (request.source, request.driver_id) == ("card", f"CARD-{CARD}")
        assert engine.poll() is None
    finally:
        stop(engine)
        if monitor is not None:
            monitor.close()
    text = log_path.read_text()
    assert text.count("retrying every 2 s") == 1 and "Traceback" not in text

