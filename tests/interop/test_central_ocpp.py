"""Our Central against an OCPP 1.6J charger nobody here wrote: ``ocpp-rpc``'s
``RPCClient`` in strict mode (it validates every message both ways against the OCPP 1.6
schemas), run by Node.js scripts (central_*.js), against ``ev-central --ocpp`` as a real
process.  Each scenario checks what the charger received and Central's ledger (its
sessions) at the end."""

from __future__ import annotations

import pytest

from protocol.messages import utc_now
from tests.integration.test_central_ocpp import request, start_central
from tests.interop.conftest import NodeScript, run_node
from tests.support import stop, wait_for

pytestmark = pytest.mark.integration

BOOT = {"call": "BootNotification",
        "params": {"chargePointVendor": "interop", "chargePointModel": "ocpp-rpc"},
        "save": "boot"}


def status(value: str, connector: int = 1, error: str = "NoError") -> dict:
    return {"call": "StatusNotification",
            "params": {"connectorId": connector, "errorCode": error, "status": value}}


def start(id_tag: str, meter_start: int, timestamp: str, save: str) -> dict:
    return {"call": "StartTransaction", "save": save, "params": {
        "connectorId": 1, "idTag": id_tag, "meterStart": meter_start, "timestamp": timestamp}}


def stop_tx(transaction_id, meter_stop: int, timestamp: str, reason: str = "Local",
            **more) -> dict:
    return {"call": "StopTransaction", "save": f"stop{meter_stop}", "params": {
        "transactionId": transaction_id, "meterStop": meter_stop, "timestamp": timestamp,
        "reason": reason, **more}}


def meter(transaction: str, timestamp: str, wh: str, kw: str) -> dict:
    return {"call": "MeterValues", "params": {
        "connectorId": 1, "transactionId": f"${transaction}.transactionId", "meterValue": [{
            "timestamp": timestamp, "sampledValue": [
                {"value": wh, "measurand": "Energy.Active.Import.Register", "unit": "Wh"},
                {"value": kw, "measurand": "Power.Active.Import", "unit": "kW"}]}]}}


@pytest.fixture(scope="module")
def central(tmp_path_factory, node):
    folder = tmp_path_factory.mktemp("interop-central")
    central = start_central(folder, folder)
    yield central
    stop(central.process)
    assert "Traceback" not in (folder / "central.log").read_text()


def charger(central, cp_id: str, steps: list, password: str | None = None, **more) -> dict:
    return {"endpoint": central.ocpp.rstrip("/"), "identity": cp_id,
            "password": central.secrets[cp_id] if password is None else password,
            "steps": steps, **more}


def test_central_boot_authorize_meter_values_stop_and_a_repeated_start(central, node):
    steps = [BOOT, status("Available"),
             {"call": "Authorize", "params": {"idTag": "D1"}, "save": "known"},
             {"call": "Authorize", "params": {"idTag": "NOT-A-DRIVER"}, "save": "stranger"},
             start("D1", 1000, "2026-11-30T09:00:00.000Z", "start"),
             start("D1", 1000, "2026-11-30T09:00:00.000Z", "again"),
             status("Charging"), meter("start", "2026-11-30T09:15:00.000Z", "4000", "12"),
             {"say": "charging"}, {"wait": "go"},
             stop_tx("$start.transactionId", 7000, "2026-11-30T09:30:00.000Z",
                     "EVDisconnected", idTag="D1"),
             status("Finishing"), status("Available"),
             {"call": "Heartbeat", "params": {}, "save": "beat"},
             {"call": "DataTransfer", "params": {"vendorId": "acme"}, "save": "data"},
             {"say": "available"}, {"wait": "end"}]
    script = NodeScript(node, "central_charger.js", charger(central, "OC1", steps))
    assert script.event() == "charging"
    wait_for(lambda: central.cp("OC1")["kwh"] == "3.000", 5)
    live = central.cp("OC1")
    assert (live["state"], live["kw"], live["eur"], live["driver_id"]) == (
        "SUPPLYING", "12.000", "0.90", "D1")
    script.tell("go")
    assert script.event() == "available"
    central.wait_state("OC1", "ACTIVATED")
    script.tell("end")
    result = script.result()["result"]
    assert result["error"] is None, result
    saved = result["saved"]
    assert saved["boot"]["status"] == "Accepted" and saved["boot"]["interval"] > 0
    assert saved["boot"]["currentTime"].endswith("Z")
    assert saved["known"]["idTagInfo"]["status"] == "Accepted"
    assert saved["stranger"]["idTagInfo"]["status"] == "Invalid"
    assert saved["again"]["transactionId"] == saved["start"]["transactionId"]
    assert saved["stop7000"]["idTagInfo"]["status"] == "Accepted"
    assert saved["beat"]["currentTime"].endswith("Z")
    assert saved["data"]["status"] == "UnknownVendorId"
    central.wait_state("OC1", "DISCONNECTED")
    [session] = central.sessions("OC1")
    assert (session["started_at"], session["ended_at"], session["kwh"], session["eur"],
            session["driver_id"], session["reason"]) == (
        "2026-11-30T09:00:00.000Z", "2026-11-30T09:30:00.000Z", "6.000", "1.80", "D1",
        "unplugged")


