"""The OCPP endpoint in-process (its own thread and loop, beside the CP server whose
sweep runs the fleet, as in ``ev-central``) against a charger written with ``ocpp``:
what needs short timeouts or the fleet's inside (the whole process:
test_central_ocpp.py)."""

from __future__ import annotations

import time

import pytest

from cloud.central.cp_server import CpServer
from cloud.central.fleet import Fleet
from cloud.central.ocpp.server import OcppServer
from cloud.central.store import Store
from tests.integration.ocpp_charger import Charger
from tests.support import wait_for

pytestmark = pytest.mark.integration


@pytest.fixture
def endpoint(tmp_path):
    store = Store(str(tmp_path / "central.db"))
    fleet = Fleet(store)
    secret = fleet.add_cp("OC1", "Madrid", "0.30")
    fleet.add_driver("D1")
    cp_server = CpServer(fleet, "127.0.0.1", 0).start()
    server = OcppServer(fleet, "127.0.0.1", 0, response_timeout=1.5).start()
    yield fleet, server, secret
    server.stop()
    cp_server.stop()
    store.close()


def connected(fleet, server, secret) -> Charger:
    charger = Charger(server.url, "OC1", secret)
    charger.boot()
    charger.status("Available")
    wait_for(lambda: fleet.cp("OC1")["state"] == "ACTIVATED", 5)
    return charger


def test_a_call_without_an_answer_fails_alone_and_the_next_call_goes_through(endpoint):
    fleet, server, secret = endpoint
    charger = connected(fleet, server, secret)
    charger.delays["RemoteStartTransaction"] = 2.5  # answered after our 1.5 s timeout
    authorization = fleet.charge("OC1", "D1", "driver")
    charger.expect("RemoteStartTransaction")
    wait_for(lambda: fleet.requests() == [], 5)  # the authorization ends with its call
    session = fleet.store.session(authorization.session_id)
    assert session["status"] == "expired"
    assert "RemoteStartTransaction: no answer within 1.5 s" in session["reason"]
    fleet.stop("OC1", "admin")  # the next call: sent, answered, the connection fine
    assert charger.expect("ChangeAvailability") == {"connector_id": 0, "type": "Inoperative"}
    charger.status("Unavailable", connector_id=0)
    wait_for(lambda: fleet.cp("OC1")["state"] == "STOPPED", 5)
    assert not any("refused by the CP" in m["text"] for m in fleet.messages()
                   if "stop" in m["text"])
    charger.close()


def test_revoking_an_ocpp_chargers_key_closes_its_connection_until_it_logs_in_again(endpoint):
    fleet, server, secret = endpoint
    charger = connected(fleet, server, secret)
    view = fleet.revoke_key("OC1", "admin")
    assert view["state"] == "STOPPED" and view["stop_reasons"] == ["key revoked"]
    assert charger.closed.wait(5)
    again = connected(fleet, server, secret)  # its password proves it again
    assert fleet.cp("OC1")["stop_reasons"] == []
    again.close()
    wait_for(lambda: fleet.cp("OC1")["state"] == "DISCONNECTED", 5)


def test_a_weather_alert_lets_the_transaction_finish_then_makes_the_charger_inoperative(
        endpoint):
    from ocpp.v16 import call

    from cloud.central.alerts import Reading

    fleet, server, secret = endpoint
    charger = connected(fleet, server, secret)
    tid = charger.call(call.StartTransaction(connector_id=1, id_tag="D1", meter_start=0,
                                             timestamp="2026-11-30T10:00:00Z")).transaction_id
    charger.status("Charging")
    wait_for(lambda: fleet.cp("OC1")["state"] == "SUPPLYING", 5)
    fleet.raise_alert("Madrid", Reading("-3", "0", "2026-11-30T10:05:00Z"), "weather office")
    time.sleep(0.3)
    assert charger.received.empty()  # the supply under way finishes first
    charger.call(call.StopTransaction(meter_stop=2000, timestamp="2026-11-30T10:20:00Z",
                                      transaction_id=tid, reason="EVDisconnected"))
    charger.status("Available")
    assert charger.expect("ChangeAvailability") == {"connector_id": 0, "type": "Inoperative"}
    charger.status("Unavailable", connector_id=0)
    wait_for(lambda: fleet.cp("OC1")["state"] == "STOPPED", 5)
    fleet.clear_alert("Madrid", "weather office")
    assert charger.expect("ChangeAvailability") == {"connector_id": 0, "type": "Operative"}
    assert fleet.store.session(fleet.sessions(cp_id="OC1")[0]["id"])["kwh"] == "2.000"
    charger.close()
