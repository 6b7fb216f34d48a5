"""The real ``ev-cp-e`` and ``ev-cp-m --ocpp`` processes (mock GPIO) against a small OCPP
1.6J central system written with mobilityhouse ``ocpp`` (tests/integration/ocpp_csms.py)."""

from __future__ import annotations

import ssl
import subprocess
import time
from decimal import Decimal

import pytest
from ocpp.v16 import call

from edge.monitor.ocpp_ledger import wh
from tests.integration.ocpp_csms import Csms
from tests.pi_ocpp import PiCp
from tests.support import BIN, free_port, make_certificates, stop, wait_for

pytestmark = pytest.mark.integration

CP = "OCPP-CP1"


@pytest.fixture
def csms():
    central = Csms(free_port(), interval=2).start()
    yield central
    central.stop()


@pytest.fixture
def pi(tmp_path, output_dir, csms):
    station = PiCp(CP, tmp_path, output_dir, csms.url).start_engine().start_monitor()
    yield station
    station.close()


def check_ledger(pi: PiCp, csms: Csms) -> None:
    """Every supply in the engine's journal was started (a StartTransaction sent again
    after a lost answer is the same one) and stopped exactly once at the central system,
    with its times and its energy (meterStop - meterStart, in Wh)."""
    supplies = pi.journal()
    starts, stops = csms.of("StartTransaction"), csms.of("StopTransaction")
    assert len({(s["idTag"], s["timestamp"]) for s in starts}) == len(stops) == len(supplies)
    for supply in supplies:
        start = next(s for s in starts if s["timestamp"] == supply["started_at"])
        tid = csms.transactions[(start["idTag"], start["timestamp"])]
        [end] = [s for s in stops if s["transactionId"] == tid]
        assert end["timestamp"] == supply["ended_at"]
        assert end["meterStop"] - start["meterStart"] == wh(Decimal(supply["kwh"]))


def test_boot_remote_start_meter_values_remote_stop_and_availability(pi, csms):
    boot = csms.wait("BootNotification")
    assert (boot["chargePointVendor"], boot["chargePointSerialNumber"]) == ("evcharging", CP)
    csms.wait("StatusNotification", status="Available")
    assert csms.call(call.ChangeConfiguration(key="MeterValueSampleInterval", value="1")).status \
        == "Accepted"
    assert csms.call(call.ChangeConfiguration(key="NumberOfConnectors", value="2")).status \
        == "Rejected"
    assert csms.call(call.RemoteStartTransaction(id_tag="DRV7", connector_id=1)).status \
        == "Accepted"
    csms.wait("StatusNotification", status="Preparing")
    pi.press("plug")
    start = csms.wait("StartTransaction", idTag="DRV7")
    csms.wait("StatusNotification", status="Charging")
    tid = csms.transactions[("DRV7", start["timestamp"])]
    sample = csms.wait("MeterValues", transactionId=tid)
    measurands = {v["measurand"]: v for v in sample["meterValue"][0]["sampledValue"]}
    assert measurands["Energy.Active.Import.Register"]["unit"] == "Wh"
    assert measurands["Power.Active.Import"]["value"] == "7400"
    # Inoperative while charging waits for the supply's end
    assert csms.call(call.ChangeAvailability(connector_id=0, type="Inoperative")).status \
        == "Scheduled"
    assert csms.call(call.RemoteStopTransaction(transaction_id=tid + 1)).status == "Rejected"
    assert csms.call(call.RemoteStopTransaction(transaction_id=tid)).status == "Accepted"
    stop_tx = csms.wait("StopTransaction", transactionId=tid)
    assert stop_tx["reason"] == "Remote" and stop_tx["idTag"] == "DRV7"
    csms.wait("StatusNotification", status="Unavailable")
    assert csms.call(call.RemoteStartTransaction(id_tag="DRV7")).status == "Rejected"
    assert csms.call(call.ChangeAvailability(connector_id=0, type="Operative")).status \
        == "Accepted"
    pi.press("plug")  # the vehicle leaves
    csms.wait("StatusNotification", status="Available", since=time.monotonic() - 0.5)
    config = csms.call(call.GetConfiguration(key=["MeterValueSampleInterval", "Nope"]))
    assert config.configuration_key == [{"key": "MeterValueSampleInterval", "readonly": False,
                                         "value": "1"}]
    assert config.unknown_key == ["Nope"]
    check_ledger(pi, csms)


