"""A state dir kept against one Kafka cluster, then used against another: two real
embedded brokers (Tansu), a fake Central on each, the real ``ev-driver`` process."""

from __future__ import annotations

import json

import pytest

from protocol import driver as d
from sim import brokers as b
from tests.integration.fake_central import DRIVER, FakeCentral, rewritten
from tests.support import free_port, spawn, stop, wait_for

pytestmark = pytest.mark.integration


@pytest.fixture
def two_kafkas(tmp_path):
    made = []
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
        made.append(b.kafka_broker(tmp_path / name, free_port()).start())
        b.create_topics(made[-1].address)
    yield made
    for broker in made:
        broker.stop()


def test_state_from_another_network_is_not_taken_as_this_ones(two_kafkas, tmp_path):
    first, second = two_kafkas
    listing, state = tmp_path / "cps.txt", tmp_path / "state"
    listing.write_text("HOLD-01\nMAD-01\n")

    def driver(kafka: str, log_name: str):
        return spawn(["ev-driver", "--kafka", kafka, "--driver-id", DRIVER, "--file",
                      str(listing), "--wait", "0", "--state-dir", str(state)],
                     tmp_path / log_name, EV_KAFKA_SESSION_MS="2000")

    central = FakeCentral(first.address, {"HOLD-01": "hold"})
    process = driver(first.address, "first.log")
    try:
        wait_for(lambda: "HOLD-01  7.40 kW" in (tmp_path / "first.log").read_text(), 20)
        wait_for(rewritten(state / "offsets.json"), 10)  # past the progress
    finally:
        process.kill()
        process.wait(5)
        central.close()
    kept = json.loads((state / "session.json").read_text())
    assert kept["session"]["following"]["cp_id"] == "HOLD-01" and kept["file"]["next"] == 1

    central = FakeCentral(second.address, {"HOLD-01": "ok", "MAD-01": "ok"})
    process = driver(second.address, "second.log")
    try:
        assert process.wait(30) == 0
    finally:
        stop(process)
        central.close()
    output = (tmp_path / "second.log").read_text()
    assert "Traceback" not in output
    assert output.count("holds the state of another network") == 1
    assert f"at {first.address}, now " in output and "starting clean" in output
    assert "HOLD-01 ended while the app was away" not in output  # not this network's supply
    asked = [r.cp_id for _, r in central.received(d.ChargeRequest)]
    assert asked == ["HOLD-01", "MAD-01"]  # the file from its top, not from where A left it
    assert "supplies  2 (2 completed, 0 not)" in output
    assert json.loads((state / "network.json").read_text())["bootstrap"] == second.address
