"""``ev-central --ocpp`` as a real process, and chargers written with ``ocpp`` (python)
as its clients over real WebSockets: an OCPP charger is a CP like any other (states,
REST, sessions, audit), its transactions are billed once by their own readings and
times, and Central's commands reach it as OCPP calls.  (An independent implementation,
``ocpp-rpc`` in Node.js, plays the charger in tests/interop/test_central_*.py.)"""

from __future__ import annotations

import json
import ssl
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request

import pytest
from ocpp.v16 import call

from protocol.messages import utc_now
from tests.integration.ocpp_charger import Charger
from tests.support import BIN, free_port, make_certificates, spawn, stop, wait_for, wait_port

pytestmark = pytest.mark.integration
TOKEN = "tok"
CPS = ("OC1", "OC2", "OC3", "OC4", "OC5", "OC6", "OC7", "OC8")


def ev_central(*args: str, db) -> str:
    done = subprocess.run([str(BIN / "ev-central"), *args, "--db", str(db)],
                          capture_output=True, text=True, timeout=30, check=True)
    return done.stdout.strip().splitlines()[-1]


def request(url: str, method: str = "GET", body=None, token: str | None = TOKEN):
    data = json.dumps(body).encode() if body is not None else None
    headers = {"Content-Type": "application/json"} if data else {}
    if token and method != "GET":
        headers["Authorization"] = f"Bearer {token}"
    req = urllib.request.Request(url, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=15) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null")


class Central:
    def __init__(self, process, url: str, ocpp: str, secrets: dict[str, str]) -> None:
        self.process, self.url, self.ocpp, self.secrets = process, url, ocpp, secrets

    def cp(self, cp_id: str) -> dict:
        return request(f"{self.url}/api/cps/{cp_id}")[1]

    def wait_state(self, cp_id: str, state: str, timeout: float = 5) -> None:
        wait_for(lambda: self.cp(cp_id)["state"] == state, timeout)

    def sessions(self, cp_id: str) -> list[dict]:
        return request(f"{self.url}/api/sessions?cp_id={cp_id}")[1]

    def audit(self, cp_id: str, action: str) -> list[dict]:
        return _audit(self.url, cp_id, action)

    def charger(self, cp_id: str, **kwargs) -> Charger:
        charger = Charger(self.ocpp, cp_id, self.secrets[cp_id], **kwargs)
        assert charger.refused is None
        charger.boot()
        charger.status("Available")
        self.wait_state(cp_id, "ACTIVATED")
        return charger


def _audit(url: str, cp_id: str, action: str) -> list[dict]:
    query = urllib.parse.urlencode({"cp_id": cp_id, "action": action})
    req = urllib.request.Request(f"{url}/api/audit?{query}",
                                 headers={"Authorization": f"Bearer {TOKEN}"})
    with urllib.request.urlopen(req, timeout=10) as response:
        return json.loads(response.read())


def start_central(tmp_path, output_dir, *more: str, kafka: str | None = None,
                  scheme: str = "ws") -> Central:
    db = tmp_path / "central.db"
    secrets = {cp: ev_central("cp", "add", cp, "--location", "Madrid", "--price", "0.30",
                              db=db) for cp in CPS}
    for driver_id in ("D1", "D2"):
        ev_central("driver", "add", driver_id, db=db)
    http, listen, ocpp = free_port(), free_port(), free_port()
    args = ["ev-central", "--listen", f"127.0.0.1:{listen}", "--http", f"127.0.0.1:{http}",
            "--ocpp", f"127.0.0.1:{ocpp}", "--db", str(db), "--admin-token", TOKEN, *more]
    if kafka:
        args += ["--kafka", kafka]
    process = spawn(args, output_dir / "central.log", EV_KAFKA_SESSION_MS="2000")
    wait_port(http)
    wait_port(ocpp)
    return Central(process, f"http://127.0.0.1:{http}", f"{scheme}://127.0.0.1:{ocpp}/ocpp/",
                   secrets)