def test_a_card_or_the_request_button_is_authorized_and_a_blocked_tag_denied(pi, csms):
    csms.wait("StatusNotification", status="Available")
    csms.blocked.add("ad hoc")
    pi.press("request")
    assert csms.wait("Authorize")["idTag"] == "ad hoc"
    wait_for(lambda: "denied the supply request" in (pi.out / "engine.log").read_text(), 10)
    csms.blocked.clear()
    pi.press("request")
    csms.wait("StatusNotification", status="Preparing")
    pi.press("plug")
    assert csms.wait("StartTransaction")["idTag"] == "ad hoc"
    pi.press("plug")
    assert csms.wait("StopTransaction")["reason"] == "EVDisconnected"
    check_ledger(pi, csms)


def test_a_server_restart_and_a_monitor_restart_during_a_supply_lose_and_repeat_nothing(
        pi, csms):
    csms.wait("StatusNotification", status="Available")
    csms.call(call.ChangeConfiguration(key="MeterValueSampleInterval", value="1"))
    csms.call(call.RemoteStartTransaction(id_tag="DRV1"))
    pi.press("plug")
    start = csms.wait("StartTransaction")
    tid = csms.transactions[("DRV1", start["timestamp"])]
    csms.wait("MeterValues", transactionId=tid)
    csms.stop()  # the central system goes away; the supply goes on
    down = time.monotonic()
    time.sleep(2.5)  # MeterValues are queued meanwhile
    pi.press("plug")  # the supply ends while the central system is away
    wait_for(lambda: "StopTransaction of supply" in (pi.out / "monitor.log").read_text(), 10)
    stop(pi.monitor)  # and the monitor restarts with its queue
    pi.start_monitor()
    time.sleep(1)
    csms.start()
    stop_tx = csms.wait("StopTransaction", since=down, timeout=20)
    assert stop_tx["transactionId"] == tid and stop_tx["reason"] == "EVDisconnected"
    late = csms.of("MeterValues", since=down)
    assert late and all(v["transactionId"] == tid for v in late)
    times = [v["meterValue"][0]["timestamp"] for v in late]
    assert times == sorted(times) and max(times) < stop_tx["timestamp"]
    # ... in order: the queued samples came before the StopTransaction
    order = [a for t, a, _ in csms.calls if t >= down and a in ("MeterValues", "StopTransaction")]
    assert order[-1] == "StopTransaction" and order.count("StopTransaction") == 1
    check_ledger(pi, csms)


def test_an_inoperative_scheduled_before_a_monitor_restart_still_applies_after_it(pi, csms):
    csms.wait("StatusNotification", status="Available")
    csms.call(call.RemoteStartTransaction(id_tag="DRV1"))
    pi.press("plug")
    csms.wait("StatusNotification", status="Charging")
    assert csms.call(call.ChangeAvailability(connector_id=0, type="Inoperative")).status \
        == "Scheduled"
    stop(pi.monitor)  # the engine ends the supply without its monitor
    restarted = time.monotonic()
    pi.start_monitor()  # OCPP: an availability persists a restart
    csms.wait("StopTransaction", since=restarted, timeout=20)
    csms.wait("StatusNotification", status="Unavailable", since=restarted)
    assert "Inoperative no longer scheduled" in (pi.out / "monitor.log").read_text()
    check_ledger(pi, csms)


def test_a_lost_answer_neither_wedges_the_link_nor_bills_twice(tmp_path, output_dir, csms):
    """The answer to a StartTransaction is lost: the call times out, heartbeats go on, the
    StartTransaction goes again and gets the same transaction id (the central system
    knows it), and the supply is one transaction."""
    station = PiCp(CP, tmp_path, output_dir, csms.url, "--ocpp-call-timeout", "1.5")
    station.start_engine().start_monitor()
    try:
        csms.wait("StatusNotification", status="Available")
        csms.call(call.ChangeConfiguration(key="TransactionMessageRetryInterval", value="1"))
        csms.lose_answer.add("StartTransaction")
        csms.call(call.RemoteStartTransaction(id_tag="DRV3"))
        station.press("plug")
        first = csms.wait("StartTransaction")
        since = time.monotonic()
        csms.wait("Heartbeat", since=since, timeout=8)  # the link is not wedged
        wait_for(lambda: len(csms.of("StartTransaction")) == 2, 10)
        assert csms.of("StartTransaction") == [first, first]
        station.press("plug")
        stop_tx = csms.wait("StopTransaction")
        assert stop_tx["transactionId"] == csms.transactions[("DRV3", first["timestamp"])]
        log = (output_dir / "monitor.log").read_text()
        assert "no answer to StartTransaction within 1.5 s" in log
        check_ledger(station, csms)
    finally:
        station.close()