def test_central_unknown_stop_and_an_offline_burst_billed_by_their_own_times(central, node):
    steps = [BOOT,  # back online: what was queued goes out at once, oldest first
             stop_tx(987654, 3000, "2026-11-28T07:00:00.000Z"),
             start("D2", 100, "2026-11-28T08:00:00.000Z", "t1"),
             stop_tx("$t1.transactionId", 2100, "2026-11-28T08:45:00.000Z"),
             start("D2", 2100, "2026-11-28T09:00:00.000Z", "t2"),
             stop_tx("$t2.transactionId", 2600, "2026-11-28T09:10:00.000Z"),
             status("Available")]
    result = run_node(node, "central_charger.js", charger(central, "OC2", steps))["result"]
    assert result["error"] is None, result
    assert result["saved"]["t1"]["transactionId"] != result["saved"]["t2"]["transactionId"]
    assert result["saved"]["stop3000"] == {}  # answered, without an idTag to judge
    ledger = sorted(central.sessions("OC2"), key=lambda s: s["started_at"])
    assert [(s["started_at"], s["ended_at"], s["kwh"], s["eur"], s["status"])
            for s in ledger] == [
        ("2026-11-28T07:00:00.000Z", "2026-11-28T07:00:00.000Z", "0.000", "0.00", "ended"),
        ("2026-11-28T08:00:00.000Z", "2026-11-28T08:45:00.000Z", "2.000", "0.60", "ended"),
        ("2026-11-28T09:00:00.000Z", "2026-11-28T09:10:00.000Z", "0.500", "0.15", "ended")]
    assert "unknown transaction 987654" in ledger[0]["reason"]


def test_central_admin_stop_resume_and_reset_reach_the_charger(central, node):
    url = central.url
    steps = [BOOT, status("Available"), start("D1", 0, "2026-11-30T11:00:00.000Z", "tx"),
             status("Charging"), {"say": "charging"},
             {"expect": "RemoteStopTransaction", "save": "remote_stop"},
             {"expect": "ChangeAvailability", "save": "inoperative"},
             stop_tx("$tx.transactionId", 1500, "2026-11-30T11:20:00.000Z", "Remote"),
             status("Unavailable", 0), status("Unavailable", 1), {"say": "stopped"},
             {"expect": "ChangeAvailability", "save": "operative"},
             status("Available", 0), status("Available", 1), {"say": "resumed"},
             {"expect": "Reset", "save": "reset"},
             {"expect": "GetConfiguration", "save": "get"}]
    script = NodeScript(node, "central_charger.js", charger(central, "OC3", steps))
    assert script.event() == "charging"
    assert request(f"{url}/api/cps/OC3/stop", "POST")[0] == 200
    assert script.event() == "stopped"
    central.wait_state("OC3", "STOPPED")
    assert request(f"{url}/api/cps/OC3/resume", "POST")[0] == 200
    assert script.event() == "resumed"
    central.wait_state("OC3", "ACTIVATED")
    assert request(f"{url}/api/cps/OC3/ocpp/reset", "POST", {"type": "Soft"}) == (
        200, {"status": "Accepted"})
    status_, answer = request(f"{url}/api/cps/OC3/ocpp/get_configuration", "POST", {})
    assert status_ == 200 and answer["configurationKey"][0]["key"] == "HeartbeatInterval"
    result = script.result()["result"]
    assert result["error"] is None, result
    saved = result["saved"]
    assert saved["remote_stop"] == {"transactionId": saved["tx"]["transactionId"]}
    assert saved["inoperative"] == {"connectorId": 0, "type": "Inoperative"}
    assert saved["operative"] == {"connectorId": 0, "type": "Operative"}
    assert saved["reset"] == {"type": "Soft"} and saved["get"] == {}
    [session] = central.sessions("OC3")
    assert (session["kwh"], session["eur"], session["status"]) == ("1.500", "0.45", "ended")
    assert session["reason"].startswith("stopped by admin")


