"""Our Pi charge point (real ev-cp-e + ev-cp-m --ocpp, mock GPIO) against a central
system nobody here wrote: ocpp-rpc's RPCServer with strict schema validation
(tests/interop/cp_central.js).  Each scenario checks what the Node side received and, at
the end, the ledger: the engine's journal against the Start/StopTransactions."""

from __future__ import annotations

import time

import pytest

from tests.interop.cp_support import NodeCentral, PiCp, check_ledger, node
from tests.support import wait_for

pytestmark = pytest.mark.integration

CP = "PI-OCPP-1"


@pytest.fixture
def central(tmp_path, output_dir):
    node()
    server = NodeCentral(tmp_path, output_dir / "central.log", password="pi-secret",
                         interval=2).start()
    yield server
    server.stop()


@pytest.fixture
def pi(tmp_path, output_dir, central):
    password = tmp_path / "ocpp-password"
    password.write_text("pi-secret\n")
    station = PiCp(CP, tmp_path, output_dir, central.url, "--ocpp-password-file",
                   str(password)).start_engine().start_monitor()
    yield station
    station.close()


def test_boot_status_remote_start_meter_values_remote_stop(pi, central):
    assert central.wait_event("connected")["protocol"] == "ocpp1.6"
    boot = central.wait("BootNotification")
    assert boot["chargePointSerialNumber"] == CP
    central.wait("StatusNotification", status="Available", connectorId=1)
    central.wait("Heartbeat", timeout=5)  # at the interval the server set (2 s)
    assert central.call("ChangeConfiguration", {"key": "MeterValueSampleInterval",
                                                "value": "1"}) == {"status": "Accepted"}
    assert central.call("RemoteStartTransaction", {"idTag": "DRV-NODE", "connectorId": 1}) \
        == {"status": "Accepted"}
    central.wait("StatusNotification", status="Preparing")
    pi.press("plug")
    start = central.wait("StartTransaction", idTag="DRV-NODE")
    central.wait("StatusNotification", status="Charging")
    tid = central.transaction_id(start)
    sample = central.wait("MeterValues", transactionId=tid)
    units = {v["measurand"]: v["unit"] for v in sample["meterValue"][0]["sampledValue"]}
    assert units == {"Energy.Active.Import.Register": "Wh", "Power.Active.Import": "W"}
    assert central.call("RemoteStopTransaction", {"transactionId": tid}) == {
        "status": "Accepted"}
    stop = central.wait("StopTransaction", transactionId=tid)
    assert stop["reason"] == "Remote"
    central.wait("StatusNotification", status="Finishing")
    check_ledger(pi, central)


def test_change_availability_and_configuration(pi, central):
    central.wait("StatusNotification", status="Available")
    assert central.call("ChangeAvailability", {"connectorId": 0, "type": "Inoperative"}) == {
        "status": "Accepted"}
    central.wait("StatusNotification", status="Unavailable")
    assert central.call("RemoteStartTransaction", {"idTag": "DRV-NODE"}) == {
        "status": "Rejected"}
    since = time.monotonic()
    assert central.call("ChangeAvailability", {"connectorId": 0, "type": "Operative"}) == {
        "status": "Accepted"}
    central.wait("StatusNotification", status="Available", since=since)
    assert central.call("ChangeConfiguration", {"key": "HeartbeatInterval", "value": "1"}) == {
        "status": "Accepted"}
    assert central.call("ChangeConfiguration", {"key": "NumberOfConnectors", "value": "3"}) \
        == {"status": "Rejected"}
    assert central.call("ChangeConfiguration", {"key": "NoSuchKey", "value": "1"}) == {
        "status": "NotSupported"}
    config = central.call("GetConfiguration", {"key": ["HeartbeatInterval", "NoSuchKey"]})
    assert config == {"configurationKey": [{"key": "HeartbeatInterval", "readonly": False,
                                            "value": "1"}], "unknownKey": ["NoSuchKey"]}
    everything = central.call("GetConfiguration", {})
    assert {"MeterValueSampleInterval", "NumberOfConnectors"} <= {
        k["key"] for k in everything["configurationKey"]}
    since = time.monotonic()
    time.sleep(3.2)
    assert len(central.calls("Heartbeat", since)) >= 2  # every second now
    assert central.call("TriggerMessage", {"requestedMessage": "StatusNotification"}) == {
        "status": "Accepted"}
    assert central.call("UnlockConnector", {"connectorId": 1}) == {"status": "NotSupported"}
    assert central.call("ClearCache", {}) == {"status": "Accepted"}
    assert central.call("DataTransfer", {"vendorId": "example.org"}) == {
        "status": "UnknownVendorId"}
    assert central.invalid() == []


def test_a_server_restart_during_a_supply_the_queued_messages_arrive_after_it(pi, central):
    central.wait("StatusNotification", status="Available")
    central.call("ChangeConfiguration", {"key": "MeterValueSampleInterval", "value": "1"})
    central.call("RemoteStartTransaction", {"idTag": "DRV-NODE"})
    pi.press("plug")
    start = central.wait("StartTransaction")
    tid = central.transaction_id(start)
    central.wait("MeterValues", transactionId=tid)
    central.stop()
    down = time.monotonic()
    time.sleep(2.5)  # samples queue up on the Pi
    pi.press("plug")  # the supply ends while the server is away
    wait_for(lambda: "StopTransaction of supply" in (pi.out / "monitor.log").read_text(), 10)
    central.start()  # same port, same state file: the server restarted
    stop = central.wait("StopTransaction", since=down, timeout=30)
    assert stop["transactionId"] == tid and stop["reason"] == "EVDisconnected"
    late = central.calls("MeterValues", down)
    assert late and all(v["transactionId"] == tid for v in late)
    assert all(v["meterValue"][0]["timestamp"] < stop["timestamp"] for v in late)
    after = [m for m in central.methods(down) if m in ("MeterValues", "StopTransaction")]
    assert after[-1] == "StopTransaction" and after.count("StopTransaction") == 1
    # a second supply after the restart gets a new transaction id
    central.wait("StatusNotification", status="Available", since=down)
    central.call("RemoteStartTransaction", {"idTag": "DRV-NODE"})
    pi.press("plug")
    again = central.wait("StartTransaction", since=down)
    assert central.transaction_id(again) != tid
    assert again["meterStart"] == stop["meterStop"]  # the register goes on
    pi.press("plug")
    central.wait("StopTransaction", since=down, transactionId=central.transaction_id(again))
    check_ledger(pi, central)


def test_an_engine_restart_mid_supply_is_stopped_once_with_its_journaled_energy(
        pi, central):
    central.wait("StatusNotification", status="Available")
    central.call("RemoteStartTransaction", {"idTag": "DRV-NODE"})
    pi.press("plug")
    start = central.wait("StartTransaction")
    time.sleep(1.5)
    pi.engine.kill()  # power cut on the engine
    pi.engine.wait(5)
    central.wait("StatusNotification", status="Faulted")
    pi.start_engine()
    stop = central.wait("StopTransaction", transactionId=central.transaction_id(start))
    assert stop["reason"] == "PowerLoss"
    central.wait("StatusNotification", status="Available", since=time.monotonic() - 5)
    check_ledger(pi, central)