@pytest.fixture(scope="module")
def central(tmp_path_factory):
    folder = tmp_path_factory.mktemp("ocpp-central")
    central = start_central(folder, folder)
    yield central
    stop(central.process)
    log = (folder / "central.log").read_text()
    assert "Traceback" not in log, log[-3000:]


def test_statuses_are_the_six_states_and_liveness_is_the_connection(central):
    charger = central.charger("OC1")
    charger.status("Faulted", error_code="GroundFailure")
    central.wait_state("OC1", "BROKEN")
    charger.status("Available")
    central.wait_state("OC1", "ACTIVATED")
    time.sleep(3.5)  # no Heartbeat.req for longer than a framed CP may go without one
    assert central.cp("OC1")["state"] == "ACTIVATED"
    assert charger.call(call.Heartbeat()).current_time.endswith("Z")
    assert charger.call(call.DataTransfer(vendor_id="acme")).status == "UnknownVendorId"
    audit = central.audit("OC1", "auth ok")
    assert audit and audit[0]["source"].startswith("127.0.0.1:")
    charger.close()
    central.wait_state("OC1", "DISCONNECTED")


def test_wrong_password_unknown_cp_and_no_subprotocol_are_refused_before_the_upgrade(central):
    assert Charger(central.ocpp, "OC2", "wrong").refused == 401
    assert Charger(central.ocpp, "NOBODY", "whatever").refused == 401
    assert Charger(central.ocpp, "OC2", central.secrets["OC1"]).refused == 401
    assert Charger(central.ocpp, "OC2", central.secrets["OC2"], subprotocols=()).refused == 400
    refusals = central.audit("OC2", "auth failed")
    assert {r["params"]["reason"] for r in refusals} == {"OCPP: wrong password"}
    assert all(r["source"].startswith("127.0.0.1:") for r in refusals)
    assert central.audit("NOBODY", "auth failed")[0]["params"]["reason"] == \
        "OCPP: CP NOBODY is not registered"
    assert central.cp("OC2")["state"] == "DISCONNECTED"


def test_a_transaction_is_billed_once_by_its_readings_and_a_repeat_start_gets_its_id(central):
    charger = central.charger("OC3")
    assert charger.call(call.Authorize(id_tag="D1")).id_tag_info["status"] == "Accepted"
    assert charger.call(call.Authorize(id_tag="STRANGER")).id_tag_info["status"] == "Invalid"
    start = call.StartTransaction(connector_id=1, id_tag="D1", meter_start=10000,
                                  timestamp="2026-11-30T10:00:00Z")
    first = charger.call(start)
    assert charger.call(start).transaction_id == first.transaction_id  # its answer lost
    charger.status("Charging")
    charger.call(call.MeterValues(connector_id=1, transaction_id=first.transaction_id,
                                  meter_value=[{"timestamp": "2026-11-30T10:10:00Z",
                                                "sampledValue": [
                                                    {"value": "12.5", "unit": "kWh"},
                                                    {"value": "11000",
                                                     "measurand": "Power.Active.Import",
                                                     "unit": "W"}]}]))
    wait_for(lambda: central.cp("OC3")["kwh"] == "2.500", 5)
    view = central.cp("OC3")
    assert (view["state"], view["kw"], view["eur"], view["driver_id"]) == (
        "SUPPLYING", "11.000", "0.75", "D1")
    stop_ = call.StopTransaction(meter_stop=16000, timestamp="2026-11-30T10:30:00Z",
                                 transaction_id=first.transaction_id, reason="EVDisconnected")
    charger.call(stop_)
    charger.call(stop_)  # repeated: billed once
    charger.status("Available")
    central.wait_state("OC3", "ACTIVATED")
    [session] = central.sessions("OC3")
    assert (session["kwh"], session["eur"], session["driver_id"], session["reason"]) == (
        "6.000", "1.80", "D1", "unplugged")
    assert (session["started_at"], session["ended_at"]) == (
        "2026-11-30T10:00:00.000Z", "2026-11-30T10:30:00.000Z")
    charger.close()