def test_reset_ends_the_supply_and_boots_again(pi, csms):
    csms.wait("StatusNotification", status="Available")
    csms.call(call.RemoteStartTransaction(id_tag="DRV2"))
    pi.press("plug")
    csms.wait("StartTransaction")
    since = time.monotonic()
    assert csms.call(call.Reset(type="Soft")).status == "Accepted"
    assert csms.wait("StopTransaction", since=since)["reason"] == "SoftReset"
    csms.wait("BootNotification", since=since)
    assert csms.call(call.TriggerMessage(requested_message="Heartbeat")).status == "Accepted"
    csms.wait("Heartbeat", since=since)
    check_ledger(pi, csms)


def one_line(process: subprocess.Popen, timeout: float = 15) -> str:
    out, _ = process.communicate(timeout=timeout)
    return out.decode().strip()


def test_unreachable_and_refused_central_systems_are_one_line_each(tmp_path, output_dir):
    port = free_port()
    station = PiCp(CP, tmp_path, output_dir, f"ws://127.0.0.1:{port}/ocpp")
    station.start_engine()
    password = tmp_path / "password"
    password.write_text("right one\n")
    station.flags = ("--ocpp-password-file", str(password))
    try:
        station.start_monitor()
        log = output_dir / "monitor.log"
        wait_for(lambda: f"cannot reach central system at 127.0.0.1:{port}, retrying"
                 in log.read_text(), 10)
        csms = Csms(port, password="another one").start()
        try:
            wait_for(lambda: "refused our credentials (HTTP 401)" in log.read_text(), 15)
            assert csms.refused >= 1 and not csms.calls
            time.sleep(1)
            text = log.read_text()
            assert text.count("refused our credentials") == 1 and "Traceback" not in text
            assert text.count("cannot reach central system") == 1
        finally:
            csms.stop()
    finally:
        station.close()


def test_tls_settings_and_an_untrusted_certificate_are_one_line_and_exit_2(tmp_path,
                                                                           output_dir):
    certs = make_certificates(tmp_path / "certs")
    tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    tls.load_cert_chain(certs["cert"], certs["key"])
    password = tmp_path / "password"
    password.write_text("s3cret")
    csms = Csms(free_port(), password="s3cret", tls=tls).start()
    station = PiCp(CP, tmp_path, output_dir, csms.url, "--ocpp-password-file", str(password),
                 "--ca", str(certs["ca"]))
    try:
        station.start_engine().start_monitor()  # security profile 2: TLS and a password
        csms.wait("StatusNotification", status="Available")
    finally:
        station.close()
        csms.stop()
    base = [str(BIN / "ev-cp-m"), "--cp-id", CP, "--engine", f"127.0.0.1:{station.listen}",
            "--state-dir", str(tmp_path / "m2")]
    plain = subprocess.run([*base, "--ocpp", "ws://127.0.0.1:1/ocpp/X", "--ca",
                            str(certs["ca"])], capture_output=True, text=True, timeout=15)
    assert plain.returncode == 2 and len(plain.stderr.strip().splitlines()) == 1
    assert "--ca is for wss:// URLs" in plain.stderr
    csms = Csms(free_port(), tls=tls).start()
    try:
        untrusted = subprocess.Popen([*base, "--ocpp", f"{csms.url}/{CP}", "--ca",
                                      str(certs["stranger"])], stdout=subprocess.DEVNULL,
                                     stderr=subprocess.PIPE)
        _, err = untrusted.communicate(timeout=20)
    finally:
        csms.stop()
    lines = err.decode().strip().splitlines()
    assert untrusted.returncode == 2 and "Traceback" not in err.decode()
    assert "a certificate this CP does not trust" in lines[-1]


def test_the_readme_names_the_flags_ev_cp_m_has():
    """README: "Pointing the Pi at SteVe, CitrineOS or any OCPP 1.6J central system"."""
    import re

    from edge.engine.cli import _parser as engine_parser
    from edge.monitor.cli import build_parser
    from tests.support import ROOT

    text = (ROOT / "README.md").read_text()
    section = text.split("## Pointing the Pi at SteVe, CitrineOS")[1].split("\n## ")[0]
    named = set(re.findall(r"(--[a-z][a-z-]+)", section))
    flags = {f for parser in (build_parser(), engine_parser()) for action in parser._actions
             for f in action.option_strings}
    assert {"--ocpp", "--ocpp-password-file", "--ca", "--state-dir", "--price",
            "--ocpp-call-timeout"} <= named <= flags
