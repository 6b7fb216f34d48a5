"""The bench's simulated OCPP charger: its frames, and the rules it keeps (no sockets)."""

import asyncio
import json
from decimal import Decimal

import pytest
from ocpp.messages import Call, validate_payload

from bench.ocppsim import (
    CALL,
    CALLERROR,
    CALLRESULT,
    ChargerModel,
    answer_to,
    expected_kwh,
    utc,
)

T0 = 1_800_000_000.0  # 2027-01-15T08:00:00Z


def sent(frames):
    """The frames as [type, id, action, payload] lists."""
    return [json.loads(frame) for frame in frames]


def result(frame, payload):
    return json.dumps([CALLRESULT, json.loads(frame)[1], payload])


def booted(model, now=T0, interval=300):
    [boot] = model.start(now)
    [available] = model.received(result(boot, {"status": "Accepted", "interval": interval,
                                               "currentTime": utc(now)}), now + 0.01)
    return available


def test_times_are_utc_with_milliseconds_and_z():
    assert utc(T0) == "2027-01-15T08:00:00.000Z"
    assert utc(T0 + 0.25) == "2027-01-15T08:00:00.250Z"


def test_every_call_the_charger_sends_is_valid_ocpp_16():
    """The frames a charger built with ``ocpp`` would send: its own schemas check them."""
    model = ChargerModel("CP1", id_tag="D1", phase=10)
    frames = model.start(T0)
    frames += [booted_frame := model.received(result(frames[0], {
        "status": "Accepted", "interval": 300, "currentTime": utc(T0)}), T0)[0]]
    frames += model.received(result(booted_frame, {}), T0 + 1)  # Available -> Start
    frames += model.received(result(frames[-1], {"transactionId": 7,
                                                 "idTagInfo": {"status": "Accepted"}}), T0 + 2)
    frames += model.received(result(frames[-1], {}), T0 + 3)  # Charging answered
    frames += model.tick(T0 + 12)  # MeterValues
    frames += model.received(result(frames[-1], {}), T0 + 12.1)
    frames += model.fault(T0 + 13)
    frames += model.received(result(frames[-1], {}), T0 + 13.1)
    frames += model.stop_charging(T0 + 14)
    actions = [message[2] for message in sent(frames)]
    assert actions == ["BootNotification", "StatusNotification", "StartTransaction",
                       "StatusNotification", "MeterValues", "StatusNotification",
                       "StopTransaction"]
    for kind, unique_id, action, payload in sent(frames):
        assert kind == CALL
        asyncio.run(validate_payload(Call(unique_id, action, payload), "1.6"))


def test_boot_then_available_and_heartbeat_at_the_interval_central_sets():
    model = ChargerModel("CP1")
    available = sent([booted(model, interval=120)])[0]
    assert available[2:] == ["StatusNotification", {
        "connectorId": 1, "errorCode": "NoError", "status": "Available",
        "timestamp": utc(T0 + 0.01)}]
    assert not model.ready
    assert model.received(result(json.dumps(available), {}), T0 + 0.02) == []
    assert model.ready and model.idle
    assert model.next_due() == pytest.approx(T0 + 120.01)
    assert model.tick(T0 + 119) == []
    [heartbeat] = sent(model.tick(T0 + 120.01))
    assert heartbeat[2:] == ["Heartbeat", {}]


def test_one_call_at_a_time_the_next_waits_for_the_answer():
    model = ChargerModel("CP1")
    available = booted(model)
    assert model.fault(T0 + 1) == []  # Available not answered yet: the fault waits
    [faulted] = sent(model.received(result(available, {}), T0 + 2))
    assert faulted[3]["status"] == "Faulted" and faulted[3]["errorCode"] == "GroundFailure"
    assert model.round_trips == pytest.approx([0.01, 1.99])


def test_a_call_without_answer_times_out_and_does_not_wedge_the_charger():
    model = ChargerModel("CP1", response_timeout=30)
    available = booted(model)
    model.fault(T0 + 1)
    assert model.next_due() == pytest.approx(T0 + 30.01)
    [faulted] = sent(model.tick(T0 + 31))
    assert faulted[3]["status"] == "Faulted"
    assert model.timeouts == 1 and "no answer within 30 s" in model.errors[0]
    assert model.received(result(available, {}), T0 + 32) == []  # too late: ignored
    assert "an answer to no call under way" in model.errors[1]


def test_a_transaction_meter_values_every_10_s_and_its_stop():
    model = ChargerModel("CP1", id_tag="D1", power_w=7200, phase=4)
    available = booted(model)
    [start] = model.received(result(available, {}), T0 + 1)
    assert sent([start])[0][2:] == ["StartTransaction", {
        "connectorId": 1, "idTag": "D1", "meterStart": 0, "timestamp": utc(T0 + 0.01)}]
    [charging] = model.received(result(start, {"transactionId": 42,
                                               "idTagInfo": {"status": "Accepted"}}), T0 + 2)
    assert sent([charging])[0][3]["status"] == "Charging"
    model.received(result(charging, {}), T0 + 2)
    assert model.ready
    assert model.next_due() == pytest.approx(T0 + 6)
    [meter] = sent(model.tick(T0 + 6))
    assert meter[3] == {"connectorId": 1, "transactionId": 42, "meterValue": [{
        "timestamp": utc(T0 + 6), "sampledValue": [
            {"value": "11", "measurand": "Energy.Active.Import.Register", "unit": "Wh"},
            {"value": "7200", "measurand": "Power.Active.Import", "unit": "W"}]}]}
    model.received(result(json.dumps(meter), {}), T0 + 6)
    assert model.next_due() == pytest.approx(T0 + 16)
    [stop] = sent(model.stop_charging(T0 + 1800.01))  # half an hour at 7.2 kW
    assert stop[2:] == ["StopTransaction", {"transactionId": 42, "idTag": "D1",
                                            "meterStop": 3600, "timestamp": utc(T0 + 1800.01),
                                            "reason": "EVDisconnected"}]
    assert model.next_due() == pytest.approx(T0 + 1800.01 + 30)  # no more MeterValues
    [finishing] = sent(model.received(result(json.dumps(stop), {}), T0 + 1803))
    assert finishing[3]["status"] == "Finishing"
    assert expected_kwh([model, ChargerModel("CP2")]) == Decimal("3.6")


def test_centrals_calls_are_answered_and_a_call_error_is_kept():
    model = ChargerModel("CP1")
    available = booted(model)
    answer = json.loads(answer_to([CALL, "c1", "ChangeAvailability", {"connectorId": 0,
                                                                      "type": "Inoperative"}]))
    assert answer == [CALLRESULT, "c1", {"status": "Accepted"}]
    [reply] = sent(model.received(json.dumps([CALL, "c2", "Reset", {"type": "Soft"}]), T0))
    assert reply[:3] == [CALLERROR, "c2", "NotImplemented"]
    assert model.commands == ["Reset"]
    error = json.dumps([CALLERROR, json.loads(available)[1], "FormationViolation", "bad", {}])
    assert model.received(error, T0 + 1) == []
    assert model.errors == ["StatusNotification: FormationViolation: bad"]
    assert not model.ready and model.idle


def test_a_garbled_frame_is_an_error_not_a_crash():
    model = ChargerModel("CP1")
    model.start(T0)
    assert model.received("{nope", T0) == []
    assert model.errors[0].startswith("not an OCPP-J frame")