def test_an_unknown_stop_is_answered_and_recorded_and_an_offline_burst_billed_by_its_times(
        central):
    charger = central.charger("OC4")
    answer = charger.call(call.StopTransaction(meter_stop=5000, timestamp="2026-11-29T08:00:00Z",
                                               transaction_id=424242, id_tag="D2"))
    assert answer.id_tag_info["status"] == "Accepted"
    burst = [("2026-11-29T09:00:00Z", 1000, "2026-11-29T09:20:00Z", 3000),
             ("2026-11-29T10:00:00Z", 3000, "2026-11-29T10:40:00Z", 7500),
             ("2026-11-29T11:00:00Z", 7500, "2026-11-29T11:05:00Z", 7750)]
    for started, meter_start, ended, meter_stop in burst:  # queued offline, sent at once
        tid = charger.call(call.StartTransaction(connector_id=1, id_tag="D2",
                                                 meter_start=meter_start,
                                                 timestamp=started)).transaction_id
        charger.call(call.StopTransaction(meter_stop=meter_stop, timestamp=ended,
                                          transaction_id=tid, reason="Local"))
    sessions = sorted(central.sessions("OC4"), key=lambda s: s["started_at"])
    assert [(s["started_at"][:19], s["ended_at"][:19], s["kwh"], s["eur"], s["status"])
            for s in sessions] == [
        ("2026-11-29T08:00:00", "2026-11-29T08:00:00", "0.000", "0.00", "ended"),
        ("2026-11-29T09:00:00", "2026-11-29T09:20:00", "2.000", "0.60", "ended"),
        ("2026-11-29T10:00:00", "2026-11-29T10:40:00", "4.500", "1.35", "ended"),
        ("2026-11-29T11:00:00", "2026-11-29T11:05:00", "0.250", "0.08", "ended")]
    assert "unknown transaction 424242" in sessions[0]["reason"]
    charger.close()


def test_a_start_on_a_connector_whose_stop_never_came_ends_that_transaction_by_its_register(
        central):
    charger = central.charger("OC8")
    first = charger.call(call.StartTransaction(connector_id=1, id_tag="D1", meter_start=2000,
                                               timestamp="2026-11-30T08:00:00Z"))
    charger.status("Charging")
    central.wait_state("OC8", "SUPPLYING")
    # the charger lost power and its queue: the first one's StopTransaction never comes
    second = charger.call(call.StartTransaction(connector_id=1, id_tag="D2", meter_start=5000,
                                                timestamp="2026-11-30T09:00:00Z"))
    ended = wait_for(lambda: [s for s in central.sessions("OC8") if s["status"] == "ended"], 5)
    [old] = ended
    assert (old["started_at"], old["ended_at"], old["kwh"], old["eur"], old["driver_id"]) == (
        "2026-11-30T08:00:00.000Z", "2026-11-30T09:00:00.000Z", "3.000", "0.90", "D1")
    assert old["reason"] == (f"ended by transaction {second.transaction_id} on connector 1 "
                             "(its StopTransaction never came)")
    view = central.cp("OC8")
    assert (view["state"], view["driver_id"]) == ("SUPPLYING", "D2")
    charger.call(call.StopTransaction(meter_stop=4000, timestamp="2026-11-30T08:40:00Z",
                                      transaction_id=first.transaction_id))  # too late
    charger.call(call.StopTransaction(meter_stop=6000, timestamp="2026-11-30T09:30:00Z",
                                      transaction_id=second.transaction_id))
    charger.status("Available")
    central.wait_state("OC8", "ACTIVATED")
    sessions = sorted(central.sessions("OC8"), key=lambda s: s["started_at"])
    assert [(s["kwh"], s["eur"], s["status"]) for s in sessions] == [
        ("3.000", "0.90", "ended"), ("1.000", "0.30", "ended")]  # each billed once
    charger.close()