def test_central_refuses_a_wrong_password_before_the_upgrade(central, node):
    result = run_node(node, "central_charger.js",
                      charger(central, "OC4", [BOOT], password="not-its-secret"))["result"]
    assert result["connected"] is False and result["error"] == "Error: Unauthorized"  # 401
    assert result["received"] == []
    refusals = central.audit("OC4", "auth failed")
    assert refusals and refusals[0]["params"]["reason"] == "OCPP: wrong password"
    assert central.cp("OC4")["state"] == "DISCONNECTED" and central.sessions("OC4") == []


def test_central_a_second_connection_with_the_same_id_replaces_the_first(central, node):
    result = run_node(node, "central_twice.js", {
        "endpoint": central.ocpp.rstrip("/"), "identity": "OC5",
        "password": central.secrets["OC5"]})["result"]
    assert result == {"firstClosed": 1000, "secondOpen": True, "secondBooted": "Accepted"}
    central.wait_state("OC5", "DISCONNECTED")  # the second closed at its end
    assert central.sessions("OC5") == []


def test_central_remote_start_and_remote_stop_from_a_drivers_requests(brokers, tmp_path,
                                                                      output_dir, node):
    from protocol import driver as d
    from protocol.topics import DRIVER_REQUESTS, DRIVER_UPDATES
    from tests.integration.test_central_kafka import Reader, producer, send

    kafka, _ = brokers
    central = start_central(tmp_path, output_dir, kafka=kafka.address)
    reader = Reader(kafka.address, DRIVER_UPDATES)
    steps = [BOOT, status("Available"), {"say": "ready"},
             {"expect": "RemoteStartTransaction", "save": "remote_start", "timeout": 20000},
             status("Preparing"), start("$remote_start.idTag", 5000, "$now", "tx"),
             status("Charging"), meter("tx", "$now", "6000", "7.4"), {"say": "charging"},
             {"expect": "RemoteStopTransaction", "save": "remote_stop", "timeout": 20000},
             stop_tx("$tx.transactionId", 8000, "$now", "Remote"), status("Finishing")]
    try:
        wait_for(lambda: request(f"{central.url}/healthz")[1].get("kafka"), 20)
        script = NodeScript(node, "central_charger.js", charger(
            central, "OC1", steps, vars={"now": utc_now()}))
        assert script.event() == "ready"
        central.wait_state("OC1", "ACTIVATED")
        out = producer(kafka.address)
        charge = d.ChargeRequest(driver_id="D1", cp_id="OC1")
        send(out, DRIVER_REQUESTS, "D1", charge)
        accepted = reader.expect(d.Accepted, ref=charge.id, timeout=20)
        assert script.event(30) == "charging"
        progress = reader.expect(d.Progress, session_id=accepted.session_id)
        assert (progress.kw, progress.kwh, progress.eur) == ("7.400", "1.000", "0.30")
        send(out, DRIVER_REQUESTS, "D1", d.StopRequest(driver_id="D1", cp_id="OC1"))
        result = script.result()["result"]
        assert result["error"] is None, result
        ticket = reader.expect(d.Ticket, session_id=accepted.session_id)
        assert (ticket.kwh, ticket.eur) == ("3.000", "0.90")
        assert result["saved"]["remote_start"] == {"idTag": "D1", "connectorId": 1}
        assert result["saved"]["remote_stop"] == {
            "transactionId": result["saved"]["tx"]["transactionId"]}
        [session] = central.sessions("OC1")
        assert (session["id"], session["driver_id"], session["kwh"], session["status"]) == (
            accepted.session_id, "D1", "3.000", "ended")
    finally:
        reader.close()
        stop(central.process)
    assert "Traceback" not in (output_dir / "central.log").read_text()
