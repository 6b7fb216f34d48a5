"""Behaviour under failure, with real processes (issue: control plane)."""

from __future__ import annotations

import signal
import time
from decimal import Decimal

import pytest

from tests.integration.conftest import start_supply
from tests.support import wait_for

pytestmark = pytest.mark.integration


def session(live, session_id):
    [row] = [s for s in live.get("/api/sessions") if s["id"] == session_id]
    return row


def test_supply_requested_at_the_cp_is_recorded_in_central(network):
    cp = network.cps[0]
    session_id = start_supply(network, cp)
    time.sleep(2.2)
    network.panel(cp, "press", "plug")  # unplug
    network.wait_state(cp.cp_id, "ACTIVATED")
    row = wait_for(lambda: (s := session(network, session_id))["status"] == "ended" and s)
    assert row["reason"] == "unplugged"
    assert Decimal(row["kwh"]) > 0
    assert Decimal(row["eur"]) == (Decimal(row["kwh"]) * cp.price).quantize(Decimal("0.01"))


def test_fault_during_a_supply_ends_it_at_once(network):
    cp = network.cps[0]
    session_id = start_supply(network, cp)
    status = network.panel(cp, "press", "fault")
    assert status["state"] == "broken"
    network.wait_state(cp.cp_id, "BROKEN", 1.5)
    row = wait_for(lambda: (s := session(network, session_id))["status"] == "ended" and s)
    assert row["reason"] == "fault"
    network.panel(cp, "press", "fault")
    network.wait_state(cp.cp_id, "ACTIVATED", 2)


def test_engine_killed_is_broken_and_its_supply_reaches_central_when_back(network):
    cp = network.cps[0]
    session_id = start_supply(network, cp)
    time.sleep(1.5)
    network.signal(f"{cp.cp_id}-engine", signal.SIGKILL)
    assert network.wait_state(cp.cp_id, "BROKEN", 1.5) <= 1.5
    network.start_engine(cp)
    network.wait_state(cp.cp_id, "ACTIVATED", 5)
    row = wait_for(lambda: (s := session(network, session_id))["status"] == "ended" and s, 5)
    assert row["reason"] == "engine restarted"
    assert Decimal(row["kwh"]) > 0


def test_engine_frozen_is_broken_within_2s(network):
    cp = network.cps[0]
    network.signal(f"{cp.cp_id}-engine", signal.SIGSTOP)
    try:
        assert network.wait_state(cp.cp_id, "BROKEN", 2.0) <= 2.0
    finally:
        network.signal(f"{cp.cp_id}-engine", signal.SIGCONT)
    network.wait_state(cp.cp_id, "ACTIVATED", 6)


def test_monitor_killed_disconnects_and_the_engine_ends_the_supply(network):
    cp = network.cps[0]
    session_id = start_supply(network, cp)
    network.signal(f"{cp.cp_id}-monitor", signal.SIGKILL)
    assert network.wait_state(cp.cp_id, "DISCONNECTED", 0.5) <= 0.5
    status = wait_for(lambda: (s := network.panel(cp, "status"))["supply"] is None and s, 5)
    assert not status["monitor"]
    network.panel(cp, "press", "request")  # refused: no monitor
    assert network.panel(cp, "status")["state"] == "available"
    network.start_monitor(cp)
    network.wait_state(cp.cp_id, "ACTIVATED", 5)
    row = wait_for(lambda: (s := session(network, session_id))["status"] == "ended" and s, 5)
    assert row["reason"] == "monitor lost"


def test_monitor_frozen_disconnects_within_3_5s(network):
    cp = network.cps[0]
    network.signal(f"{cp.cp_id}-monitor", signal.SIGSTOP)
    try:
        assert network.wait_state(cp.cp_id, "DISCONNECTED", 3.5) <= 3.5
    finally:
        network.signal(f"{cp.cp_id}-monitor", signal.SIGCONT)
    network.wait_state(cp.cp_id, "ACTIVATED", 6)


def test_central_killed_and_restarted(network2):
    live = network2
    busy, stopped = live.cps
    session_id = start_supply(live, busy)
    live.post(f"/api/cps/{stopped.cp_id}/stop")
    live.wait_state(stopped.cp_id, "STOPPED")
    live.signal("central", signal.SIGKILL)
    # the supply under way goes on; the monitor says Central is unreachable
    time.sleep(1.5)
    assert live.panel(busy, "status")["state"] == "supplying"
    log = f"{busy.cp_id}-monitor"
    wait_for(lambda: f"cannot reach Central at {live.central}, retrying" in live.log(log), 5)
    live.panel(busy, "press", "plug")  # the driver leaves: the supply ends
    status = live.panel(busy, "status")
    assert status["supply"] is None
    live.panel(busy, "press", "request")  # no new supply while Central is away
    assert live.panel(busy, "status")["state"] == "available"
    started = time.monotonic()
    live.start_central()
    live.wait_state(busy.cp_id, "ACTIVATED", 5)
    live.wait_state(stopped.cp_id, "STOPPED", 5)
    assert time.monotonic() - started <= 5
    assert live.panel(stopped, "status")["state"] == "stopped"
    row = wait_for(lambda: (s := session(live, session_id))["status"] == "ended" and s, 5)
    assert row["reason"] == "unplugged"


def test_stop_ends_the_supply_and_survives_until_resume(network):
    cp = network.cps[0]
    session_id = start_supply(network, cp)
    network.post(f"/api/cps/{cp.cp_id}/stop")
    network.wait_state(cp.cp_id, "STOPPED", 2)
    row = wait_for(lambda: (s := session(network, session_id))["status"] == "ended" and s, 5)
    assert "stop" in row["reason"]
    network.panel(cp, "press", "request")
    assert network.panel(cp, "status")["state"] == "stopped"
    network.post("/api/cps/resume")
    network.wait_state(cp.cp_id, "ACTIVATED", 2)