def test_admin_stop_and_resume_are_change_availability_and_operations_are_audited(central):
    charger = central.charger("OC5")
    tid = charger.call(call.StartTransaction(connector_id=1, id_tag="D1", meter_start=0,
                                             timestamp="2026-11-30T12:00:00Z")).transaction_id
    charger.status("Charging")
    central.wait_state("OC5", "SUPPLYING")
    assert request(f"{central.url}/api/cps/OC5/stop", "POST")[0] == 200
    assert charger.expect("RemoteStopTransaction") == {"transaction_id": tid}
    assert charger.expect("ChangeAvailability") == {"connector_id": 0, "type": "Inoperative"}
    charger.call(call.StopTransaction(meter_stop=1000, timestamp="2026-11-30T12:10:00Z",
                                      transaction_id=tid, reason="Remote"))
    for connector_id in (0, 1):
        charger.status("Unavailable", connector_id=connector_id)
    central.wait_state("OC5", "STOPPED")
    assert central.sessions("OC5")[0]["reason"].startswith("stopped by admin")
    assert request(f"{central.url}/api/cps/OC5/resume", "POST")[0] == 200
    assert charger.expect("ChangeAvailability") == {"connector_id": 0, "type": "Operative"}
    for connector_id in (0, 1):
        charger.status("Available", connector_id=connector_id)
    central.wait_state("OC5", "ACTIVATED")

    status, answer = request(f"{central.url}/api/cps/OC5/ocpp/reset", "POST", {"type": "Hard"})
    assert (status, answer) == (200, {"status": "Accepted"})
    assert charger.expect("Reset") == {"type": "Hard"}
    status, answer = request(f"{central.url}/api/cps/OC5/ocpp/get_configuration", "POST",
                             {"keys": ["HeartbeatInterval"]})
    assert status == 200 and answer["configurationKey"][0]["key"] == "HeartbeatInterval"
    for action, body, sent in [
            ("unlock_connector", {}, "UnlockConnector"),
            ("change_configuration", {"key": "MeterValueSampleInterval", "value": "10"},
             "ChangeConfiguration"),
            ("trigger_message", {"requestedMessage": "StatusNotification"}, "TriggerMessage")]:
        assert request(f"{central.url}/api/cps/OC5/ocpp/{action}", "POST", body)[0] == 200
        charger.expect(sent)
    commands = central.audit("OC5", "cp command")
    assert sorted(r["params"]["command"] for r in commands) == [
        "change_configuration", "get_configuration", "reset", "trigger_message",
        "unlock_connector"]
    assert all(r["actor"] == "admin" and r["outcome"] == "ok" for r in commands)
    charger.close()
    wait_for(lambda: request(f"{central.url}/api/cps/OC5/ocpp/reset", "POST", {})[0] == 409, 5)


def test_a_second_connection_with_the_same_id_replaces_the_first(central):
    first = central.charger("OC6")
    second = central.charger("OC6")
    assert first.closed.wait(5)  # the first is closed by Central
    time.sleep(0.3)
    assert central.cp("OC6")["state"] == "ACTIVATED"  # its end does not disconnect the new
    second.status("Faulted", error_code="OverVoltage")
    central.wait_state("OC6", "BROKEN")
    second.close()
    central.wait_state("OC6", "DISCONNECTED")


def test_security_profile_2_basic_auth_over_tls(tmp_path, output_dir):
    certs = make_certificates(tmp_path / "tls")
    central = start_central(tmp_path, output_dir, "--ocpp-tls-cert", str(certs["cert"]),
                            "--ocpp-tls-key", str(certs["key"]), scheme="wss")
    try:
        trusted = ssl.create_default_context(cafile=str(certs["ca"]))
        charger = central.charger("OC7", ssl=trusted)
        charger.close()
        assert Charger(central.ocpp, "OC7", "wrong", ssl=trusted).refused == 401
    finally:
        stop(central.process)


