"""The OCPP charge point's decisions, driven directly with the time passed in."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from ocpp.v16 import call, call_result

from edge.engine.clock import Now
from edge.monitor.core import EngineHealth, ToEngine
from edge.monitor.ocpp_config import Configuration
from edge.monitor.ocpp_core import (
    FROM_ENGINE,
    Call,
    Delivered,
    Enqueue,
    OcppCore,
    Reconnect,
    SaveConfig,
    ScheduleInoperative,
    connector_status,
)
from edge.monitor.ocpp_ledger import Ledger
from protocol import messages as m
from protocol.states import EngineState, Health

CP = "CP01"
T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def at(seconds: float) -> Now:
    return Now(seconds, T0 + timedelta(seconds=seconds))


def of(actions, kind, request=None):
    found = [a for a in actions if isinstance(a, kind)]
    if request is not None:
        found = [a.request for a in found if isinstance(a.request, request)]
    return found


def sent(actions, kind):
    return [a.message for a in actions if isinstance(a, ToEngine) and isinstance(a.message, kind)]


def report(state="available", status="OK", session=None, seq=0, driver=None):
    return m.HealthReport(cp_id=CP, seq=seq, status=status, state=state, session_id=session,
                          driver_id=driver)


def booted(interval=60, first=None, inoperative_scheduled=False, **config) -> OcppCore:
    """A core with its engine up and OK (``first``: its first report, else available),
    accepted by the central system at t=0."""
    core = OcppCore(CP, price=Decimal("0.30"), config=Configuration(config), ledger=Ledger(),
                    check_timeout=1000,  # health checks never time out here
                    inoperative_scheduled=inoperative_scheduled)
    core.engine_connected(at(0))
    core.from_engine(at(0), first or report())
    boot = of(core.csms_connected(at(0)), Call, call.BootNotification)[0]
    core.answered(at(0), Call(boot), call_result.BootNotification(
        current_time="2026-03-01T12:00:00Z", interval=interval, status="Accepted"))
    return core


def started(session="S1", driver="DRV1", when="2026-03-01T12:00:01.000Z"):
    return m.SupplyStarted(cp_id=CP, session_id=session, started_at=when,
                           price_eur_kwh="0.30", driver_id=driver)


def ended(session="S1", kwh="1.234", reason="unplugged", driver="DRV1"):
    return m.SupplyEnded(cp_id=CP, session_id=session, started_at="2026-03-01T12:00:01.000Z",
                         ended_at="2026-03-01T12:10:00.000Z", kwh=kwh, eur="0.37",
                         price_eur_kwh="0.30", reason=reason, driver_id=driver)


def test_every_message_an_engine_sends_in_ocpp_mode_has_a_route():
    assert set(FROM_ENGINE) == {m.HealthReport, m.MeterReading, m.SupplyRequest,
                                m.SupplyStarted, m.SupplyEnded, m.CommandResult, m.Refused}


def test_boot_pending_is_retried_after_the_interval_the_server_gives():
    core = OcppCore(CP, price=Decimal(0), config=Configuration(), ledger=Ledger())
    boot = of(core.csms_connected(at(0)), Call)[0]
    core.answered(at(0), boot, call_result.BootNotification(
        current_time="2026-03-01T12:00:00Z", interval=7, status="Pending"))
    assert not core.accepted and core.deadline() == 7
    assert of(core.tick(at(6.9)), Call, call.BootNotification) == []
    assert len(of(core.tick(at(7)), Call, call.BootNotification)) == 1


def test_acceptance_tells_the_engine_central_is_up_notifies_status_and_beats():
    core = OcppCore(CP, price=Decimal(0), config=Configuration(), ledger=Ledger())
    core.engine_connected(at(0))
    core.from_engine(at(0), report())
    boot = of(core.csms_connected(at(0)), Call)[0]
    out = core.answered(at(0), boot, call_result.BootNotification(
        current_time="x", interval=30, status="Accepted"))
    assert [s.up for s in sent(out, m.CentralStatus)] == [True]
    status = of(out, Call, call.StatusNotification)
    assert [(s.status, s.error_code, s.timestamp) for s in status] == [
        ("Available", "NoError", "2026-03-01T12:00:00.000Z")]
    assert of(core.tick(at(29)), Call, call.Heartbeat) == []
    assert len(of(core.tick(at(30)), Call, call.Heartbeat)) == 1
    assert core.config.values["HeartbeatInterval"] == "30"


@pytest.mark.parametrize(("health", "state", "plugged", "last", "expected"), [
    (Health.OK, EngineState.AVAILABLE, False, None, ("Available", "NoError")),
    (Health.OK, EngineState.AUTHORIZED, False, None, ("Preparing", "NoError")),
    (Health.OK, EngineState.SUPPLYING, True, None, ("Charging", "NoError")),
    (Health.OK, EngineState.AVAILABLE, True, "Charging", ("Finishing", "NoError")),
    (Health.OK, EngineState.AVAILABLE, True, "Available", ("Preparing", "NoError")),
    (Health.OK, EngineState.STOPPED, False, None, ("Unavailable", "NoError")),
    (Health.KO, EngineState.BROKEN, False, None, ("Faulted", "OtherError")),
    (Health.DOWN, None, False, None, ("Faulted", "InternalError")),
])
def test_connector_status(health, state, plugged, last, expected):
    assert connector_status(health, state, plugged, last) == expected


def test_a_status_notification_on_every_change_and_only_then():
    core = booted()
    assert of(core.from_engine(at(1), report()), Call) == []
    out = core.from_engine(at(1), report("broken", "KO"))
    assert [(s.status, s.info) for s in of(out, Call, call.StatusNotification)] == [
        ("Faulted", "engine reports a fault")]
    assert of(out, EngineHealth)
    lost = core.engine_lost(at(2), "link lost")
    assert [s.error_code for s in of(lost, Call, call.StatusNotification)] == ["InternalError"]


def test_a_card_is_authorized_then_the_engine_is_told_with_a_new_session():
    core = booted()
    request = m.SupplyRequest(cp_id=CP, source="card", driver_id="CARD7")
    calls = of(core.from_engine(at(1), request), Call)
    assert [c.request for c in calls] == [call.Authorize(id_tag="CARD7")]
    out = core.answered(at(1), calls[0], call_result.Authorize(id_tag_info={"status": "Accepted"}))
    [command] = sent(out, m.Command)
    assert (command.action, command.driver_id, command.price_eur_kwh) == (
        "authorize", "CARD7", "0.30")
    assert command.expires_at == "2026-03-01T12:00:31.000Z" and command.session_id


def test_a_blocked_card_or_no_answer_is_a_denial_naming_the_request():
    core = booted()
    request = m.SupplyRequest(cp_id=CP, source="button")
    [ask] = of(core.from_engine(at(1), request), Call)
    assert ask.request == call.Authorize(id_tag=m.AD_HOC)
    out = core.answered(at(1), ask, call_result.Authorize(id_tag_info={"status": "Blocked"}))
    assert [(d.ref, d.reason) for d in sent(out, m.SupplyDenied)] == [
        (request.id, "id tag Blocked")]
    again = m.SupplyRequest(cp_id=CP, source="button")
    [ask] = of(core.from_engine(at(2), again), Call)
    assert [d.reason for d in sent(core.answered(at(2), ask, None), m.SupplyDenied)] == [
        "id tag no answer"]


def test_a_card_id_too_long_for_ocpp_is_denied_without_asking():
    core = booted()
    out = core.from_engine(at(1), m.SupplyRequest(cp_id=CP, source="card", driver_id="C" * 21))
    assert of(out, Call) == []
    assert [d.reason for d in sent(out, m.SupplyDenied)] == ["id tag longer than 20 characters"]


def test_a_request_while_the_central_system_is_away_is_denied_at_once():
    core = booted()
    core.csms_lost(at(1))
    out = core.from_engine(at(1), m.SupplyRequest(cp_id=CP, source="button"))
    assert [d.reason for d in sent(out, m.SupplyDenied)] == ["central system unreachable"]


def test_records_are_queued_once_then_acknowledged_after_every_copy():
    core = booted()
    record = started()
    out = core.from_engine(at(1), record)
    assert [type(a) for a in out if not isinstance(a, Call)] == [Enqueue, ToEngine]
    [enqueue] = of(out, Enqueue)
    assert enqueue.transaction.request == call.StartTransaction(
        connector_id=1, id_tag="DRV1", meter_start=0, timestamp=record.started_at)
    assert [a.ref for a in sent(out, m.RecordAck)] == [record.id]
    again = core.from_engine(at(2), record)
    assert of(again, Enqueue) == [] and [a.ref for a in sent(again, m.RecordAck)] == [record.id]
    end = ended()
    out = core.from_engine(at(3), end)
    [stop] = of(out, Enqueue)
    assert stop.transaction.request.meter_stop == 1234 and stop.register_wh == 1234
    assert stop.transaction.request.reason == "EVDisconnected"
    assert of(core.from_engine(at(4), end), Enqueue) == []


def test_the_transaction_id_of_the_start_is_the_stop_s():
    core = booted()
    start = of(core.from_engine(at(1), started()), Enqueue)[0].transaction
    stop = of(core.from_engine(at(2), ended()), Enqueue)[0].transaction
    assert core.ledger.outgoing(stop) is None  # not known yet
    out = core.delivered(at(3), start, call_result.StartTransaction(
        transaction_id=42, id_tag_info={"status": "Accepted"}))
    assert of(out, Delivered) == [Delivered(start.seq, "S1", 42)]
    assert core.ledger.outgoing(stop).transaction_id == 42


def test_an_id_tag_refused_at_start_ends_the_supply():
    core = booted()
    core.from_engine(at(1), report("supplying", session="S1"))
    start = of(core.from_engine(at(1), started()), Enqueue)[0].transaction
    out = core.delivered(at(2), start, call_result.StartTransaction(
        transaction_id=5, id_tag_info={"status": "Invalid"}))
    [command] = sent(out, m.Command)
    assert (command.action, command.session_id, command.reason) == (
        "end_supply", "S1", "id tag Invalid")


def test_meter_values_every_sample_interval_during_a_supply():
    core = booted(MeterValueSampleInterval="10")
    core.from_engine(at(1), report("supplying", session="S1"))
    core.from_engine(at(1), started())
    core.from_engine(at(1), m.MeterReading(cp_id=CP, plugged=True, session_id="S1",
                                           kw="7.4", kwh="0.5"))
    assert of(core.tick(at(10.9)), Enqueue) == []
    [sample] = of(core.tick(at(11)), Enqueue)
    [value] = sample.transaction.request.meter_value
    assert value["timestamp"] == "2026-03-01T12:00:11.000Z"
    assert [(v["measurand"], v["value"], v["unit"]) for v in value["sampled_value"]] == [
        ("Energy.Active.Import.Register", "500", "Wh"), ("Power.Active.Import", "7400", "W")]
    assert of(core.tick(at(20)), Enqueue) == [] and len(of(core.tick(at(21)), Enqueue)) == 1


def test_remote_start_authorizes_the_engine_and_is_rejected_when_busy():
    core = booted()
    status, out = core.remote_start(at(1), "DRV9", 1)
    [command] = sent(out, m.Command)
    assert status == "Accepted" and (command.action, command.driver_id) == ("authorize", "DRV9")
    core.from_engine(at(1), report("authorized", session=command.session_id))
    assert core.remote_start(at(2), "DRV8", None) == ("Rejected", [])
    assert booted().remote_start(at(2), "DRV8", 2) == ("Rejected", [])


def test_remote_stop_names_the_supply_under_way_by_its_transaction_id():
    core = booted()
    core.from_engine(at(1), report("supplying", session="S1"))
    start = of(core.from_engine(at(1), started()), Enqueue)[0].transaction
    core.delivered(at(1), start, call_result.StartTransaction(
        transaction_id=7, id_tag_info={"status": "Accepted"}))
    assert core.remote_stop(at(2), 8) == ("Rejected", [])
    status, out = core.remote_stop(at(2), 7)
    [command] = sent(out, m.Command)
    assert status == "Accepted" and (command.action, command.session_id) == ("end_supply", "S1")


def test_inoperative_during_a_supply_is_scheduled_for_its_end():
    core = booted()
    core.from_engine(at(1), report("supplying", session="S1"))
    assert core.change_availability(at(2), 0, "Inoperative") == (
        "Scheduled", [ScheduleInoperative(True)])  # kept across a restart by the shell
    assert sent(core.tick(at(3)), m.Command) == []
    out = core.from_engine(at(4), report("available"))
    assert [c.action for c in sent(out, m.Command)] == ["stop"]
    assert of(out, ScheduleInoperative) == [ScheduleInoperative(False)]
    status, out = core.change_availability(at(5), 1, "Operative")
    assert status == "Accepted" and [c.action for c in sent(out, m.Command)] == ["resume"]
    status, out = core.change_availability(at(6), 0, "Inoperative")
    assert status == "Accepted" and [c.action for c in sent(out, m.Command)] == ["stop"]
    assert core.change_availability(at(6), 2, "Inoperative") == ("Rejected", [])


def test_an_inoperative_scheduled_before_a_restart_applies_when_the_supply_ends():
    core = booted(first=report("supplying", session="S1"), inoperative_scheduled=True)
    assert sent(core.tick(at(1)), m.Command) == []
    out = core.from_engine(at(2), report("available"))
    assert [c.action for c in sent(out, m.Command)] == ["stop"]
    assert of(out, ScheduleInoperative) == [ScheduleInoperative(False)]


def test_operative_drops_a_scheduled_inoperative():
    core = booted(first=report("supplying", session="S1"), inoperative_scheduled=True)
    status, out = core.change_availability(at(2), 1, "Operative")
    assert status == "Accepted" and of(out, ScheduleInoperative) == [ScheduleInoperative(False)]
    assert sent(core.from_engine(at(3), report("available")), m.Command) == []


def test_reset_ends_the_supply_then_reconnects():
    core = booted()
    core.from_engine(at(1), report("supplying", session="S1"))
    status, out = core.reset_requested(at(2), "Soft")
    [command] = sent(out, m.Command)
    assert status == "Accepted" and (command.action, command.reason) == (
        "end_supply", "soft reset")
    assert of(out, Reconnect) == []
    assert of(core.from_engine(at(3), report("available")), Reconnect) != []
    assert of(core.tick(at(4)), Reconnect) == []


def test_configuration_changes_are_saved_and_take_effect():
    core = booted(interval=60)
    assert core.change_configuration(at(1), "HeartbeatInterval", "5") == (
        "Accepted", [SaveConfig("HeartbeatInterval", "5")])
    assert len(of(core.tick(at(6)), Call, call.Heartbeat)) == 1
    assert core.change_configuration(at(1), "NumberOfConnectors", "2") == ("Rejected", [])
    assert core.change_configuration(at(1), "HeartbeatInterval", "soon") == ("Rejected", [])
    assert core.change_configuration(at(1), "Colour", "blue") == ("NotSupported", [])


def test_trigger_message():
    core = booted()
    assert of(core.trigger(at(1), "BootNotification", None)[1], Call, call.BootNotification)
    assert of(core.trigger(at(1), "Heartbeat", None)[1], Call, call.Heartbeat)
    status, out = core.trigger(at(1), "StatusNotification", 1)
    assert [s.status for s in of(out, Call, call.StatusNotification)] == ["Available"]
    status, out = core.trigger(at(1), "MeterValues", 1)
    [values] = of(out, Call, call.MeterValues)
    assert values.transaction_id is None
    assert core.trigger(at(1), "DiagnosticsStatusNotification", None) == ("NotImplemented", [])