def test_a_driver_request_is_a_remote_start_and_the_driver_gets_progress_and_a_ticket(
        brokers, tmp_path, output_dir):
    """Kafka driver desk -> fleet.charge -> RemoteStartTransaction; the charger's
    transaction continues that session; the driver's stop is a RemoteStopTransaction."""
    from protocol import driver as d
    from protocol.topics import DRIVER_REQUESTS, DRIVER_UPDATES
    from tests.integration.test_central_kafka import Reader, producer, send

    kafka, _ = brokers
    central = start_central(tmp_path, output_dir, kafka=kafka.address)
    reader = Reader(kafka.address, DRIVER_UPDATES)
    try:
        wait_for(lambda: request(f"{central.url}/healthz")[1].get("kafka"), 20)
        charger = central.charger("OC1")
        out = producer(kafka.address)
        charge = d.ChargeRequest(driver_id="D1", cp_id="OC1")
        send(out, DRIVER_REQUESTS, "D1", charge)
        accepted = reader.expect(d.Accepted, ref=charge.id, timeout=20)
        assert charger.expect("RemoteStartTransaction", 10) == {"id_tag": "D1",
                                                                "connector_id": 1}
        reader.expect(d.Authorized, session_id=accepted.session_id)
        assert central.cp("OC1")["state"] == "AUTHORIZED"
        charger.status("Preparing")
        tid = charger.call(call.StartTransaction(
            connector_id=1, id_tag="D1", meter_start=2000,
            timestamp=utc_now())).transaction_id
        charger.status("Charging")
        reader.expect(d.Plugged, session_id=accepted.session_id)
        charger.call(call.MeterValues(connector_id=1, transaction_id=tid, meter_value=[
            {"timestamp": utc_now(), "sampledValue": [
                {"value": "3000", "unit": "Wh", "context": "Sample.Periodic"},
                {"value": "7.4", "measurand": "Power.Active.Import", "unit": "kW"}]}]))
        progress = reader.expect(d.Progress, session_id=accepted.session_id)
        assert (progress.kw, progress.kwh, progress.eur) == ("7.400", "1.000", "0.30")
        send(out, DRIVER_REQUESTS, "D1", d.StopRequest(driver_id="D1", cp_id="OC1"))
        assert charger.expect("RemoteStopTransaction", 10) == {"transaction_id": tid}
        charger.call(call.StopTransaction(meter_stop=4500, timestamp=utc_now(),
                                          transaction_id=tid, reason="Remote"))
        charger.status("Finishing")
        ticket = reader.expect(d.Ticket, session_id=accepted.session_id)
        assert (ticket.kwh, ticket.eur, ticket.cp_id) == ("2.500", "0.75", "OC1")
        [session] = central.sessions("OC1")
        assert (session["id"], session["status"], session["kwh"]) == (
            accepted.session_id, "ended", "2.500")
        charger.close()
    finally:
        reader.close()
        stop(central.process)
    assert "Traceback" not in (output_dir / "central.log").read_text()


def test_bad_ocpp_flags_are_one_line_and_exit_2(tmp_path):
    import socket

    def central(*more: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [str(BIN / "ev-central"), "--db", str(tmp_path / "c.db"), "--listen",
             f"127.0.0.1:{free_port()}", "--http", f"127.0.0.1:{free_port()}", *more],
            capture_output=True, text=True, timeout=30, stdin=subprocess.DEVNULL)

    with socket.create_server(("127.0.0.1", free_port())) as taken:
        port = taken.getsockname()[1]
        for more, says in [
                (["--ocpp", "nowhere"], "--ocpp"),
                (["--ocpp", f"127.0.0.1:{free_port()}", "--ocpp-tls-cert", "c.crt"],
                 "--ocpp-tls-cert and --ocpp-tls-key go together"),
                (["--ocpp", f"127.0.0.1:{free_port()}", "--ocpp-tls-cert", "/nonexistent",
                  "--ocpp-tls-key", "/nonexistent"], "cannot load the OCPP TLS certificate"),
                (["--ocpp", f"127.0.0.1:{port}"],
                 f"cannot listen on 127.0.0.1:{port} (--ocpp): Address already in use")]:
            done = central(*more)
            assert done.returncode == 2, done.stderr
            assert done.stderr.count("\n") == 1 and says in done.stderr, done.stderr
